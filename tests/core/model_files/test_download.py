"""download(): every misbehaviour ends in a verified file or a clear KuraError, and never
in a partial file under the final name."""

from __future__ import annotations

import shutil
from collections import namedtuple
from pathlib import Path

import pytest

from desktop_app.core.errors import KuraError
from desktop_app.core.model_files.checksums import Expected
from desktop_app.core.model_files.downloader import download, partial_path, probe
from desktop_app.core.model_files.errors import (
    ChecksumMismatch,
    DownloadError,
    NotEnoughSpace,
    Unverifiable,
)
from desktop_app.core.progress import Progress, run_quietly
from tests.support.jobs import run
from tests.support.model_server import ModelServer
from tests.support.toy_models import FAST, MB, blob, sha256

SIZE = 3 * MB


@pytest.fixture
def data(server: ModelServer) -> bytes:
    content = blob(SIZE, 42)
    server.add("files/model.bin", content)
    return content


def expected(content: bytes) -> Expected:
    return Expected(sha256=sha256(content), size=len(content))


def fetch(server: ModelServer, dest: Path, content: bytes, on_step=None, **kwargs) -> Path:
    options = kwargs.pop("options", FAST)
    return run(download([server.url("files/model.bin")], dest, expected(content),
                        options=options, **kwargs), on_step)


def only_verified_or_nothing(dest: Path, content: bytes) -> None:
    if dest.exists():
        assert dest.read_bytes() == content


def test_a_plain_download_is_verified_and_reports_progress(
        server: ModelServer, data: bytes, tmp_path: Path) -> None:
    events: list[Progress] = []
    dest = fetch(server, tmp_path / "model.bin", data, events.append)
    assert dest.read_bytes() == data
    assert not partial_path(dest).exists()
    downloads = [e for e in events if e.stage == "download"]
    assert downloads[-1].done == SIZE and downloads[-1].total == SIZE
    assert {e.unit for e in downloads} == {"bytes"} and downloads[-1].item == "model.bin"
    assert [e.done for e in downloads] == sorted(e.done for e in downloads)
    assert any(e.rate and e.rate > 0 for e in downloads)
    assert any(e.eta is not None for e in downloads)
    assert events[-1].stage == "verify" and events[-1].done == SIZE


def test_a_dropped_connection_resumes_where_it_stopped(
        server: ModelServer, data: bytes, tmp_path: Path) -> None:
    server.fault("files/model.bin", drop_at=MB + 12345)
    dest = fetch(server, tmp_path / "model.bin", data)
    assert dest.read_bytes() == data
    first, second = server.gets("files/model.bin")
    assert first.range_start is None and first.sent == MB + 12345
    assert second.range_start == MB + 12345 and second.status == 206
    assert server.body_bytes("files/model.bin") == SIZE  # not one byte twice


def test_a_connection_that_keeps_dropping_still_finishes(
        server: ModelServer, data: bytes, tmp_path: Path) -> None:
    # Nine drops, more than FAST.retries: attempts that brought bytes are no failures.
    faults = server.fault("files/model.bin", drop_at=0)
    cuts = iter([256 * 1024 * i for i in range(1, 10)])

    def next_cut(event: Progress) -> None:  # re-arm the fault once it has fired
        if event.stage == "download" and faults.drops == 0:
            faults.drop_at, faults.drops = next(cuts, None), 1

    faults.drop_at, faults.drops = next(cuts), 1
    dest = fetch(server, tmp_path / "model.bin", data, next_cut)
    assert dest.read_bytes() == data
    starts = [h.range_start or 0 for h in server.gets("files/model.bin")]
    assert len(starts) >= 8 and starts == sorted(starts)
    assert server.body_bytes("files/model.bin") == SIZE


def test_wrong_bytes_are_an_error_and_leave_nothing(
        server: ModelServer, data: bytes, tmp_path: Path) -> None:
    server.fault("files/model.bin", corrupt=True)
    dest = tmp_path / "model.bin"
    with pytest.raises(ChecksumMismatch, match="sha256"):
        fetch(server, dest, data)
    assert not dest.exists() and not partial_path(dest).exists()


def test_a_stale_part_from_another_version_is_fetched_again_whole(
        server: ModelServer, data: bytes, tmp_path: Path) -> None:
    dest = tmp_path / "model.bin"
    partial_path(dest).write_bytes(blob(MB, 7))  # same name, other bytes
    fetch(server, dest, data)
    assert dest.read_bytes() == data
    first, second = server.gets("files/model.bin")
    assert first.range_start == MB and second.range_start is None


def test_a_server_that_ignores_range_is_read_from_the_start(
        server: ModelServer, data: bytes, tmp_path: Path) -> None:
    server.fault("files/model.bin", drop_at=MB, ignore_range=True)
    dest = fetch(server, tmp_path / "model.bin", data)
    assert dest.read_bytes() == data  # not the first MB twice
    _first, second = server.gets("files/model.bin")
    assert second.range_start == MB and second.status == 200


@pytest.mark.parametrize("status", [404, 403])
def test_not_found_is_a_clear_error_without_retries(
        server: ModelServer, data: bytes, tmp_path: Path, status: int) -> None:
    server.fault("files/model.bin", status=status)
    dest = tmp_path / "model.bin"
    with pytest.raises(DownloadError, match=f"HTTP {status}"):
        fetch(server, dest, data)
    assert len(server.gets("files/model.bin")) == 1
    assert not dest.exists() and not partial_path(dest).exists()


def test_server_errors_are_retried_with_exponential_backoff(
        server: ModelServer, data: bytes, tmp_path: Path) -> None:
    server.fault("files/model.bin", status=500, status_times=3)
    waits: list[float] = []
    options = FAST.__class__(**{**FAST.__dict__, "sleep": waits.append, "backoff": 0.001})
    dest = fetch(server, tmp_path / "model.bin", data, options=options)
    assert dest.read_bytes() == data
    assert len(server.gets("files/model.bin")) == 4
    # Each wait is one slice (< 0.25 s): 1, 2, 4 ms.
    assert waits == pytest.approx([0.001, 0.002, 0.004])


def test_a_server_that_keeps_failing_gives_up_with_a_clear_error(
        server: ModelServer, data: bytes, tmp_path: Path) -> None:
    server.fault("files/model.bin", status=503)
    dest = tmp_path / "model.bin"
    with pytest.raises(DownloadError, match=r"HTTP 503.*gave up after 4 attempts"):
        fetch(server, dest, data)
    assert len(server.gets("files/model.bin")) == FAST.retries + 1
    assert not dest.exists()


def test_a_redirect_is_followed(server: ModelServer, data: bytes, tmp_path: Path) -> None:
    server.add("cdn/blob", data)
    server.fault("files/model.bin", redirect="cdn/blob")
    dest = fetch(server, tmp_path / "model.bin", data)
    assert dest.read_bytes() == data
    assert server.gets("cdn/blob")[0].sent == SIZE


def test_a_redirected_download_resumes_with_range(
        server: ModelServer, data: bytes, tmp_path: Path) -> None:
    server.add("cdn/blob", data)
    server.fault("files/model.bin", redirect="cdn/blob")
    server.fault("cdn/blob", drop_at=2 * MB)
    fetch(server, tmp_path / "model.bin", data)
    assert [h.range_start for h in server.gets("cdn/blob")] == [None, 2 * MB]


def test_a_stalled_server_times_out_and_the_download_resumes(
        server: ModelServer, data: bytes, tmp_path: Path) -> None:
    server.fault("files/model.bin", stall_at=MB, stall_for=1.5)
    options = FAST.__class__(**{**FAST.__dict__, "timeout": 0.5})
    dest = fetch(server, tmp_path / "model.bin", data, options=options)
    assert dest.read_bytes() == data
    starts = [h.range_start for h in server.gets("files/model.bin")]
    assert starts[0] is None and starts[1] is not None and starts[1] >= MB


def test_a_slow_download_stops_when_closed_and_resumes_later(
        server: ModelServer, data: bytes, tmp_path: Path) -> None:
    server.fault("files/model.bin", delay=0.01)
    dest = tmp_path / "model.bin"
    job = download([server.url("files/model.bin")], dest, expected(data), options=FAST)
    for step in job:
        assert (step.stage, step.unit, step.total) == ("download", "bytes", SIZE)
        if step.done >= MB:
            break
    job.close()
    assert not dest.exists()
    kept = partial_path(dest).stat().st_size
    assert MB <= kept < SIZE

    server.heal()
    fetch(server, dest, data)
    assert dest.read_bytes() == data
    assert server.gets("files/model.bin")[-1].range_start == kept


def test_free_space_is_checked_before_the_first_byte(
        server: ModelServer, data: bytes, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage(10 * MB, 9 * MB, MB))
    dest = tmp_path / "model.bin"
    with pytest.raises(NotEnoughSpace, match="free"):
        fetch(server, dest, data)
    assert server.hits == []
    assert not dest.exists() and not partial_path(dest).exists()


def test_free_space_counts_only_what_is_left_to_download(
        server: ModelServer, data: bytes, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "model.bin"
    partial_path(dest).write_bytes(data[: 2 * MB])
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage(10 * MB, 8 * MB, MB + 1))
    fetch(server, dest, data)
    assert dest.read_bytes() == data


def test_an_unknown_checksum_is_refused(server: ModelServer, data: bytes,
                                        tmp_path: Path) -> None:
    with pytest.raises(Unverifiable):
        run_quietly(download([server.url("files/model.bin")], tmp_path / "m", Expected(),
                             options=FAST))
    assert server.hits == []


def test_the_next_source_is_tried_when_one_is_missing(
        server: ModelServer, data: bytes, tmp_path: Path) -> None:
    dest = run_quietly(download([server.url("nowhere/model.bin"),
                                 server.url("files/model.bin")],
                                tmp_path / "model.bin", expected(data), options=FAST))
    assert dest.read_bytes() == data


def test_a_file_of_another_size_is_not_downloaded(
        server: ModelServer, data: bytes, tmp_path: Path) -> None:
    wrong = Expected(sha256=sha256(data), size=SIZE + 1)
    with pytest.raises(KuraError, match="another file"):
        run_quietly(download([server.url("files/model.bin")], tmp_path / "m", wrong,
                             options=FAST))
    # Refused on the headers: nothing written (the server may have pushed bytes into the
    # socket before the client hung up, so its count proves nothing here).
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_final_file_is_replaced(server: ModelServer, data: bytes,
                                          tmp_path: Path) -> None:
    dest = tmp_path / "model.bin"
    dest.write_bytes(b"x" * SIZE)
    fetch(server, dest, data)
    assert dest.read_bytes() == data


def test_probe_reads_the_hub_headers_before_the_redirect(
        server: ModelServer, data: bytes) -> None:
    # Like the hub for a LFS file: a 302 carrying X-Linked-Etag / X-Linked-Size, to a CDN
    # whose own ETag is an md5 that must not be mistaken for anything.
    server.add("cdn/blob", data)
    server.fault("cdn/blob", hub_headers=False, etag="d41d8cd98f00b204e9800998ecf8427e")
    server.fault("files/model.bin", redirect="cdn/blob")
    info = run_quietly(probe(server.url("files/model.bin"), FAST))
    assert (info.sha256, info.size, info.git_sha1) == (sha256(data), SIZE, None)
    assert server.hits[-1].method == "HEAD" and server.hits[-1].path == "/cdn/blob"


def test_probe_of_a_server_without_checksums_finds_none(server: ModelServer) -> None:
    server.add("plain/file.bin", b"x" * 1000)
    server.fault("plain/file.bin", hub_headers=False, etag="5f3c-3e8")  # nginx-style
    info = run_quietly(probe(server.url("plain/file.bin"), FAST))
    assert (info.sha256, info.git_sha1, info.size) == (None, None, 1000)
    assert not info.expected().known


def test_probe_takes_a_git_sha1_etag_for_a_small_file(server: ModelServer) -> None:
    import hashlib

    content = b'{"pad_token": "<pad>"}\n'
    git_sha1 = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()
    server.add("small/config.json", content)
    server.fault("small/config.json", hub_headers=False, etag=git_sha1)
    info = run_quietly(probe(server.url("small/config.json"), FAST))
    assert info.sha256 is None and info.git_sha1 == git_sha1 and info.size == len(content)
