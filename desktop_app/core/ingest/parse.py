"""One entry point for every file: ``parse(path)`` returns text sections or says why not.

The checks that need no reader come first (gone, forbidden, too big, empty, unknown
type), so a 4 GB video or a locked file costs one ``stat``. Whatever a reader's library
raises on a bad file (``BadZipFile``, ``KeyError``, lxml errors, ...) is reported as
damage, with the library's words kept in ``detail`` for the log: one bad file must never
stop a library scan.
"""

from __future__ import annotations

import errno
import stat
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from desktop_app.core.ingest import (
    epub_reader,
    html_reader,
    pdf_reader,
    sheet_reader,
    slides_reader,
    text_reader,
    word_reader,
)
from desktop_app.core.ingest.document import ParsedDocument
from desktop_app.core.ingest.errors import SkipReason, UnreadableFile
from desktop_app.core.ingest.kinds import kind_of

DEFAULT_MAX_BYTES = 200 * 1024 * 1024

_READERS: dict[str, Callable[[Path], ParsedDocument]] = {
    "pdf": pdf_reader.read,
    "docx": word_reader.read,
    "pptx": slides_reader.read,
    "xlsx": sheet_reader.read,
    "epub": epub_reader.read,
    "html": html_reader.read,
    "markdown": text_reader.read,
    "rst": text_reader.read,
    "text": text_reader.read,
    "csv": text_reader.read,
    "code": text_reader.read,
}


def parse(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedDocument:
    """Read ``path`` into sections; raise UnreadableFile (and nothing else) if it can't be."""
    path = Path(path)
    try:
        info = path.stat()
    except OSError as exc:
        raise _from_os_error(path, exc) from exc
    if not stat.S_ISREG(info.st_mode):
        # A folder, a pipe or a device: opening a pipe would block forever.
        raise UnreadableFile(path, SkipReason.UNSUPPORTED, "not a regular file")
    kind = kind_of(path)
    if kind is None:
        raise UnreadableFile(path, SkipReason.UNSUPPORTED, f"no reader for {path.suffix!r}")
    if info.st_size > max_bytes:
        raise UnreadableFile(path, SkipReason.TOO_LARGE, f"{info.st_size:,} bytes",
                             limit=max_bytes)
    if info.st_size == 0:
        raise UnreadableFile(path, SkipReason.EMPTY, "0 bytes")
    try:
        with path.open("rb"):
            pass  # permission problems surface here, before a library words them oddly
        document = _READERS[kind](path)
    except UnreadableFile:
        raise
    except OSError as exc:
        raise _from_os_error(path, exc) from exc
    except MemoryError as exc:
        raise UnreadableFile(path, SkipReason.TOO_LARGE, "ran out of memory reading it") from exc
    except Exception as exc:
        raise UnreadableFile(path, SkipReason.CORRUPT, f"{type(exc).__name__}: {exc}") from exc
    return _without_empty_sections(document)


def _from_os_error(path: Path, exc: OSError) -> UnreadableFile:
    detail = f"{type(exc).__name__}: {exc.strerror or exc}"
    if isinstance(exc, FileNotFoundError) or exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return UnreadableFile(path, SkipReason.VANISHED, detail)
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM):
        return UnreadableFile(path, SkipReason.PERMISSION_DENIED, detail)
    # EIO from a failing disk or an unplugged network share: the file cannot be read.
    return UnreadableFile(path, SkipReason.CORRUPT, detail)


def _without_empty_sections(document: ParsedDocument) -> ParsedDocument:
    sections = [s for s in document.sections if s.text.strip()]
    if not sections:
        raise UnreadableFile(document.path, SkipReason.EMPTY, "no text in any section")
    title = document.title.strip() if document.title else None
    return replace(document, sections=sections, title=title or None)
