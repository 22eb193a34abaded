"""Anomaly detection (``detect_anomaly`` / ``set_detect_anomaly``), as torch's.

While it is on, every node made keeps the traceback of the forward call that made it
(``node.metadata["traceback_"]``), and backward raises as soon as a node returns NaN in a
gradient, after a warning that shows where that node came from in the forward code. It is
an event listener like the recorder: the engine knows nothing of it.
"""
from __future__ import annotations

import os
import threading
import traceback
import warnings
from typing import Any

from . import events

_lock = threading.Lock()
_state = {"enabled": False, "check_nan": True, "sub": None}


def _is_nan(g: Any) -> bool:
    d = getattr(g, "_data", g)
    if getattr(getattr(d, "dtype", None), "kind", "") not in "fc":
        return False
    return bool((d != d).any())  # (NaN is the one value unequal to itself; any device)


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _forward_stack() -> list[str]:
    """The current traceback without autograd_viz's own frames (the user's forward code)."""
    frames = [f for f in traceback.extract_stack()[:-1]
              if not os.path.abspath(f.filename).startswith(_PACKAGE + os.sep)]
    return traceback.format_list(frames)


def _listener(kind: str, p: dict) -> None:
    if kind == "node_created":
        node = p["node"]
        node.metadata["traceback_"] = _forward_stack()
    elif kind == "node_executed" and _state["check_nan"]:
        node = p["node"]
        for i, g in enumerate(p["grads_out"]):
            if g is not None and _is_nan(g):
                tb = node.metadata.get("traceback_") if "_metadata" in node.__dict__ else None
                warnings.warn(f"Error detected in {node.name()}. Traceback of forward call that "
                              "caused the error:\n" + "".join(tb or ["  (not recorded)\n"]),
                              UserWarning, stacklevel=2)
                raise RuntimeError(f"Function '{node.name()}' returned nan values in its "
                                   f"{i}th output.")


def _set(mode: bool, check_nan: bool) -> None:
    with _lock:
        _state["check_nan"] = bool(check_nan)
        if mode and _state["sub"] is None:
            _state["sub"] = events.subscribe(_listener, arrays=True)
        elif not mode and _state["sub"] is not None:
            _state["sub"].remove()
            _state["sub"] = None
        _state["enabled"] = bool(mode)


class set_detect_anomaly:  # noqa: N801 - torch's name
    """Turn anomaly detection on or off now (``check_nan``: raise on NaN gradients); used
    as a context manager it restores the previous setting on exit."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self._prev = (is_anomaly_enabled(), is_anomaly_check_nan_enabled())
        _set(mode, check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        _set(*self._prev)


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on."""
    return _state["enabled"]


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly detection raises on NaN gradients."""
    return _state["check_nan"]


class detect_anomaly:  # noqa: N801 - torch's name
    """Context manager (and decorator) that turns anomaly detection on inside it."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", UserWarning, stacklevel=2)

    def __enter__(self) -> None:
        self._prev = (is_anomaly_enabled(), is_anomaly_check_nan_enabled())
        _set(True, self.check_nan)

    def __exit__(self, *exc: Any) -> None:
        _set(*self._prev)

    def __call__(self, fn: Any) -> Any:
        import functools

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__(self.check_nan):
                return fn(*args, **kwargs)
        return wrapper
