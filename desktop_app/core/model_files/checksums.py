"""What a file must hash to, and the hashing itself.

A file is trusted when its sha256 matches one of, in order: the catalog's pin, what the
hub reported when it was first fetched (recorded in the state file), or a checksum file
beside it in an import folder. Small files the hub keeps in git (not LFS) come with a git
blob sha1 instead (their ETag); that is checked the same way, and the sha256 recorded.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from desktop_app.core.fileio import hashing
from desktop_app.core.model_files.errors import ChecksumMismatch
from desktop_app.core.progress import Job, Progress


@dataclass(frozen=True)
class Expected:
    sha256: str | None = None
    size: int | None = None
    git_sha1: str | None = None  # the hub's ETag for a small file kept in git, not LFS
    origin: str = "catalog"  # catalog | hub | record | folder: said in error messages

    @property
    def known(self) -> bool:
        return bool(self.sha256 or self.git_sha1)


@dataclass(frozen=True)
class Digest:
    sha256: str
    git_sha1: str
    size: int


def digest_file(path: Path, name: str | None = None) -> Job[Digest]:
    """sha256 and git blob sha1 in one read (hashing 2.5 GB twice would double the wait),
    as a job of "verify" steps."""
    size = os.path.getsize(path)
    sha256 = hashlib.sha256()
    git = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False)
    label = name or Path(path).name
    done = 0
    for done, total in hashing(path, sha256, git):
        yield Progress("verify", done, total, "bytes", label)
    return Digest(sha256.hexdigest(), git.hexdigest(), done)


def file_size(path: Path) -> int | None:
    """The size of a file, or None when it is missing or unreadable."""
    try:
        return path.stat().st_size
    except OSError:
        return None


def check_digest(path: Path, digest: Digest, expected: Expected) -> None:
    """Raise ChecksumMismatch unless ``digest`` is what ``expected`` says."""
    if expected.size is not None and digest.size != expected.size:
        raise ChecksumMismatch(path, f"{digest.size:,} bytes where {expected.size:,} were "
                                     f"expected ({expected.origin}); the file is damaged")
    if expected.sha256 and digest.sha256 != expected.sha256:
        raise ChecksumMismatch(path, f"sha256 {digest.sha256[:12]}… is not the expected "
                                     f"{expected.sha256[:12]}… ({expected.origin})")
    if not expected.sha256 and expected.git_sha1 and digest.git_sha1 != expected.git_sha1:
        raise ChecksumMismatch(path, f"git sha1 {digest.git_sha1[:12]}… is not the expected "
                                     f"{expected.git_sha1[:12]}… ({expected.origin})")


def parse_checksum_file(path: Path) -> dict[str, str]:
    """``SHA256SUMS`` / ``*.sha256`` lines (``<hex>  <name>``): basename -> sha256."""
    sums: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return sums
    for line in text.splitlines():
        parts = line.strip().split(maxsplit=1)
        if len(parts) != 2 or len(parts[0]) != 64:
            continue
        digest, name = parts[0].lower(), parts[1].lstrip("*").strip()
        if all(c in "0123456789abcdef" for c in digest):
            sums[Path(name.replace("\\", "/")).name] = digest
    return sums
