"""The errors of the data layer (no imports: every data module may raise them)."""

from __future__ import annotations

__all__ = ["DataLayoutError", "CorruptMediaError"]


class DataLayoutError(ValueError):
    """The folder tree does not match the dataset's layout (message names the first mismatch)."""


class CorruptMediaError(DataLayoutError):
    """A video or image file cannot be decoded (message names the file)."""
