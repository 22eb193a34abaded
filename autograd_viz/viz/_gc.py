"""Pause the cyclic garbage collector while building big, acyclic structures.

Building a graph of tens of thousands of small objects triggers full collections that scan
everything alive (the graph itself included) again and again; nothing built here is cyclic
garbage, so collection can wait until the end.
"""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """``with paused():`` runs its body with automatic garbage collection off."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
