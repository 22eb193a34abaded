"""Grad mode: ``no_grad``, ``enable_grad``, ``set_grad_enabled`` — per thread, as in PyTorch."""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _State(threading.local):
    enabled = True


_state = _State()


def is_grad_enabled() -> bool:
    """True when operations are being recorded for autograd in this thread."""
    return _state.enabled


class _GradModeBase:
    """Shared machinery: usable as a context manager and as a decorator."""

    _mode: bool

    def __enter__(self) -> None:
        self._prev = _state.enabled
        _state.enabled = self._mode

    def __exit__(self, *exc: Any) -> None:
        _state.enabled = self._prev

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__._clone(self):
                return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]

    def _clone(self) -> _GradModeBase:
        return self.__class__()

    def clone(self) -> _GradModeBase:
        return self._clone()


class no_grad(_GradModeBase):  # noqa: N801
    """Context manager / decorator that disables gradient recording."""

    _mode = False


class enable_grad(_GradModeBase):  # noqa: N801
    """Context manager / decorator that enables gradient recording."""

    _mode = True


class set_grad_enabled(_GradModeBase):  # noqa: N801
    """Set grad mode on or off; works as a function, a context manager and a decorator."""

    def __init__(self, mode: bool) -> None:
        self._prev = _state.enabled
        self._mode = bool(mode)
        self._entered_at_init = True
        _state.enabled = self._mode

    def __call__(self, fn: F) -> F:
        _state.enabled = self._prev  # used as a decorator: undo the switch made by __init__
        return super().__call__(fn)

    def _clone(self) -> set_grad_enabled:
        obj = self.__class__.__new__(self.__class__)
        obj._mode = self._mode
        obj._entered_at_init = False
        return obj

    def __enter__(self) -> None:
        if not self._entered_at_init:
            self._prev = _state.enabled
        _state.enabled = self._mode

    def __exit__(self, *exc: Any) -> None:
        _state.enabled = self._prev


class inference_mode(no_grad):  # noqa: N801
    """Like ``no_grad`` (kept for torch code that uses it)."""

    def __init__(self, mode: bool = True) -> None:
        self._mode = not mode
