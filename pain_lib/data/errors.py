"""The errors of the data layer (no imports: every data module may raise them)."""

from __future__ import annotations

__all__ = ["DataLayoutError", "CorruptMediaError"]


class DataLayoutError(ValueError):
    """The folder tree does not match the dataset's layout (message names the first mismatch).

    ``mismatch``: the one-line description of what differs (without the expected layout);
    ``problems``: every problem found, when raised by a reader in ``collect_problems`` mode.
    """

    def __init__(self, message: str, *, mismatch: str | None = None, problems: list[str] | None = None):
        super().__init__(message)
        self.mismatch = mismatch if mismatch is not None else message.splitlines()[0] if message else ""
        self.problems = list(problems or [])


class CorruptMediaError(DataLayoutError):
    """A video or image file cannot be decoded (message names the file)."""
