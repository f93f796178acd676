"""Files written whole or not at all, and files hashed: the one copy of each.

Crash-safe replacement: write a temp file beside the target, fsync it, rename it over the
target, fsync the folder. ``os.replace`` is atomic on one filesystem, so a reader (or the
next start after a crash) sees the old file or the new one, never a mix; the folder's
fsync makes the rename itself survive a power cut. Temp files that a crash left behind
are named ``<target>.<pid>.<random>.tmp`` and removed by ``remove_stale_temps``.
"""

from __future__ import annotations

import glob
import hashlib
import os
import secrets
from collections.abc import Generator
from pathlib import Path
from typing import Protocol

BLOCK = 1 << 20  # bytes read at a time while hashing
REPORT_EVERY = 64 * BLOCK  # bytes between progress steps (and chances to stop) while hashing



class Digest(Protocol):
    """A ``hashlib`` object: ``hashlib.sha256()``, ``hashlib.sha1(...)``, ..."""

    def update(self, data: bytes, /) -> None: ...


def temp_path(target: Path) -> Path:
    return target.with_name(f"{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def remove_stale_temps(target: Path) -> None:
    """Remove leftovers of interrupted saves. Assumes one Kura process per data dir."""
    for path in target.parent.glob(f"{glob.escape(target.name)}.*.tmp"):
        path.unlink(missing_ok=True)


def fsync_file(path: Path) -> None:
    # r+b, not rb: Windows only flushes through a handle opened for writing.
    with open(path, "r+b") as f:
        os.fsync(f.fileno())


def fsync_dir(directory: Path) -> None:
    """Make a rename durable (POSIX; Windows has no directory handles to sync)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(tmp: Path, target: Path) -> None:
    """fsync ``tmp`` and atomically move it over ``target``."""
    fsync_file(tmp)
    os.replace(tmp, target)
    fsync_dir(target.parent)


def write_atomically(target: Path, data: bytes) -> None:
    tmp = temp_path(target)
    try:
        tmp.write_bytes(data)
        publish(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def hashing(path: Path, *digests: Digest) -> Generator[tuple[int, int], None, int]:
    """Feed the file to every ``hashlib`` object in ``digests`` in one read (hashing a
    2.5 GB model twice would double the wait), yielding ``(bytes done, bytes in all)``
    every ``REPORT_EVERY`` bytes and once at the end; returns the bytes read. Closing it
    stops the hashing (the progress protocol of ``desktop_app.core.progress``)."""
    total = os.path.getsize(path)
    done = 0
    with open(path, "rb") as f:
        while block := f.read(BLOCK):
            for digest in digests:
                digest.update(block)
            done += len(block)
            if done % REPORT_EVERY < BLOCK:
                yield done, total
    yield done, total
    return done


def sha256_file(path: Path) -> str:
    """The file's sha256 (a long job that shows progress runs ``hashing`` instead)."""
    digest = hashlib.sha256()
    for _step in hashing(path, digest):
        pass
    return digest.hexdigest()
