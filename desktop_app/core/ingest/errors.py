"""Why a file was not read, said so that the person who owns it understands.

The reason is for code (the library view groups and counts skipped files by it); the
message is for people: one plain sentence, no jargon, no traceback. ``detail`` keeps the
technical cause for the log. The sentence is chosen as a ``SkipWording`` (a code and
what fills it in), so the window can say it in the user's language.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    # A file that overran the reading budgets (worker processes, see core/reading.py),
    # crashed its parser, declares an absurd unpacked size, or holds no prose at all.
    TOO_SLOW = "too_slow"
    TOO_MUCH_MEMORY = "too_much_memory"
    CRASHED = "crashed"
    SUSPICIOUS = "suspicious"
    NOT_PROSE = "not_prose"
    # A scan (a PDF of page images, a photo of a page) while OCR is off, and a scan OCR
    # read without being sure of any of its text (ingest/scans.py).
    SCANNED = "scanned"
    OCR_UNSURE = "ocr_unsure"


# Old binary Office formats: a hint how to make them readable beats a bare "cannot".
_LEGACY_OFFICE = {".doc": ".docx", ".xls": ".xlsx", ".ppt": ".pptx"}


def _megabytes(limit: int) -> str:
    mb = limit / (1024 * 1024)
    return f"{mb:.0f} MB" if mb >= 1 else f"{limit} bytes"


# One sentence per wording code. The window keeps its own text for each code
# (``skip.<code>`` in ``desktop_app/gui/strings.py``, every language): a new code needs
# a row here and one there.
SENTENCES = {
    "encrypted": "This {noun} is password-protected.",
    "encrypted_drm": "This e-book is locked with copy protection (DRM).",
    "corrupt": "The file is damaged and cannot be read.",
    "corrupt_format": "The file is damaged or is not a real {noun}.",
    "unsupported": "Kura cannot read files of this type.",
    "unsupported_suffix": "Kura cannot read {suffix} files.",
    "unsupported_legacy": "Kura cannot read old {suffix} files — save it as {new_suffix} to "
                          "include it.",
    "unsupported_folder": "This is not a folder Kura can read.",
    "empty": "The file has no text in it.",
    "empty_scanned": "The file has no text — it may be a scanned image.",
    "too_large": "The file is too large for Kura to read.",
    "too_large_limit": "The file is larger than the {limit} limit.",
    "permission_denied": "Kura is not allowed to read this file.",
    "permission_denied_folder": "Kura is not allowed to read this folder.",
    "vanished": "The file was moved or deleted while Kura was reading it.",
    "vanished_folder": "The folder was moved or deleted while Kura was reading it.",
    "binary": "This looks like binary data, not text.",
    "too_slow": "The file took too long to read.",
    "too_much_memory": "Reading this file needs more memory than Kura allows for one file.",
    "crashed": "Reading this file made the reader crash; the file may be damaged.",
    "suspicious": "The file claims to unpack to far more data than a document holds; "
                  "Kura did not open it.",
    "not_prose": "The file holds no readable text, only encoded or machine-made data.",
    "scanned": "The file is a scanned image; Kura reads scans only with OCR turned on "
               "(Settings).",
    "ocr_unsure": "Kura read this scan but is not sure of any of its text (too blurred, "
                  "handwritten or not text).",
}


@dataclass(frozen=True)
class SkipWording:
    """Which sentence says why a file was skipped, and what fills it in. ``english()``
    is the sentence the command line prints and the library stores; the window words
    ``code`` in the user's language, naming ``kind``'s format in that language too."""

    code: str  # a key of SENTENCES
    kind: str | None = None  # the format ``{noun}`` names; None: "file"
    noun: str = "file"  # that format's English noun
    suffix: str = ""  # ".doc"
    new_suffix: str = ""  # what to save an old Office file as: ".docx"
    limit: str = ""  # the size limit: "20 MB"

    def english(self) -> str:
        return SENTENCES[self.code].format(noun=self.noun, suffix=self.suffix,
                                           new_suffix=self.new_suffix, limit=self.limit)


def skip_wording(reason: SkipReason, path: Path, *, limit: int | None = None,
                 folder: bool = False) -> SkipWording:
    """The sentence for ``reason``; ``path`` only lends its name (which format it is)."""
    # Imported here: formats imports the readers, and the readers import this module.
    from desktop_app.core.ingest.formats import Kind, format_of

    suffix = path.suffix.lower()
    row = format_of(path)
    kind = row.kind if row else None
    # "is not a real ___": only formats with a noun of their own; others are a "file".
    noun = {"kind": row.kind, "noun": row.noun} if row and row.noun else {}
    if reason is SkipReason.ENCRYPTED:
        return SkipWording("encrypted_drm") if kind is Kind.EPUB \
            else SkipWording("encrypted", **noun)
    if reason is SkipReason.CORRUPT:
        return SkipWording("corrupt_format", **noun) if noun else SkipWording("corrupt")
    if reason is SkipReason.UNSUPPORTED:
        if folder:
            return SkipWording("unsupported_folder")
        if suffix in _LEGACY_OFFICE:
            return SkipWording("unsupported_legacy", suffix=suffix,
                               new_suffix=_LEGACY_OFFICE[suffix])
        return SkipWording("unsupported_suffix", suffix=suffix) if suffix \
            else SkipWording("unsupported")
    if reason is SkipReason.EMPTY:
        return SkipWording("empty_scanned" if kind is Kind.PDF else "empty")
    if reason is SkipReason.TOO_LARGE:
        return SkipWording("too_large") if limit is None \
            else SkipWording("too_large_limit", limit=_megabytes(limit))
    if reason in (SkipReason.PERMISSION_DENIED, SkipReason.VANISHED):
        return SkipWording(f"{reason}_folder" if folder else str(reason))
    if reason in (SkipReason.BINARY, SkipReason.TOO_SLOW, SkipReason.TOO_MUCH_MEMORY,
                  SkipReason.CRASHED, SkipReason.SUSPICIOUS, SkipReason.NOT_PROSE,
                  SkipReason.SCANNED, SkipReason.OCR_UNSURE):
        return SkipWording(str(reason))
    raise AssertionError(reason)  # pragma: no cover - every member is handled above


def explain(reason: SkipReason, path: Path, *, limit: int | None = None,
            folder: bool = False) -> str:
    """One plain English sentence for ``reason``; ``path`` only lends its name."""
    return skip_wording(reason, path, limit=limit, folder=folder).english()


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
    def wording(self) -> SkipWording:
        return skip_wording(self.reason, self.path, limit=self.limit)

    @property
    def message(self) -> str:
        return self.wording.english()

    def __reduce__(self) -> tuple[object, ...]:
        # Ingest may run in a worker process: the default reduce would call __init__ with
        # the formatted string alone and fail on the way back.
        return (_rebuild, (self.path, self.reason, self.detail, self.limit))


def _rebuild(path: Path, reason: SkipReason, detail: str, limit: int | None) -> UnreadableFile:
    return UnreadableFile(path, reason, detail, limit=limit)
