"""Reading in worker processes: every file comes back once, a file that overruns its
budget or crashes its reader costs only itself, and closing kills the workers.

The workers use a whitespace tokenizer (they start in about a second) and, where a file
must misbehave, ``tests.support.hostile_files.misbehaving_read``: a spawned worker does
not see a monkeypatch made here.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from desktop_app.core.chunking import ChunkerSpec
from desktop_app.core.errors import KuraError
from desktop_app.core.ingest import SkipReason, UnreadableFile
from desktop_app.core.ocr.page import OcrLine, OcrPage
from desktop_app.core.ocr.recognised import RecognisedPage
from desktop_app.core.reading import FileRead, ReadBudget, ReadPool, read_in_process
from tests.support.hostile_files import (
    HOSTILE_READER,
    SCAN_PAGES,
    order,
    started,
    tiny_tokenizer_json,
    zip_bomb_docx,
)

MB = 1024 * 1024
# A worker with the whitespace tokenizer rests at ~85 MB: 400 MB leaves ~300 MB to read.
BUDGET = ReadBudget(seconds=3.0, memory_bytes=400 * MB)


@pytest.fixture(scope="module")
def spec() -> ChunkerSpec:
    return ChunkerSpec(tiny_tokenizer_json(), max_tokens=64, overlap=8)


def note(path: Path, words: str) -> Path:
    path.write_text(f"# {path.stem}\n\n{words}\n", encoding="utf-8")
    return path


def drain(pool: ReadPool, expected: int,
          wait: float = 120.0) -> dict[Path, FileRead | UnreadableFile]:
    """Everything the pool returns until ``expected`` files came back; fails on a path
    returned twice."""
    results: dict[Path, FileRead | UnreadableFile] = {}
    deadline = time.monotonic() + wait
    while len(results) < expected and time.monotonic() < deadline:
        for path, result in pool.poll(timeout=1.0):
            assert path not in results, f"{path} came back twice"
            results[path] = result
    return results


def spawned_workers() -> set[int]:
    """This process's reading workers (not multiprocessing's resource tracker)."""
    workers = set()
    for child in psutil.Process().children():
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                workers.add(child.pid)
        except psutil.Error:
            pass
    return workers


@pytest.fixture
def no_leftover_workers() -> Iterator[None]:
    before = spawned_workers()
    yield
    leftover = spawned_workers() - before
    zombies = [c.pid for c in psutil.Process().children()
               if c.status() == psutil.STATUS_ZOMBIE]
    assert not leftover, f"workers still running after close: {leftover}"
    assert not zombies, f"workers not reaped: {zombies}"


def test_read_in_process_parses_and_chunks(tmp_path: Path, spec: ChunkerSpec) -> None:
    path = note(tmp_path / "install.md", "Run the installer and restart.")
    read = read_in_process(path, spec.build(), max_file_bytes=MB)
    assert (read.path, read.kind, read.title) == (path, "markdown", "install")
    assert [c.text for c in read.chunks] == ["Run the installer and restart."]
    with pytest.raises(UnreadableFile) as caught:
        read_in_process(path, spec.build(), max_file_bytes=10)
    assert caught.value.reason is SkipReason.TOO_LARGE


@pytest.mark.parametrize("workers", [1, 2])
def test_bad_files_cost_only_themselves(tmp_path: Path, spec: ChunkerSpec, workers: int,
                                        no_leftover_workers: None) -> None:
    ordinary = [note(tmp_path / f"note{i}.md", f"Ordinary note number {i}.") for i in range(6)]
    bad = {
        order(tmp_path / "slow.txt", "sleep", 600): SkipReason.TOO_SLOW,
        order(tmp_path / "greedy.txt", "allocate", 3000 * MB): SkipReason.TOO_MUCH_MEMORY,
        order(tmp_path / "segfault.txt", "segfault"): SkipReason.CRASHED,
        order(tmp_path / "exits.txt", "exit", 3): SkipReason.CRASHED,
        zip_bomb_docx(tmp_path / "bomb.docx"): SkipReason.SUSPICIOUS,
    }
    # Each bad file between ordinary ones: the files queued behind a killed worker
    # must be read by its successor, not blamed.
    submitted = [ordinary[0]]
    for bad_file, good_file in zip(bad, ordinary[1:], strict=True):
        submitted += [bad_file, good_file]
    with ReadPool(spec, budget=BUDGET, max_file_bytes=100 * MB, workers=workers,
                  reader=HOSTILE_READER) as pool:
        for path in submitted:
            pool.submit(path)
        assert pool.in_flight == len(submitted)
        results = drain(pool, len(submitted))
        assert pool.in_flight == 0
        assert pool.poll() == []

    assert set(results) == set(submitted)
    for i, path in enumerate(ordinary):
        result = results[path]
        assert isinstance(result, FileRead), result
        assert [c.text for c in result.chunks] == [f"Ordinary note number {i}."]
    assert {path: getattr(results[path], "reason", None) for path in bad} == bad
    assert "budget 3 s" in results[tmp_path / "slow.txt"].detail  # type: ignore[union-attr]
    assert "SIGSEGV" in results[tmp_path / "segfault.txt"].detail  # type: ignore[union-attr]
    assert "exit code 3" in results[tmp_path / "exits.txt"].detail  # type: ignore[union-attr]


def test_close_in_the_middle_of_a_file_kills_the_worker(tmp_path: Path, spec: ChunkerSpec,
                                                        no_leftover_workers: None) -> None:
    slow = order(tmp_path / "slow.txt", "sleep", 600)
    pool = ReadPool(spec, budget=ReadBudget(seconds=900, memory_bytes=400 * MB),
                    max_file_bytes=MB, reader=HOSTILE_READER)
    pool.submit(slow)
    pool.submit(note(tmp_path / "after.md", "Never read."))
    deadline = time.monotonic() + 60
    while not started(slow).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started(slow).exists()
    workers = spawned_workers()
    assert workers
    began = time.monotonic()
    pool.close()
    assert time.monotonic() - began < 30  # the file would have taken 600 s
    assert not workers & spawned_workers()
    pool.close()  # a second close is harmless
    with pytest.raises(RuntimeError):
        pool.submit(slow)


def test_runs_from_a_thread_that_is_not_the_main_thread(
        tmp_path: Path, spec: ChunkerSpec, no_leftover_workers: None) -> None:
    """As under the window: the pool installs no signal handler, so any thread can own
    it, and a crash in a worker is still seen."""
    files = [note(tmp_path / "a.md", "First."), order(tmp_path / "b.txt", "segfault"),
             note(tmp_path / "c.md", "Third.")]
    outcome: dict[Path, object] = {}

    def run() -> None:
        with ReadPool(spec, budget=BUDGET, max_file_bytes=MB, reader=HOSTILE_READER) as pool:
            for path in files:
                pool.submit(path)
            outcome.update(drain(pool, len(files)))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(120)
    assert not thread.is_alive()
    assert isinstance(outcome[files[0]], FileRead)
    assert getattr(outcome[files[1]], "reason", None) is SkipReason.CRASHED
    assert isinstance(outcome[files[2]], FileRead)


def test_a_worker_holding_on_to_memory_is_replaced(tmp_path: Path, spec: ChunkerSpec,
                                                   no_leftover_workers: None) -> None:
    """After a file that leaves 200 MB behind, a file that needs 250 MB would overrun
    400 MB in the same worker; in a fresh one it fits."""
    leaky = order(tmp_path / "leaky.txt", "leak", 200 * MB)
    needy = order(tmp_path / "needy.txt", "use", 250 * MB)
    with ReadPool(spec, budget=BUDGET, max_file_bytes=MB, reader=HOSTILE_READER) as pool:
        pool.submit(leaky)
        pool.submit(needy)
        results = drain(pool, 2)
    assert isinstance(results[leaky], FileRead)
    assert isinstance(results[needy], FileRead), results[needy]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is Linux's")
def test_an_allocation_too_big_to_sample_fails_in_the_worker(
        tmp_path: Path, spec: ChunkerSpec, no_leftover_workers: None) -> None:
    """Address space is capped at the worker's start-up size plus twice the budget: a
    4 GB block (mapped at once, never resident, so the parent's sampling sees nothing)
    fails at once instead of growing unwatched."""
    huge = order(tmp_path / "huge.txt", "reserve", 4000 * MB)
    after = note(tmp_path / "after.md", "Still read.")
    with ReadPool(spec, budget=BUDGET, max_file_bytes=MB, reader=HOSTILE_READER) as pool:
        pool.submit(huge)
        pool.submit(after)
        results = drain(pool, 2)
    assert getattr(results[huge], "reason", None) is SkipReason.TOO_MUCH_MEMORY
    assert isinstance(results[after], FileRead)


def test_a_worker_that_cannot_start_is_an_error(tmp_path: Path,
                                                no_leftover_workers: None) -> None:
    broken = ChunkerSpec(str(tmp_path / "missing-tokenizer.json"), 64, 8)
    with ReadPool(broken, budget=BUDGET, max_file_bytes=MB) as pool:
        pool.submit(note(tmp_path / "a.md", "Words."))
        with pytest.raises(KuraError, match="could not start its file reader"):
            pool.poll(timeout=60)


def test_a_budget_below_a_resting_worker_is_an_error(tmp_path: Path, spec: ChunkerSpec,
                                                     no_leftover_workers: None) -> None:
    with ReadPool(spec, budget=ReadBudget(seconds=10, memory_bytes=MB),
                  max_file_bytes=MB) as pool:
        pool.submit(note(tmp_path / "a.md", "Words."))
        with pytest.raises(KuraError, match="smaller than a reading process at rest"):
            pool.poll(timeout=60)


def test_workers_end_with_a_killed_parent(tmp_path: Path) -> None:
    """A parent killed outright (SIGKILL, a crash) cannot close its pool: its worker,
    stuck in a file for 600 s, ends by itself as soon as the parent is gone."""
    slow = order(tmp_path / "slow.txt", "sleep", 600)
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from desktop_app.core.chunking import ChunkerSpec\n"
        "from desktop_app.core.reading import ReadBudget, ReadPool\n"
        "from tests.support.hostile_files import HOSTILE_READER, tiny_tokenizer_json\n"
        "if __name__ == '__main__':\n"
        "    pool = ReadPool(ChunkerSpec(tiny_tokenizer_json(), 64, 8),\n"
        "                    budget=ReadBudget(900, 400 * 2**20), max_file_bytes=2**20,\n"
        "                    reader=HOSTILE_READER)\n"
        "    pool.submit(Path(sys.argv[1]))\n"
        "    time.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, "-c", script, str(slow)],
                              cwd=Path(__file__).resolve().parents[2])
    workers: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 60
        while not started(slow).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started(slow).exists()
        workers = [c for c in psutil.Process(parent.pid).children()
                   if "spawn_main" in " ".join(c.cmdline())]
        assert len(workers) == 1
        parent.kill()
        parent.wait()
        _gone, alive = psutil.wait_procs(workers, timeout=30)
        assert not alive, "the worker outlived its parent"
    finally:
        parent.kill()
        parent.wait()
        for worker in workers:  # only if the test failed
            with contextlib.suppress(psutil.Error):
                worker.kill()


def test_a_long_scan_gets_its_time_budget_per_page_and_reports_each(
        tmp_path: Path, spec: ChunkerSpec, no_leftover_workers: None) -> None:
    """Five pages of 1.2 s each: twice the 3 s budget in all, never a page over it. Each
    page is news as soon as it is read, in order, before the file is done."""
    scan = order(tmp_path / "scan.txt", "pages", 1.2)
    with ReadPool(spec, budget=BUDGET, max_file_bytes=MB, reader=HOSTILE_READER) as pool:
        pool.submit(scan)
        first_news: list[int] = []
        while not first_news:
            assert not pool.poll(0.2), "the file finished before any page was news"
            first_news = [news.page.page for _path, news in pool.pages()]
        results = drain(pool, 1, wait=60)
        later = [news.page.page for _path, news in pool.pages()]
    assert isinstance(results[scan], FileRead), results[scan]
    assert first_news + later == list(range(1, SCAN_PAGES + 1))


def test_pages_recognised_before_are_not_recognised_again(
        tmp_path: Path, spec: ChunkerSpec, no_leftover_workers: None) -> None:
    scan = order(tmp_path / "scan.txt", "pages", 0.05)
    saved = {n: RecognisedPage(n, "stand-in", OcrPage((OcrLine(f"saved {n}", (0, 0, 1, 1),
                                                               0.9),), 0, 8, 8), 1.0)
             for n in (1, 2)}
    with ReadPool(spec, budget=BUDGET, max_file_bytes=MB, reader=HOSTILE_READER) as pool:
        pool.submit(scan, known=saved)
        drain(pool, 1, wait=60)
        news = [news for _path, news in pool.pages()]
    assert [(n.page.page, n.reused) for n in news] == [
        (1, True), (2, True), (3, False), (4, False), (5, False)]
    assert news[0].page == saved[1]
    assert news[2].page.result.lines[0].text == "Recognised words number 1."  # OCR'd: 3 on


def test_with_ocr_off_the_workers_recognise_nothing(
        tmp_path: Path, spec: ChunkerSpec, no_leftover_workers: None) -> None:
    scan = order(tmp_path / "scan.txt", "pages", 0.05)
    with ReadPool(spec, budget=BUDGET, max_file_bytes=MB, reader=HOSTILE_READER,
                  ocr=False) as pool:
        pool.submit(scan)
        results = drain(pool, 1, wait=60)
        assert pool.pages() == []
    assert isinstance(results[scan], FileRead)
