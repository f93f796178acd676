"""jobs: results, yields and errors reach the GUI thread in order; the JobLane runs one job
at a time, pauses at a yield, and stops by closing the job's generator on its worker; the
CallLane runs calls in order; a failed job becomes one message for the window."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QThreadPool

from desktop_app.core.chats import ChatNotFound
from desktop_app.core.progress import STAGES, Progress, format_duration
from desktop_app.gui.jobs import (
    CallLane,
    JobError,
    JobLane,
    ProgressView,
    background,
    progress_view,
    user_message,
)
from desktop_app.gui.strings import set_language, tr

TIMEOUT = 5000


@pytest.fixture
def gui_thread() -> int:
    return threading.get_ident()


# -- background() ---------------------------------------------------------------------


def test_a_functions_result_arrives_on_the_gui_thread(qtbot, gui_thread: int) -> None:
    ran_on: list[int] = []
    got: list[tuple[object, int]] = []

    def work(a: int, b: int = 0) -> int:
        ran_on.append(threading.get_ident())
        return a + b

    with qtbot.waitCallback() as finished:
        background(work, 2, b=3, on_result=lambda r: got.append((r, threading.get_ident())),
                   on_finished=finished)
    assert got == [(5, gui_thread)]
    assert ran_on and ran_on[0] != gui_thread  # the work itself ran on a pool thread


def test_a_generators_yields_arrive_in_order_then_its_result(qtbot, gui_thread: int) -> None:
    seen: list[tuple[str, object, int]] = []

    def work() -> Iterator[int]:
        yield from range(20)
        return "done"

    with qtbot.waitCallback() as finished:
        background(work, on_yield=lambda v: seen.append(("yield", v, threading.get_ident())),
                   on_result=lambda r: seen.append(("result", r, threading.get_ident())),
                   on_finished=finished)
    assert seen == [("yield", i, gui_thread) for i in range(20)] + [
        ("result", "done", gui_thread)]


@pytest.mark.parametrize("generator", [False, True])
def test_an_error_reaches_on_error_and_no_result(qtbot, gui_thread: int,
                                                 generator: bool) -> None:
    errors: list[tuple[BaseException, int]] = []
    results: list[object] = []

    def fails() -> int:
        raise ValueError("broken file")

    def fails_later() -> Iterator[int]:
        yield 1
        raise ValueError("broken file")

    with qtbot.waitCallback() as finished:
        background(fails_later if generator else fails, on_result=results.append,
                   on_error=lambda exc: errors.append((exc, threading.get_ident())),
                   on_finished=finished)
    assert len(errors) == 1
    exc, thread = errors[0]
    assert isinstance(exc, ValueError) and str(exc) == "broken file"
    assert thread == gui_thread
    assert results == []


# -- JobLane ----------------------------------------------------------------------------


class Recorder:
    """What the jobs did (from their worker threads) and what the lane said (GUI thread)."""

    def __init__(self, lane: JobLane) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, str]] = []  # from the jobs
        self.threads: dict[str, int] = {}  # job body's thread
        self.cleanup_threads: dict[str, int] = {}  # thread the job's `finally` ran on
        self.progress: list[tuple[str, object]] = []
        self.started: list[str] = []
        self.finished: list[tuple[str, bool]] = []
        self.idle = 0
        lane.started.connect(self.started.append)
        lane.progressed.connect(lambda name, v: self.progress.append((name, v)))
        lane.finished.connect(lambda name, ok: self.finished.append((name, ok)))
        lane.idle.connect(self._idle)

    def _idle(self) -> None:
        self.idle += 1

    def note(self, name: str, what: str) -> None:
        with self.lock:
            self.events.append((name, what))

    def job(self, name: str, steps: int = 3, step_s: float = 0.01,
            cleanup_s: float = 0.0):
        def factory() -> Iterator[int]:
            self.threads[name] = threading.get_ident()
            self.note(name, "start")
            try:
                for i in range(steps):
                    time.sleep(step_s)
                    yield i
                self.note(name, "end")
            finally:
                time.sleep(cleanup_s)
                self.cleanup_threads[name] = threading.get_ident()
                self.note(name, "cleanup")

        return factory


@pytest.fixture
def lane(qtbot) -> Iterator[JobLane]:
    lane = JobLane()
    yield lane
    lane.stop()
    QThreadPool.globalInstance().waitForDone(TIMEOUT)


def test_jobs_run_one_at_a_time_in_submission_order(qtbot, lane: JobLane) -> None:
    rec = Recorder(lane)
    with qtbot.waitSignal(lane.idle, timeout=TIMEOUT):
        for name in ("a", "b", "c"):
            lane.submit(name, rec.job(name))
        assert lane.busy
    assert rec.started == ["a", "b", "c"]
    assert rec.finished == [("a", True), ("b", True), ("c", True)]
    # No overlap: each job's body and clean-up end before the next one starts.
    assert rec.events == [(n, w) for n in "abc" for w in ("start", "end", "cleanup")]
    assert rec.progress == [(n, i) for n in "abc" for i in range(3)]
    assert not lane.busy and lane.current is None
    assert rec.idle == 1


def test_a_failing_job_is_reported_and_the_next_one_runs(qtbot, lane: JobLane) -> None:
    rec = Recorder(lane)
    failures: list[tuple[str, object]] = []
    lane.failed.connect(lambda name, exc: failures.append((name, exc)))

    def broken() -> Iterator[int]:
        yield 1
        raise OSError("disk full")

    with qtbot.waitSignal(lane.idle, timeout=TIMEOUT):
        lane.submit("broken", broken)
        lane.submit("next", rec.job("next"))
    assert [(n, str(e)) for n, e in failures] == [("broken", "disk full")]
    assert rec.finished == [("broken", False), ("next", True)]


def test_pause_holds_the_running_job_and_the_queue_until_resume(qtbot, lane: JobLane) -> None:
    rec = Recorder(lane)
    paused: list[bool] = []
    lane.paused_changed.connect(paused.append)
    lane.submit("a", rec.job("a", steps=40, step_s=0.01))
    lane.submit("b", rec.job("b"))
    qtbot.waitUntil(lambda: len(rec.progress) >= 2, timeout=TIMEOUT)
    lane.pause()
    assert lane.paused and paused == [True]
    # At most the step in flight finishes; then nothing moves.
    qtbot.wait(100)
    held = len(rec.progress)
    qtbot.wait(300)
    assert len(rec.progress) == held < 40
    assert rec.started == ["a"] and ("a", "end") not in rec.events
    with qtbot.waitSignal(lane.idle, timeout=TIMEOUT):
        lane.resume()
    assert paused == [True, False]
    assert rec.progress == [("a", i) for i in range(40)] + [("b", i) for i in range(3)]
    assert rec.finished == [("a", True), ("b", True)]


def test_a_job_submitted_while_paused_waits_for_resume(qtbot, lane: JobLane) -> None:
    rec = Recorder(lane)
    lane.pause()
    lane.submit("a", rec.job("a"))
    qtbot.wait(200)
    assert rec.started == [] and rec.events == [] and lane.busy
    with qtbot.waitSignal(lane.idle, timeout=TIMEOUT):
        lane.resume()
    assert rec.finished == [("a", True)]


def test_resume_right_after_pause_does_not_leave_the_job_held(qtbot, lane: JobLane) -> None:
    """Pause then resume while the job is between two yields (an embedding batch takes
    seconds; ``pause_for_answer`` does exactly this when a quick answer ends): the job
    must carry on, since the lane says it is no longer paused."""
    rec = Recorder(lane)
    lane.submit("a", rec.job("a", steps=3, step_s=0.3))
    qtbot.waitUntil(lambda: ("a", "start") in rec.events, timeout=TIMEOUT)
    lane.pause()
    lane.resume()  # before the job reached its next yield
    assert not lane.paused
    try:
        qtbot.waitUntil(lambda: rec.finished == [("a", True)], timeout=3000)
    finally:
        lane.stop()  # frees a held worker, so the test ends either way


@pytest.mark.parametrize("while_paused", [False, True])
def test_stop_drops_the_queue_and_closes_the_job_on_its_worker(
        qtbot, lane: JobLane, gui_thread: int, while_paused: bool) -> None:
    rec = Recorder(lane)
    paused: list[bool] = []
    lane.paused_changed.connect(paused.append)
    lane.submit("a", rec.job("a", steps=200, step_s=0.01))
    lane.submit("b", rec.job("b"))
    lane.submit("c", rec.job("c"))
    qtbot.waitUntil(lambda: len(rec.progress) >= 2, timeout=TIMEOUT)
    if while_paused:
        lane.pause()
    with qtbot.waitSignals([lane.finished, lane.idle], order="strict", timeout=TIMEOUT):
        lane.stop()
    assert rec.finished == [("a", False)]
    qtbot.waitUntil(lambda: ("a", "cleanup") in rec.events, timeout=TIMEOUT)
    # The generator was closed (its `finally` ran) on the job's own worker thread.
    assert rec.cleanup_threads["a"] == rec.threads["a"] != gui_thread
    assert ("a", "end") not in rec.events
    qtbot.wait(200)
    assert rec.started == ["a"]  # b and c were dropped
    assert not lane.busy and not lane.paused
    if while_paused:
        assert paused == [True, False]


def test_a_job_after_a_stop_starts_only_once_the_stopped_one_cleaned_up(
        qtbot, lane: JobLane) -> None:
    """One at a time includes the stopped job's clean-up (closing its generator saves the
    vector index): a job submitted right after Stop must not run beside it."""
    rec = Recorder(lane)
    lane.submit("a", rec.job("a", steps=200, step_s=0.01, cleanup_s=0.3))
    qtbot.waitUntil(lambda: len(rec.progress) >= 1, timeout=TIMEOUT)
    lane.stop()
    lane.submit("b", rec.job("b"))
    qtbot.waitUntil(lambda: ("b", "cleanup") in rec.events, timeout=TIMEOUT)
    order = [e for e in rec.events if e in {("a", "cleanup"), ("b", "start")}]
    assert order == [("a", "cleanup"), ("b", "start")]


# -- CallLane -------------------------------------------------------------------------


def test_calls_run_on_workers_one_after_another_in_order(qtbot, gui_thread: int) -> None:
    """A slow save is not overtaken by a quick read asked for after it."""
    lane = CallLane()
    log: list[str] = []
    ran_on: list[int] = []

    def call(name: str, seconds: float) -> str:
        ran_on.append(threading.get_ident())
        log.append(f"start {name}")
        time.sleep(seconds)
        log.append(f"end {name}")
        return name

    def fail() -> None:
        raise ChatNotFound("no chat 7")

    results: list[object] = []
    lane.run(lambda: call("save", 0.3), on_result=results.append, on_error=results.append)
    lane.run(fail, on_result=results.append, on_error=results.append)
    lane.run(lambda: call("read", 0.0), on_result=results.append, on_error=results.append)
    qtbot.waitUntil(lambda: len(results) == 3, timeout=TIMEOUT)
    assert log == ["start save", "end save", "start read", "end read"]
    assert results[0] == "save" and isinstance(results[1], ChatNotFound)
    assert results[2] == "read"
    assert gui_thread not in ran_on


# -- user_message ---------------------------------------------------------------------


def test_a_kura_error_or_os_error_says_what_went_wrong() -> None:
    assert user_message(ChatNotFound("no chat 7")) == "no chat 7"
    assert user_message(PermissionError(13, "Permission denied", "/x.md")) == \
        "[Errno 13] Permission denied: '/x.md'"
    set_language("zh_CN")
    assert user_message(ChatNotFound("no chat 7")) == "找不到该对话：no chat 7"


def test_anything_else_is_a_bug_said_briefly_and_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    try:
        raise RuntimeError("llama_decode returned -3")
    except RuntimeError as exc:
        renamed = JobError(str(exc))
        renamed.__cause__ = exc
    with caplog.at_level("ERROR", logger="kura.jobs"):
        text = user_message(renamed)
    assert text == tr("error.unexpected", kind="RuntimeError")
    assert "llama_decode" not in text
    assert "llama_decode returned -3" in caplog.text  # the traceback is in the log


# -- progress ------------------------------------------------------------------------


def test_progress_text_from_the_cores_progress() -> None:
    assert progress_view(Progress("scan", 3, 10)) == ProgressView(
        tr("index.scan", done=3, total=10), 0.3)
    assert progress_view(Progress("scan", 0, None)) == ProgressView(
        tr("index.scan_unknown"), None)
    # Files are read while the walk goes on: how many so far, and no bar yet.
    assert progress_view(Progress("scan", 3, None)) == ProgressView(
        tr("index.scan_so_far", done=3), None)
    assert progress_view(Progress("embed", 0, 200)) == ProgressView(
        tr("index.embed_start", done=0, total=200), 0.0)
    assert progress_view(Progress("embed", 100, 200, rate=50.0, eta=2.0)) == ProgressView(
        tr("index.embed", done=100, total=200, rate="50.0", eta="2 s"), 0.5)
    assert progress_view(Progress("index", 2048, 4096)) == ProgressView(tr("index.index"), 0.5)
    assert format_duration(75) == "1:15" and format_duration(3725) == "1:02:05"
    assert format_duration(None) == "…"


@pytest.mark.parametrize("stage", STAGES)
def test_the_windows_one_reading_of_progress_handles_every_stage(stage: str) -> None:
    for step in (Progress(stage), Progress(stage, 3, 10, "bytes", "model.onnx", 1.5, 4.7),
                 Progress(stage, 3, None, item="model.onnx", message="news")):
        view = progress_view(step)
        assert view.text and view.fraction == step.fraction
