"""Checks for the ZIP-based formats (docx, pptx, xlsx, epub), done before their library
opens the file.

First bytes, so the answer is right, not just an error: a password-protected
Word/Excel/PowerPoint file is not a ZIP at all but an OLE compound file holding an
``EncryptionInfo`` stream; the libraries would only say "not a zip file", which would be
reported as damage.

Then the directory, so a zip bomb is refused before anything is inflated: the archive's
entry count (from its end record), and the unpacked sizes its central directory
declares, in total and against what each entry takes on disk. Those declared sizes are
binding for every reader here: they all unpack through Python's ``zipfile``, which stops
an entry at its declared size (``ZipExtFile`` cuts the output there and then fails the
CRC). What an honest size still costs to parse (an XML tree is several times its text)
is left to the reading worker's memory budget (``core/reading.py``).
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

from desktop_app.core.ingest.errors import SkipReason, UnreadableFile

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or an empty archive
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")  # OLE stream names are UTF-16
_CHUNK = 1 << 20

# Measured on real documents: the parts of Word, Excel and EPUB files unpack 2-16x (a
# 200,000-row sheet of one repeated row: 15.6x); deflate cannot exceed ~1030x, which is
# what a bomb is made of. The floor keeps small very compressible parts (a blank image,
# padding) out of the ratio test: inflating them costs nothing.
MAX_UNPACKED_BYTES = 1 << 30  # declared by all entries together
MAX_RATIO = 200  # unpacked / packed, of one entry or of the whole archive ...
RATIO_FLOOR = 10 << 20  # ... once it unpacks to more than this
MAX_ENTRIES = 50_000  # large e-books and decks hold a few thousand parts

_END_RECORD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_END_RECORD = b"PK\x06\x06"
_END_SEARCH = 22 + 0xFFFF  # the end record and the longest comment it may carry


def check_zip_container(path: Path) -> None:
    """Raise UnreadableFile unless ``path`` starts like a ZIP archive whose directory
    declares what a document could hold (SUSPICIOUS otherwise)."""
    with path.open("rb") as file:
        head = file.read(8)
    if head.startswith(_OLE_MAGIC):
        if _has_encryption_info(path):
            raise UnreadableFile(path, SkipReason.ENCRYPTED, "OLE file with EncryptionInfo")
        raise UnreadableFile(path, SkipReason.CORRUPT,
                             "an old binary Office file (OLE) saved under a new-format name")
    if not head.startswith(_ZIP_MAGIC):
        raise UnreadableFile(path, SkipReason.CORRUPT, f"not a ZIP container (starts {head!r})")
    _check_directory(path)


def _check_directory(path: Path) -> None:
    """Raise SUSPICIOUS if the archive declares more entries or unpacked bytes than a
    document holds; read from the directory alone, nothing is inflated."""
    entries = _declared_entries(path)
    if entries is not None and entries > MAX_ENTRIES:
        raise UnreadableFile(path, SkipReason.SUSPICIOUS,
                             f"{entries:,} entries (more than {MAX_ENTRIES:,})")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise UnreadableFile(path, SkipReason.CORRUPT, f"BadZipFile: {exc}") from exc
    unpacked = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos)
    if unpacked > MAX_UNPACKED_BYTES:
        raise UnreadableFile(path, SkipReason.SUSPICIOUS,
                             f"declares {unpacked:,} bytes unpacked")
    for info in infos:
        if _absurd_ratio(info.file_size, info.compress_size):
            raise UnreadableFile(path, SkipReason.SUSPICIOUS,
                                 f"{info.filename} declares {info.file_size:,} bytes "
                                 f"unpacked from {info.compress_size:,}")
    if _absurd_ratio(unpacked, packed):  # many parts, each just under the floor
        raise UnreadableFile(path, SkipReason.SUSPICIOUS,
                             f"declares {unpacked:,} bytes unpacked from {packed:,}")


def _absurd_ratio(unpacked: int, packed: int) -> bool:
    return unpacked > RATIO_FLOOR and unpacked > MAX_RATIO * max(packed, 1)


def _declared_entries(path: Path) -> int | None:
    """The entry count in the archive's end record (ZIP64's if it has one), read before
    ``zipfile`` builds an object per entry; None if the end record is not found (then
    ``zipfile`` says what is wrong)."""
    with path.open("rb") as file:
        size = file.seek(0, 2)
        start = max(0, size - _END_SEARCH)
        file.seek(start)
        tail = file.read()
        at = tail.rfind(_END_RECORD)
        if at < 0 or len(tail) - at < 22:
            return None
        entries: int = struct.unpack_from("<H", tail, at + 10)[0]
        if entries != 0xFFFF:
            return entries
        locator = at - 20  # a ZIP64 archive: the count is in the ZIP64 end record
        if locator < 0 or tail[locator:locator + 4] != _ZIP64_LOCATOR:
            return entries
        record_at: int = struct.unpack_from("<Q", tail, locator + 8)[0]
        file.seek(record_at)
        record = file.read(56)
    if len(record) < 56 or record[:4] != _ZIP64_END_RECORD:
        return None
    total: int = struct.unpack_from("<Q", record, 32)[0]
    return total


def _has_encryption_info(path: Path) -> bool:
    overlap = len(_ENCRYPTION_INFO) - 1
    tail = b""
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            if _ENCRYPTION_INFO in tail + chunk:
                return True
            tail = chunk[-overlap:]
    return False
