"""Placeholder: filled in by the sorting ops work."""
from __future__ import annotations

__all__: list[str] = []
