"""Removable handles for hooks, like ``torch.utils.hooks.RemovableHandle``."""
from __future__ import annotations

import itertools
from typing import Any

_ids = itertools.count()


class RemovableHandle:
    """Returned by ``register_hook`` & co.; ``remove()`` takes the hook out again.

    Also a context manager: the hook is removed when the ``with`` block ends.
    """

    __slots__ = ("hooks_dict", "id")

    def __init__(self, hooks_dict: dict) -> None:
        self.hooks_dict = hooks_dict
        self.id = next(_ids)

    def remove(self) -> None:
        """Remove the hook; removing twice is harmless."""
        self.hooks_dict.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"<RemovableHandle id={self.id}>"


def add_hook(hooks_dict: dict, fn: Any) -> RemovableHandle:
    """Store ``fn`` in ``hooks_dict`` under a fresh id and return its handle."""
    if not callable(fn):
        raise TypeError(f"hook must be callable, got {type(fn).__name__}")
    h = RemovableHandle(hooks_dict)
    hooks_dict[h.id] = fn
    return h
