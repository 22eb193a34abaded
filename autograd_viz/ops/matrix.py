"""Placeholder: filled in by the matrix ops work."""
from __future__ import annotations

__all__: list[str] = []
