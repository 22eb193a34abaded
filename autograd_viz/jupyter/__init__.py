"""The Jupyter layer of autograd_viz: ``%load_ext autograd_viz`` and the ``%%autograd`` magic.

Only this package imports IPython, ipywidgets and anywidget; ``import autograd_viz`` does not.

* :class:`~autograd_viz.jupyter.magic.AutogradMagics` — the ``%%autograd`` cell magic
  (``%%autograd?`` lists its options; defaults via ``%config AutogradMagics``).
* :class:`~autograd_viz.jupyter.render.Recording` — what a cell recorded (``--out NAME``).
* :class:`~autograd_viz.jupyter.widgets.Explorer` — the interactive explorer widget.
"""
from __future__ import annotations

from typing import Any

from ..viz.draw import warm_up
from .magic import AutogradMagics
from .render import Recording, ShowOptions, drawing

__all__ = [
    "AutogradMagics",
    "Recording",
    "ShowOptions",
    "drawing",
    "load_ipython_extension",
    "unload_ipython_extension",
]


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%%autograd`` (``%load_ext autograd_viz``). Loading twice is harmless."""
    if _instance(ipython) is not None:
        return
    magics = AutogradMagics(shell=ipython)  # joins shell.configurables: %config works
    ipython.register_magics(magics)
    warm_up()  # Graphviz starts in the background while the first cell is written
    try:  # the explorer's modules now, not in the first %%autograd cell (~0.15-0.25 s there)
        from .widgets import explorer  # noqa: F401
    except ImportError:  # ipywidgets/anywidget missing: the magic shows the static graph
        pass


def unload_ipython_extension(ipython: Any) -> None:
    """Remove ``%%autograd`` and close the explorers it keeps (``%unload_ext autograd_viz``)."""
    magics = _instance(ipython)
    if magics is None:
        return
    magics.close_explorers()
    mm = ipython.magics_manager
    for kind, names in magics.magics.items():
        table = mm.magics.get(kind, {})
        for name in names:
            table.pop(name, None)
    mm.registry.pop(type(magics).__name__, None)
    try:
        ipython.configurables.remove(magics)
    except ValueError:
        pass


def _instance(ipython: Any) -> AutogradMagics | None:
    found = ipython.magics_manager.registry.get(AutogradMagics.__name__)
    return found if isinstance(found, AutogradMagics) else None
