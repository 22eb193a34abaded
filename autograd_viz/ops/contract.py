"""Placeholder: filled in by the contract ops work."""
from __future__ import annotations

__all__: list[str] = []
