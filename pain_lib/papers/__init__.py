"""Paper-specific experiment grids and helpers, one module per paper slug."""

from __future__ import annotations

__all__ = ["shared_notes"]


def shared_notes(package: str, keys: tuple[str, ...], *, paper: str = "shared"):
    """The fidelity notes ``keys`` of a paper package -- the ``## key`` sections of the
    ``NOTES.md`` beside it, all of them without ``keys`` -- as Markdown for a notebook to display
    (a plain string without IPython). An unknown key raises a ``KeyError`` naming the notes there are."""
    from importlib import resources

    text = (resources.files(package) / "NOTES.md").read_text(encoding="utf-8")
    sections = {}
    for block in text.split("\n## ")[1:]:
        key, _, body = block.partition("\n")
        sections[key.strip()] = body.strip()
    unknown = [k for k in keys if k not in sections]
    if unknown:
        raise KeyError(f"no {paper} note {unknown}; notes: {', '.join(sections)}")
    md = "\n\n".join(f"- {sections[k]}" for k in keys or sections)
    try:
        from IPython.display import Markdown
    except ImportError:  # pragma: no cover
        return md
    title = "Shared fidelity notes" if paper == "shared" else f"Shared fidelity notes ({paper})"
    return Markdown(f"**{title}**\n\n" + md)
