"""``autograd_viz.optim``: PyTorch 2's optimizers (same update numbers for the same
gradients) and ``lr_scheduler``."""
from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD
