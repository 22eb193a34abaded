"""``autograd_viz.nn``: PyTorch's ``torch.nn`` on the autograd_viz engine.

Modules (``Module``, ``Linear``, ``Conv2d``, ``RNN``, ...), containers, losses, ``Parameter``,
``functional`` (as ``F``) and ``init``; every op records a graph with PyTorch's node names,
so a model's backward pass can be drawn.
"""
from . import functional, init, utils
from .modules import *  # noqa: F403
from .modules.module import Module
from .parameter import Buffer, Parameter
