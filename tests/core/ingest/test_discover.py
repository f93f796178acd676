from __future__ import annotations

import importlib
import os
import stat as stat_module
import sys
from pathlib import Path
from typing import Any

import pytest

from desktop_app.core.ingest import Skipped, SkipReason, discover
from tests.support.permissions import run_obeying_permissions

needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt",
                                    reason="symlinks need privileges on Windows")


def _touch(path: Path, text: str = "text") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _names(root: Path, items: list[Path | Skipped]) -> list[str]:
    return [str(item.relative_to(root)) for item in items if isinstance(item, Path)]


def test_walks_in_sorted_order_and_skips_hidden_and_junk(tmp_path: Path) -> None:
    for name in ["b.md", "A.txt", "docs/z.pdf", "docs/a/deep.docx", "c.py",
                 ".hidden.md", ".secret/plans.md", "node_modules/pkg/readme.md",
                 "__pycache__/x.py", ".git/HEAD.txt", "venv/lib/site.py", "$RECYCLE.BIN/old.md",
                 "~$b.md", "desktop.ini", "Thumbs.db"]:
        _touch(tmp_path / name)
    items = list(discover(tmp_path))
    assert _names(tmp_path, items) == ["A.txt", "b.md", "c.py", "docs/a/deep.docx", "docs/z.pdf"]
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert skipped == []  # Thumbs.db, desktop.ini and Office lock files are silent noise


def test_unsupported_files_are_skipped_with_a_reason(tmp_path: Path) -> None:
    _touch(tmp_path / "poster.psd")
    _touch(tmp_path / "notes.md")
    items = list(discover(tmp_path))
    assert items[0] == tmp_path / "notes.md"
    assert items[1] == Skipped(tmp_path / "poster.psd", SkipReason.UNSUPPORTED,
                               "Kura cannot read .psd files.")


def test_a_single_file_root(tmp_path: Path) -> None:
    path = _touch(tmp_path / "one.md")
    assert list(discover(path)) == [path]
    other = _touch(tmp_path / "photo.xcf")
    [skipped] = discover(other)
    assert isinstance(skipped, Skipped) and skipped.reason is SkipReason.UNSUPPORTED


def test_a_hidden_root_chosen_by_the_user_is_walked(tmp_path: Path) -> None:
    root = tmp_path / ".notes"
    _touch(root / "today.md")
    assert list(discover(root)) == [root / "today.md"]


def test_missing_root(tmp_path: Path) -> None:
    [skipped] = discover(tmp_path / "nowhere")
    assert isinstance(skipped, Skipped) and skipped.reason is SkipReason.VANISHED


def test_unreadable_folder_is_reported_and_the_walk_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _touch(tmp_path / "a" / "x.md")
    _touch(tmp_path / "b" / "locked.md")
    _touch(tmp_path / "c" / "y.md")
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:
        if Path(path) == tmp_path / "b":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    items = list(discover(tmp_path))
    assert _names(tmp_path, items) == ["a/x.md", "c/y.md"]
    assert Skipped(tmp_path / "b", SkipReason.PERMISSION_DENIED,
                   "Kura is not allowed to read this folder.") in items


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux capabilities")
def test_unreadable_folder_for_real(tmp_path: Path) -> None:
    """A real chmod-000 folder beside a readable file, walked by a process the kernel
    holds to the mode bits (also when the tests run as root, as CI does)."""
    locked = tmp_path / "locked"
    _touch(locked / "x.md")
    _touch(tmp_path / "open.md")
    locked.chmod(0)
    try:
        out = run_obeying_permissions(f"""
            from pathlib import Path
            from desktop_app.core.ingest import discover
            for item in discover(Path({str(tmp_path)!r})):
                print(getattr(item, "reason", None) and item.reason.value,
                      getattr(item, "path", item).name)
        """)
    finally:
        locked.chmod(0o700)
    assert sorted(out.splitlines()) == ["None open.md",
                                        f"{SkipReason.PERMISSION_DENIED.value} locked"]


@needs_symlinks
def test_symlinked_folder_is_followed_once(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _touch(outside / "linked.md")
    root = tmp_path / "root"
    _touch(root / "own.md")
    (root / "link1").symlink_to(outside, target_is_directory=True)
    (root / "link2").symlink_to(outside, target_is_directory=True)
    items = list(discover(root))
    assert _names(root, items) == ["link1/linked.md", "own.md"]


@needs_symlinks
def test_symlink_loop_terminates(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _touch(root / "sub" / "a.md")
    (root / "sub" / "up").symlink_to(root, target_is_directory=True)  # sub/up -> root
    (root / "self").symlink_to(".", target_is_directory=True)
    assert _names(root, list(discover(root))) == ["sub/a.md"]


@needs_symlinks
def test_link_to_a_file_in_a_folder_already_walked_is_not_repeated(tmp_path: Path) -> None:
    root = tmp_path / "root"
    real = _touch(root / "a" / "real.md")
    (root / "b-link.md").symlink_to(real)
    assert _names(root, list(discover(root))) == ["a/real.md"]


@needs_symlinks
def test_each_real_file_once_whatever_the_links(tmp_path: Path) -> None:
    root = tmp_path / "root"
    real = _touch(root / "m" / "real.md")
    (root / "a-link.md").symlink_to(real)  # met before the real file
    (root / "z-link.md").symlink_to(real)  # met after it
    outside = _touch(tmp_path / "elsewhere.md")
    (root / "b-out.md").symlink_to(outside)  # the only path to it: yielded
    (root / "c-out.md").symlink_to(outside)  # a second path: not
    os.link(real, root / "n-hard.md")  # a hard link is the same file too
    (root / "dangling.md").symlink_to(tmp_path / "missing.md")
    # real.md comes out once, under the first path the walk meets (sorted: the a-link).
    assert _names(root, list(discover(root))) == ["a-link.md", "b-out.md"]


def test_walk_is_lazy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(20):
        _touch(tmp_path / f"d{i:02}" / "f.md")
    calls: list[str] = []
    real_scandir = os.scandir

    def counting(path: Any) -> Any:
        calls.append(str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", counting)
    walk = discover(tmp_path)
    assert next(walk) == tmp_path / "d00" / "f.md"
    assert len(calls) == 2  # the root and the first folder, not all 21
    assert len(list(walk)) == 19


def _without_inodes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend to be a network drive that reports inode 0 for every folder."""
    real_stat = os.stat

    def stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        info = real_stat(path, *args, **kwargs)
        if not stat_module.S_ISDIR(info.st_mode):
            return info
        fields = list(info[:10])
        fields[1] = 0  # st_ino
        return os.stat_result(fields)

    monkeypatch.setattr(os, "stat", stat)


def test_file_systems_without_inodes_are_still_walked(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ["a/x.md", "b/y.md", "b/c/z.md"]:
        _touch(tmp_path / name)
    _without_inodes(monkeypatch)
    assert _names(tmp_path, list(discover(tmp_path))) == ["a/x.md", "b/c/z.md", "b/y.md"]


@needs_symlinks
def test_without_inodes_a_loop_still_ends(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop_app.core.ingest import discover as discover_function

    discover_module = importlib.import_module(discover_function.__module__)
    _touch(tmp_path / "a.md")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    _without_inodes(monkeypatch)
    monkeypatch.setattr(discover_module, "MAX_DEPTH", 3)
    names = _names(tmp_path, list(discover(tmp_path)))
    assert names == ["a.md", "loop/a.md", "loop/loop/a.md", "loop/loop/loop/a.md"]
