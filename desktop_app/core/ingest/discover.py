"""Walk a folder and name every document in it, once, in a stable order.

Streaming by design: a directory's entries are listed (and sorted) only when the walk
reaches it, so a home folder with a million files never sits in memory as a list, and
the first documents can be read while the walk goes on.

Symlinked folders are followed (people link their notes into place), guarded by the
(device, inode) of every real directory already walked: a link to a parent, or two links
to one folder, cannot make the walk loop or read a folder twice.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from desktop_app.core.ingest.errors import SkipReason, explain
from desktop_app.core.ingest.formats import format_of

# Folders that hold tools' files, not the person's documents.
JUNK_DIRS = frozenset(name.casefold() for name in (
    "__pycache__", "node_modules", ".git", "venv", ".venv", "site-packages",
    "$RECYCLE.BIN", "System Volume Information",
))
# Files the system or an editor drops next to documents: skipped without a word.
_NOISE_FILES = frozenset({"desktop.ini", "thumbs.db", "ehthumbs.db", "icon\r"})
_NOISE_PREFIXES = ("~$",)  # Office's lock file beside an open document: "~$report.docx"

_HIDDEN = getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 0)  # Windows only; 0 elsewhere
# Some network and FUSE file systems report inode 0 for everything, so identity cannot
# guard against loops there; a depth limit does instead (real trees are far shallower).
MAX_DEPTH = 128


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: SkipReason
    message: str


def discover(root: Path) -> Iterator[Path | Skipped]:
    """Yield readable-kind files under ``root`` (or ``root`` itself if it is a file).

    Files Kura has no reader for, and folders it may not open, come out as ``Skipped`` so
    the library can list them; hidden files, junk folders and OS noise are left out.
    """
    root = Path(root)
    try:
        info = root.stat()
    except FileNotFoundError:
        yield Skipped(root, SkipReason.VANISHED, explain(SkipReason.VANISHED, root))
        return
    except PermissionError:
        yield _denied(root, folder=False)
        return
    if not stat.S_ISDIR(info.st_mode):
        item = _file(root, Path(root.name))
        if item is not None:
            yield item
        return
    yield from _walk(root, (info.st_dev, info.st_ino))


def _walk(root: Path, root_key: tuple[int, int]) -> Iterator[Path | Skipped]:
    visited_dirs = {root_key} if root_key[1] else set()
    # Files met through a symlink or with several hard links: the only ones that can be
    # reached twice (a plain file lives in one folder, and each folder is walked once), so
    # memory grows with the links in the tree, not with its files.
    linked_files: set[tuple[int, int]] = set()
    listing = _list(root)
    if isinstance(listing, Skipped):
        yield listing
        return
    # One (entries, device) per open folder: depth-first without recursion.
    stack = [(iter(listing), root_key[0])]
    while stack:
        entries, device = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        if entry.name.startswith(".") or _hidden_on_windows(entry):
            continue
        try:
            is_dir = entry.is_dir()  # follows symlinks: a linked folder is walked
        except OSError:
            continue
        if is_dir:
            if len(stack) > MAX_DEPTH:
                continue
            sub = _enter(entry, visited_dirs)
            if isinstance(sub, Skipped):
                yield sub
            elif sub is not None:
                stack.append((iter(sub[0]), sub[1]))
            continue
        if not _is_regular_file(entry):
            continue  # dangling links, pipes, sockets
        if _seen_before(entry, device, visited_dirs, linked_files):
            continue
        item = _file(Path(entry.path), Path(entry.name))
        if item is not None:
            yield item


def _enter(entry: os.DirEntry[str], visited: set[tuple[int, int]]
           ) -> tuple[list[os.DirEntry[str]], int] | Skipped | None:
    """(sorted entries, device) of a folder not walked yet; None to pass it by silently."""
    if entry.name.casefold() in JUNK_DIRS:
        return None
    try:
        # os.stat, not entry.stat(): on Windows DirEntry leaves st_ino and st_dev at 0.
        info = os.stat(entry.path)
    except OSError:
        return None
    key = (info.st_dev, info.st_ino)
    if key in visited:
        return None  # a symlink back up the tree, or a second link to the same folder
    if info.st_ino:  # 0 means "unknown" (see MAX_DEPTH), not one shared identity
        visited.add(key)
    listing = _list(Path(entry.path))
    return listing if isinstance(listing, Skipped) else (listing, info.st_dev)


def _list(folder: Path) -> list[os.DirEntry[str]] | Skipped:
    try:
        with os.scandir(folder) as entries:
            # Sorted for a stable order between runs; case-insensitive as people read it.
            return sorted(entries, key=lambda e: (e.name.casefold(), e.name))
    except PermissionError:
        return _denied(folder, folder=True)
    except FileNotFoundError:
        return Skipped(folder, SkipReason.VANISHED,
                       explain(SkipReason.VANISHED, folder, folder=True))
    except OSError as exc:  # e.g. a network share that dropped: say it, don't stop
        return Skipped(folder, SkipReason.PERMISSION_DENIED,
                       f"{explain(SkipReason.PERMISSION_DENIED, folder, folder=True)} "
                       f"({exc.strerror or exc})")


def _denied(path: Path, *, folder: bool) -> Skipped:
    reason = SkipReason.PERMISSION_DENIED
    return Skipped(path, reason, explain(reason, path, folder=folder))


def _hidden_on_windows(entry: os.DirEntry[str]) -> bool:
    if not _HIDDEN:
        return False
    try:
        attributes = getattr(entry.stat(follow_symlinks=False), "st_file_attributes", 0)
    except OSError:
        return False
    return bool(attributes & _HIDDEN)


def _is_regular_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()  # follows symlinks; False for pipes, sockets, dangling links
    except OSError:
        return False


def _seen_before(entry: os.DirEntry[str], device: int, visited_dirs: set[tuple[int, int]],
                 linked: set[tuple[int, int]]) -> bool:
    """True if this file was, or will be, yielded under another path."""
    try:
        if entry.is_symlink():
            info = os.stat(entry.path)
            key = (info.st_dev, info.st_ino)
            if not info.st_ino:
                return False  # no identity to compare: better twice than never
            if key in linked:
                return True
            target_dir = os.stat(os.path.dirname(os.path.realpath(entry.path)))
            if (target_dir.st_dev, target_dir.st_ino) in visited_dirs:
                return True  # the real file is in a folder being walked: it is yielded there
            linked.add(key)
            return False
        # A file's device is its folder's; inode() is free on POSIX (it comes with readdir).
        key = (device, entry.inode())
        if not key[1]:
            return False
        if key in linked:
            return True  # already yielded through a symlink or another hard link
        if os.name == "posix" and entry.stat(follow_symlinks=False).st_nlink > 1:
            linked.add(key)
    except OSError:
        return True  # it vanished between listing and now: nothing to yield
    return False


def _file(path: Path, name: Path) -> Path | Skipped | None:
    lowered = name.name.casefold()
    if lowered in _NOISE_FILES or lowered.startswith(_NOISE_PREFIXES):
        return None
    if format_of(name) is None:
        reason = SkipReason.UNSUPPORTED
        return Skipped(path, reason, explain(reason, path))
    return path
