"""First-bytes checks for the ZIP-based formats (docx, pptx, xlsx, epub).

Done before handing the file to its library so the answer is right, not just an error:
a password-protected Word/Excel/PowerPoint file is not a ZIP at all but an OLE compound
file holding an ``EncryptionInfo`` stream; the libraries would only say "not a zip file",
which would be reported as damage.
"""

from __future__ import annotations

from pathlib import Path

from desktop_app.core.ingest.errors import SkipReason, UnreadableFile

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or an empty archive
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")  # OLE stream names are UTF-16
_CHUNK = 1 << 20


def check_zip_container(path: Path) -> None:
    """Raise UnreadableFile unless ``path`` starts like a ZIP archive."""
    with path.open("rb") as file:
        head = file.read(8)
    if head.startswith(_OLE_MAGIC):
        if _has_encryption_info(path):
            raise UnreadableFile(path, SkipReason.ENCRYPTED, "OLE file with EncryptionInfo")
        raise UnreadableFile(path, SkipReason.CORRUPT,
                             "an old binary Office file (OLE) saved under a new-format name")
    if not head.startswith(_ZIP_MAGIC):
        raise UnreadableFile(path, SkipReason.CORRUPT, f"not a ZIP container (starts {head!r})")


def _has_encryption_info(path: Path) -> bool:
    overlap = len(_ENCRYPTION_INFO) - 1
    tail = b""
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            if _ENCRYPTION_INFO in tail + chunk:
                return True
            tail = chunk[-overlap:]
    return False
