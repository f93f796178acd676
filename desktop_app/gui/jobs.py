"""Background work: superqt workers, and one lane for everything that writes the library.

- ``background(fn)`` runs a function or generator on a pool thread; results, yielded
  values and errors arrive on the GUI thread as signals. Workers never touch widgets.
- ``JobLane`` runs library jobs (add, sync, retry, embed) one at a time, in order, the
  way Anki sends all database work through one executor: two jobs never race on the same
  documents, and "pause", "resume" and "stop" have one obvious meaning.
- ``CallLane`` runs plain calls one at a time, in order (the chat files: a save is never
  overtaken by a later read).
- ``user_message(exc)`` is how every controller turns a failed job into text for the
  window: a ``KuraError`` or ``OSError`` says what went wrong in the user's language,
  anything else is a bug, said so briefly and logged with its traceback.
- ``progress_view(step)`` is how every controller turns one ``Progress`` of any job
  (``desktop_app.core.progress``) into what the window shows: a line and a fraction.

Stopping is cooperative: superqt checks for a quit request between two yields, and the
core's jobs yield only at safe points (every file and every embedding batch is its own
transaction). ``JobWorker`` then closes the generator on the worker thread, so the job's
own clean-up (saving the vector index) runs there, not on the GUI thread.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal
from superqt.utils import FunctionWorker, GeneratorWorker, WorkerBase, create_worker

from desktop_app.core.errors import KuraError
from desktop_app.core.progress import Progress, format_bytes, format_duration
from desktop_app.gui.strings import tr
from desktop_app.gui.translate import error_text

# Indexing, answering, a download, the file watcher and a model load can all be running
# at once; Qt's default pool (one thread per CPU) would queue them behind each other.
MIN_POOL_THREADS = 8

_log = logging.getLogger("kura.jobs")


def ensure_pool() -> None:
    pool = QThreadPool.globalInstance()
    pool.setMaxThreadCount(max(pool.maxThreadCount(), MIN_POOL_THREADS))


class JobWorker(GeneratorWorker):
    """A generator worker that closes its generator on the worker thread when it ends,
    also when it was asked to quit."""

    def work(self) -> Any:
        try:
            return super().work()
        finally:
            self._gen.close()


class JobError(Exception):
    """A job's own RuntimeError, renamed on its way out: superqt's generator worker takes
    a RuntimeError for "my Qt object was deleted" and ends silently, without ``errored``
    or ``finished``, which would leave a lane or an answer busy for ever (llama.cpp, for
    one, raises RuntimeError when decoding fails)."""


def user_message(exc: BaseException) -> str:
    """What the window says about a job that failed with ``exc``."""
    if isinstance(exc, KuraError):
        return error_text(exc)
    if isinstance(exc, OSError):  # a full disk, a file without permission: the user's to fix
        return tr("error.os", detail=str(exc))
    _log.error("a background job failed", exc_info=exc)
    shown = exc.__cause__ if isinstance(exc, JobError) and exc.__cause__ else exc
    return tr("error.unexpected", kind=type(shown).__name__)


@dataclass(frozen=True)
class ProgressView:
    """One step of a job as the window shows it."""

    text: str
    fraction: float | None  # None: busy, amount unknown


def progress_view(step: Progress) -> ProgressView:
    """The line and the bar for one step of any job, at every stage."""
    return ProgressView(_progress_line(step), step.fraction)


def _progress_line(step: Progress) -> str:
    if step.stage == "scan":
        if not step.total:  # still walking the folders: how many are read so far
            return tr("index.scan_so_far", done=step.done) if step.done \
                else tr("index.scan_unknown")
        return tr("index.scan", done=step.done, total=step.total)
    if step.stage == "embed":
        total = max(step.total or 0, step.done)
        if not step.rate or step.rate <= 0:
            return tr("index.embed_start", done=step.done, total=total)
        return tr("index.embed", done=step.done, total=total, rate=f"{step.rate:.1f}",
                  eta=format_duration(step.eta))
    if step.stage == "index":
        return tr("index.index")
    if step.stage == "ocr":
        name = Path(step.item).name if step.item else ""
        if not step.rate or step.rate <= 0:
            return tr("index.ocr_start", done=step.done, total=step.total or 0, name=name)
        return tr("index.ocr", done=step.done, total=step.total or 0, name=name,
                  eta=format_duration(step.eta))
    name = step.item or ""
    if step.stage in ("download", "copy") and step.total:
        return tr("welcome.progress", name=name, done=format_bytes(step.done),
                  total=format_bytes(step.total), rate=format_bytes(step.rate or 0),
                  eta=format_duration(step.eta))
    if step.stage in ("download", "copy"):
        return tr("welcome.progress_unknown", name=name, done=format_bytes(step.done))
    return tr("welcome.step", name=name, stage=step.message or step.stage)


def _renaming_runtime_errors(fn: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Iterator[Any]:
        try:
            return (yield from fn(*args, **kwargs))
        except RuntimeError as exc:
            raise JobError(str(exc) or type(exc).__name__) from exc

    return run


def background(
    fn: Callable[..., Any],
    *args: Any,
    on_result: Callable[[Any], None] | None = None,
    on_yield: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    on_finished: Callable[[], None] | None = None,
    start: bool = True,
    **kwargs: Any,
) -> WorkerBase:
    """Run ``fn(*args, **kwargs)`` on a pool thread. A generator function becomes a
    ``JobWorker``; its yields reach ``on_yield`` on the GUI thread, in order."""
    ensure_pool()
    generator = inspect.isgeneratorfunction(fn)
    worker_class = JobWorker if generator else FunctionWorker
    if generator:
        fn = _renaming_runtime_errors(fn)
    worker: WorkerBase = create_worker(fn, *args, _start_thread=False,
                                       _worker_class=worker_class,
                                       _ignore_errors=on_error is not None, **kwargs)
    if on_result:
        worker.returned.connect(on_result)
    if on_yield and isinstance(worker, GeneratorWorker):
        worker.yielded.connect(on_yield)
    if on_error:
        worker.errored.connect(on_error)
    if on_finished:
        worker.finished.connect(lambda *_args: on_finished())
    if start:
        worker.start()
    return worker


@dataclass
class _Call:
    fn: Callable[[], Any]
    on_result: Callable[[Any], None] | None
    on_error: Callable[[BaseException], None]


class CallLane(QObject):
    """Calls on a worker, one at a time, in the order they were made; each one's result
    (or error) reaches the GUI thread before the next call starts."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: deque[_Call] = deque()
        self._running = False

    def run(self, fn: Callable[[], Any], *, on_error: Callable[[BaseException], None],
            on_result: Callable[[Any], None] | None = None) -> None:
        self._queue.append(_Call(fn, on_result, on_error))
        self._next()

    def _next(self) -> None:
        if self._running or not self._queue:
            return
        call = self._queue.popleft()
        self._running = True
        background(call.fn, on_result=call.on_result, on_error=call.on_error,
                   on_finished=self._done)

    def _done(self) -> None:
        self._running = False
        self._next()


@dataclass
class _Job:
    name: str
    factory: Callable[[], Iterator[Any]]
    urgent: bool = False  # runs even while the lane is paused (the user asked for it)


class JobLane(QObject):
    """Library jobs, one at a time. A job is a factory of a generator of progress."""

    started = Signal(str)  # job name
    progressed = Signal(str, object)  # job name, what the job yielded
    finished = Signal(str, bool)  # job name, ran to the end (not stopped)
    failed = Signal(str, object)  # job name, the exception
    idle = Signal()  # nothing running and nothing queued
    paused_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: deque[_Job] = deque()
        self._worker: GeneratorWorker | None = None
        self._current: str | None = None
        self._paused = False
        self._stopping = False

    @property
    def busy(self) -> bool:
        return self._worker is not None or bool(self._queue)

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def current(self) -> str | None:
        return self._current

    def submit(self, name: str, factory: Callable[[], Iterator[Any]]) -> None:
        self._queue.append(_Job(name, factory))
        self._next()

    def interrupt(self, name: str, factory: Callable[[], Iterator[Any]]) -> None:
        """Run this job next, stopping the running one at its next safe point (the queue
        is kept): removing a collection should not wait for its indexing to end."""
        self._queue.appendleft(_Job(name, factory, urgent=True))
        if self._worker is not None:
            self._stopping = True
            self._worker.quit()
        else:
            self._next()

    def pause(self) -> None:
        """Hold the running job at its next safe point; queued jobs wait too."""
        if self._paused:
            return
        self._paused = True
        if self._worker is not None:
            self._worker.pause()
        self.paused_changed.emit(True)

    def resume(self) -> None:
        if not self._paused:
            return
        self._paused = False
        if self._worker is not None:
            self._worker.resume()
        self.paused_changed.emit(False)
        self._next()

    def stop(self) -> None:
        """Stop the running job at its next safe point and drop the queued ones."""
        self._queue.clear()
        if self._worker is not None:
            self._stopping = True
            self._worker.quit()  # a paused worker notices it too
        if self._paused:
            self._paused = False
            self.paused_changed.emit(False)

    def _next(self) -> None:
        if self._worker is not None:
            return
        if self._paused and not (self._queue and self._queue[0].urgent):
            return
        if not self._queue:
            self.idle.emit()
            return
        job = self._queue.popleft()
        self._current = job.name
        self._stopping = False

        def run() -> Iterator[Any]:
            yield from job.factory()

        name = job.name

        def progressed(value: object) -> None:
            self.progressed.emit(name, value)

        def failed(exc: BaseException) -> None:
            self.failed.emit(name, exc)

        completed: list[bool] = []
        worker = background(run, on_yield=progressed, on_error=failed, start=False)
        assert isinstance(worker, GeneratorWorker)
        worker.returned.connect(lambda _result: completed.append(True))
        # "finished" comes after JobWorker closed the generator: the next job starts only
        # once the stopped one has cleaned up.
        worker.finished.connect(lambda *_args: self._done(name, bool(completed)))
        # superqt's resume() is a no-op until the worker has reached its pause point; a
        # pause then a quick resume (an answer shorter than one embedding batch) would
        # hold the job for ever. Resume it when it gets there if the lane is running.
        worker.paused.connect(lambda *_args: None if self._paused else worker.resume())
        self._worker = worker
        self.started.emit(job.name)
        worker.start()

    def _done(self, name: str, completed: bool) -> None:
        self._worker = None
        self._current = None
        self.finished.emit(name, completed and not self._stopping)
        self._next()
