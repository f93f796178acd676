"""Files written whole or not at all, and hashed with progress steps and a way to stop."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from desktop_app.core import fileio
from desktop_app.core.fileio import (
    hashing,
    remove_stale_temps,
    sha256_file,
    temp_path,
    write_atomically,
)


def test_write_atomically_replaces_the_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "settings.json"
    target.write_bytes(b"old")
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert list(tmp_path.iterdir()) == [target]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "settings.json"
    target.write_bytes(b"old")

    def power_cut(_tmp: Path, _target: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(fileio, "publish", power_cut)
    with pytest.raises(OSError):
        write_atomically(target, b"new")
    assert target.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [target]


def test_stale_temps_of_that_file_only_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "index.hnsw"
    stale, other = temp_path(target), temp_path(tmp_path / "other.hnsw")
    stale.write_bytes(b"half")
    other.write_bytes(b"half")
    remove_stale_temps(target)
    assert not stale.exists() and other.exists()


def test_hashing_reports_progress_and_matches_hashlib(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fileio, "BLOCK", 4)
    monkeypatch.setattr(fileio, "REPORT_EVERY", 8)
    path = tmp_path / "model.bin"
    data = bytes(range(30))
    path.write_bytes(data)
    digest = hashlib.sha256()
    seen = list(hashing(path, digest))
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest() == sha256_file(path)
    assert seen == [(8, 30), (16, 30), (24, 30), (30, 30)]


def test_hashing_feeds_every_digest_in_one_read(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"kura" * 1000)
    sha256, sha1 = hashlib.sha256(), hashlib.sha1(usedforsecurity=False)
    steps = hashing(path, sha256, sha1)
    while True:
        try:
            next(steps)
        except StopIteration as end:
            assert end.value == 4000
            break
    assert sha1.hexdigest() == hashlib.sha1(b"kura" * 1000, usedforsecurity=False).hexdigest()
    assert sha256.hexdigest() == hashlib.sha256(b"kura" * 1000).hexdigest()


def test_closing_the_job_stops_hashing(tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fileio, "BLOCK", 4)
    monkeypatch.setattr(fileio, "REPORT_EVERY", 8)
    path = tmp_path / "model.bin"
    path.write_bytes(bytes(30))
    digest = hashlib.sha256()
    steps = hashing(path, digest)
    assert next(steps) == (8, 30)
    steps.close()  # how every job is stopped
    assert digest.hexdigest() == hashlib.sha256(bytes(8)).hexdigest()  # read no further
