"""Crash-safe file replacement: write a temp file beside the target, fsync, rename.

``os.replace`` is atomic on one filesystem, so a reader (or the next start after a
crash) sees the old file or the new one, never a mix. Temp files that a crash left
behind are named ``<target>.<pid>.<random>.tmp`` and removed by ``remove_stale_temps``.
"""

from __future__ import annotations

import glob
import hashlib
import os
import secrets
from pathlib import Path


def temp_path(target: Path) -> Path:
    return target.with_name(f"{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def stale_temps(target: Path) -> list[Path]:
    return sorted(target.parent.glob(f"{glob.escape(target.name)}.*.tmp"))


def remove_stale_temps(target: Path) -> None:
    """Remove leftovers of interrupted saves. Assumes one Kura process per data dir."""
    for path in stale_temps(target):
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


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
