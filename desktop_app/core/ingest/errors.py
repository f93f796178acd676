"""Why a file was not read, said so that the person who owns it understands.

The reason is for code (the library view groups and counts skipped files by it); the
message is for people: one plain sentence, no jargon, no traceback. ``detail`` keeps the
technical cause for the log.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from desktop_app.core.errors import KuraError


class SkipReason(StrEnum):
    ENCRYPTED = "encrypted"
    CORRUPT = "corrupt"
    UNSUPPORTED = "unsupported"
    EMPTY = "empty"
    TOO_LARGE = "too_large"
    PERMISSION_DENIED = "permission_denied"
    VANISHED = "vanished"
    BINARY = "binary"


# What a person calls each file type, for "is not a real ___" and "This ___ is ...".
_NOUNS = {
    ".pdf": "PDF",
    ".docx": "Word document",
    ".pptx": "PowerPoint presentation",
    ".xlsx": "Excel workbook",
    ".epub": "e-book",
}

# Old binary Office formats: a hint how to make them readable beats a bare "cannot".
_LEGACY_OFFICE = {".doc": ".docx", ".xls": ".xlsx", ".ppt": ".pptx"}


def _megabytes(limit: int) -> str:
    mb = limit / (1024 * 1024)
    return f"{mb:.0f} MB" if mb >= 1 else f"{limit} bytes"


def explain(reason: SkipReason, path: Path, *, limit: int | None = None,
            folder: bool = False) -> str:
    """One plain sentence for ``reason``; ``path`` only lends its extension."""
    suffix = path.suffix.lower()
    noun = _NOUNS.get(suffix)
    thing = "folder" if folder else "file"
    if reason is SkipReason.ENCRYPTED:
        if suffix == ".epub":
            return "This e-book is locked with copy protection (DRM)."
        return f"This {noun or 'file'} is password-protected."
    if reason is SkipReason.CORRUPT:
        if noun:
            return f"The file is damaged or is not a real {noun}."
        return "The file is damaged and cannot be read."
    if reason is SkipReason.UNSUPPORTED:
        if folder:
            return "This is not a folder Kura can read."
        if suffix in _LEGACY_OFFICE:
            new = _LEGACY_OFFICE[suffix]
            return f"Kura cannot read old {suffix} files — save it as {new} to include it."
        if suffix:
            return f"Kura cannot read {suffix} files."
        return "Kura cannot read files of this type."
    if reason is SkipReason.EMPTY:
        if suffix == ".pdf":
            return "The file has no text — it may be a scanned image."
        return "The file has no text in it."
    if reason is SkipReason.TOO_LARGE:
        if limit is not None:
            return f"The file is larger than the {_megabytes(limit)} limit."
        return "The file is too large for Kura to read."
    if reason is SkipReason.PERMISSION_DENIED:
        return f"Kura is not allowed to read this {thing}."
    if reason is SkipReason.VANISHED:
        return f"The {thing} was moved or deleted while Kura was reading it."
    if reason is SkipReason.BINARY:
        return "This looks like binary data, not text."
    raise AssertionError(reason)  # pragma: no cover - every member is handled above


class UnreadableFile(KuraError):
    """A file Kura looked at and could not read; the library lists it with ``message``."""

    def __init__(self, path: Path, reason: SkipReason, detail: str = "", *,
                 limit: int | None = None) -> None:
        self.path = Path(path)
        self.reason = reason
        self.detail = detail
        self.limit = limit  # the size limit, for TOO_LARGE's message
        super().__init__(f"{self.path}: {self.message}" + (f" ({detail})" if detail else ""))

    @property
    def message(self) -> str:
        return explain(self.reason, self.path, limit=self.limit)

    def __reduce__(self) -> tuple[object, ...]:
        # Ingest may run in a worker process: the default reduce would call __init__ with
        # the formatted string alone and fail on the way back.
        return (_rebuild, (self.path, self.reason, self.detail, self.limit))


def _rebuild(path: Path, reason: SkipReason, detail: str, limit: int | None) -> UnreadableFile:
    return UnreadableFile(path, reason, detail, limit=limit)
