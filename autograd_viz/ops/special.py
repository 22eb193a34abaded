"""Placeholder: filled in by the special ops work."""
from __future__ import annotations

__all__: list[str] = []
