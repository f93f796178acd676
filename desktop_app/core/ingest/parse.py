"""One entry point for every file: ``parse(path)`` returns text sections or says why not.

The checks that need no reader come first (gone, forbidden, too big, empty, unknown
type), so a 4 GB video or a locked file costs one ``stat``. Whatever a reader's library
raises on a bad file (``BadZipFile``, ``KeyError``, lxml errors, ...) is reported as
damage, with the library's words kept in ``detail`` for the log: one bad file must never
stop a library scan. Which reader runs, and the kind the document is stored under, come
from the file's row in ``formats.FORMATS``. Every reader's sections are then tidied in
one place: page headers, footers, numbers and navigation lines off their edges.
"""

from __future__ import annotations

import errno
import stat
from dataclasses import replace
from pathlib import Path

from desktop_app.core.ingest.boilerplate import without_boilerplate
from desktop_app.core.ingest.document import ParsedDocument
from desktop_app.core.ingest.errors import SkipReason, UnreadableFile
from desktop_app.core.ingest.formats import Kind, format_of
from desktop_app.core.settings import MAX_FILE_BYTES


def parse(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> ParsedDocument:
    """Read ``path`` into sections; raise UnreadableFile (and nothing else) if it can't be."""
    path = Path(path)
    try:
        info = path.stat()
    except OSError as exc:
        raise _from_os_error(path, exc) from exc
    if not stat.S_ISREG(info.st_mode):
        # A folder, a pipe or a device: opening a pipe would block forever.
        raise UnreadableFile(path, SkipReason.UNSUPPORTED, "not a regular file")
    row = format_of(path)
    if row is None:
        raise UnreadableFile(path, SkipReason.UNSUPPORTED, f"no reader for {path.suffix!r}")
    if info.st_size > max_bytes:
        raise UnreadableFile(path, SkipReason.TOO_LARGE, f"{info.st_size:,} bytes",
                             limit=max_bytes)
    if info.st_size == 0:
        raise UnreadableFile(path, SkipReason.EMPTY, "0 bytes")
    try:
        with path.open("rb"):
            pass  # permission problems surface here, before a library words them oddly
        document = row.read(path)
    except UnreadableFile:
        raise
    except OSError as exc:
        raise _from_os_error(path, exc) from exc
    except MemoryError as exc:
        raise UnreadableFile(path, SkipReason.TOO_LARGE, "ran out of memory reading it") from exc
    except Exception as exc:
        raise UnreadableFile(path, SkipReason.CORRUPT, f"{type(exc).__name__}: {exc}") from exc
    return _tidied(document, row.kind)


def _from_os_error(path: Path, exc: OSError) -> UnreadableFile:
    detail = f"{type(exc).__name__}: {exc.strerror or exc}"
    if isinstance(exc, FileNotFoundError) or exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return UnreadableFile(path, SkipReason.VANISHED, detail)
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM):
        return UnreadableFile(path, SkipReason.PERMISSION_DENIED, detail)
    # EIO from a failing disk or an unplugged network share: the file cannot be read.
    return UnreadableFile(path, SkipReason.CORRUPT, detail)


def _tidied(document: ParsedDocument, kind: Kind) -> ParsedDocument:
    """The document with its row's kind, without page furniture and navigation lines
    (``boilerplate``), without empty sections, a blank title as None."""
    sections = [s for s in without_boilerplate(document.sections) if s.text.strip()]
    if not sections:
        raise UnreadableFile(document.path, SkipReason.EMPTY, "no text in any section")
    title = document.title.strip() if document.title else None
    return replace(document, kind=kind, sections=sections, title=title or None)
