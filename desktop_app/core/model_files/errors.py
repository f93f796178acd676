"""What can go wrong while getting model files, each with a message a person can act on."""

from __future__ import annotations

from desktop_app.core.errors import KuraError, ModelFileError


class DownloadError(KuraError):
    """The server did not deliver the file (not found, refused, kept failing)."""


class ChecksumMismatch(ModelFileError):
    """The bytes are not the file the catalog (or the hub) says they should be."""


class NotEnoughSpace(KuraError):
    """The disk cannot hold what is about to be written."""


class Unverifiable(KuraError):
    """No checksum is known for a file, so Kura will not use it."""


__all__ = [
    "ChecksumMismatch",
    "DownloadError",
    "KuraError",
    "ModelFileError",
    "NotEnoughSpace",
    "Unverifiable",
]
