"""Placeholder: filled in by the scatter ops work."""
from __future__ import annotations

__all__: list[str] = []
