"""Capture what hooks print, while still passing it through to the real ``sys.stdout``.

One tee is shared by every recorder (nested recorders hear the same hook call): each
:func:`begin` returns a position and each :func:`end` returns the text written since then;
the real stdout comes back when the last capture ends.
"""
from __future__ import annotations

import io
import sys
from typing import Any


class _Tee(io.TextIOBase):
    def __init__(self, target: Any) -> None:
        self.target = target
        self.chunks: list[str] = []
        self.size = 0

    def write(self, s: str) -> int:
        self.chunks.append(s)
        self.size += len(s)
        return self.target.write(s)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return bool(getattr(self.target, "isatty", lambda: False)())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", "utf-8")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)


_tee: _Tee | None = None
_depth = 0


def begin() -> int:
    """Start (or join) capturing stdout; returns the position to pass to :func:`end`."""
    global _tee, _depth
    if _tee is None:
        _tee = _Tee(sys.stdout)
        sys.stdout = _tee
    _depth += 1
    return _tee.size


def end(pos: int) -> str:
    """Stop one capture started at ``pos``; returns what was printed since."""
    global _tee, _depth
    tee = _tee
    if tee is None:
        return ""
    text = "".join(tee.chunks)[pos:]
    _depth -= 1
    if _depth <= 0:
        _depth = 0
        if sys.stdout is tee:
            sys.stdout = tee.target
        _tee = None
    return text
