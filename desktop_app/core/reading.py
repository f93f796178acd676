"""Reading and chunking files in worker processes, each file under a time and a memory
budget, so that no single file can stall or sink a library scan.

A file that takes too long (a parser or the splitter gone quadratic), needs too much
memory (an XML tree of a decompressed bomb), or crashes a native library (PDFium, a zip
or XML library) costs only itself: its worker process is killed or found dead, a fresh
worker takes over the files queued behind it, and the file comes back as an
``UnreadableFile`` whose reason a person understands (TOO_SLOW, TOO_MUCH_MEMORY,
CRASHED).

How it is built:

- Workers are persistent ``spawn`` processes (the GUI has threads, so never ``fork``).
  Each imports the readers and builds its ``Chunker`` from a ``ChunkerSpec`` once; that
  start-up is paid per worker, not per file, and again only when a worker had to be
  replaced. Measured with EmbeddingGemma's tokenizer: 4 s on an idle core (10 s at a
  load of 10 on 2 cores); 250 MB resident once it gave back the heap that loading the
  tokenizer freed (520 MB before). A file's round trip costs the parent about 0.3 ms of
  CPU (800 three-chunk notes: 0.26 s), against 4 ms to read and chunk one: results are
  sent one by one, not batched.
- The parent enforces the budgets, not the workers: a worker cannot be trusted to stop
  itself when its reader is stuck in native code. One supervising thread in the parent
  (no signal handlers, so the pool runs under a Qt application too) dispatches files,
  collects results and, every ``_TICK`` while a file is being read, compares the time it
  has taken and the worker's resident memory (psutil) with the budget.
- Each worker has up to ``_AHEAD`` files sent to it, so it never waits on the parent
  between two small files. It reads them in order, so the file it is reading is always
  the oldest unanswered one; that file is timed from the moment the parent had the
  previous answer (or sent it to an idle worker).
- On Linux a worker also caps its own address space (``RLIMIT_AS``) at its size after
  start-up plus twice the memory budget: a second line for an allocation too fast for
  the parent's sampling to catch. It only ever fires past the resident budget.
- Every submitted path comes back from ``poll`` exactly once, with its chunks or with a
  reason. ``close`` kills the workers at once (also mid-file) and reaps them.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import psutil

from desktop_app.core.chunking import Chunk, Chunker, ChunkerSpec
from desktop_app.core.errors import KuraError
from desktop_app.core.ingest.errors import SkipReason, UnreadableFile
from desktop_app.core.ingest.parse import parse
from desktop_app.core.ingest.scans import PageRead, ocr_session
from desktop_app.core.ocr.recognised import RecognisedPage

_log = logging.getLogger("kura.reading")

# "module:function" of what a worker calls for each file, with read_in_process's
# signature. Tests name a reader of their own here to make a worker sleep, allocate or
# crash: a monkeypatch in the parent is not seen by a spawned worker.
DEFAULT_READER = "desktop_app.core.reading:read_in_process"

_TICK = 0.05  # seconds between budget checks while a file is being read
_AHEAD = 2  # files sent to a worker before it answers: it never idles between files
_RETIRE_AT = 0.5  # of its headroom under the memory budget: a worker still holding
                  # that much after a file is replaced
_START_ATTEMPTS = 3  # workers dying before they are ready, in a row, before giving up
_START_SECONDS = 180.0  # a worker not ready by then is stuck (10 s measured at load 10)
_REAP_SECONDS = 5.0  # waiting for a killed worker to be gone
_TRIM_ABOVE = 64 << 20  # growth after a file past which a worker gives freed heap back


@dataclass(frozen=True)
class ReadBudget:
    seconds: float  # wall time for one file (parse + chunk) before its worker is killed
    memory_bytes: int  # resident memory of a worker reading one file before it is killed


@dataclass(frozen=True)
class FileRead:
    """A file read and chunked."""

    path: Path
    kind: str  # formats.Kind value
    title: str | None  # ParsedDocument.title
    chunks: list[Chunk]  # already chunked in the worker


ReadResult = FileRead | UnreadableFile
KnownPages = dict[int, RecognisedPage]  # pages of a scan recognised before, by number


@dataclass(frozen=True)
class _Task:
    seq: int
    path: Path
    # Pages recognised before (a resumed scan); pages recognised while it is read are
    # added, so that a file begun again in another worker does not OCR them again.
    known: KnownPages


def read_in_process(path: Path, chunker: Chunker, max_file_bytes: int) -> FileRead:
    """Parse and chunk ``path`` here, without a worker; raise UnreadableFile if it cannot
    be read. What each worker does for each file."""
    parsed = parse(path, max_bytes=max_file_bytes)
    chunks = chunker.chunk(parsed)
    if not chunks:
        raise UnreadableFile(path, SkipReason.EMPTY, "no text after chunking")
    return FileRead(path=Path(path), kind=parsed.kind, title=parsed.title, chunks=chunks)


# -- the worker process ----------------------------------------------------------------


def _worker_main(conn: Connection, spec: ChunkerSpec, max_file_bytes: int, reader: str,
                 memory_bytes: int, ocr: bool = True) -> None:
    """A worker's whole life: build the chunker once, then read files until told to
    stop or until the parent is gone (its end of the pipe closes)."""
    # Ctrl+C in a terminal reaches the whole process group: the parent decides when
    # workers stop, and a KeyboardInterrupt traceback per worker would only be noise.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent()
    try:
        read = _resolve(reader)
        chunker = spec.build()
    except Exception as exc:
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    me = psutil.Process()
    _give_back_free_memory()
    resting = me.memory_info().rss
    _cap_address_space(memory_bytes)
    conn.send(("ready", None))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if task is None:
            return
        seq, path = task.seq, task.path

        def page_read(news: PageRead, seq: int = seq) -> None:
            # Sent at once: the parent saves it and restarts the file's time budget.
            conn.send(("page", seq, news))

        with ocr_session(ocr, task.known, page_read):
            result = _read_one(read, path, chunker, max_file_bytes)
        resident = me.memory_info().rss
        if resident > resting + _TRIM_ABOVE:
            _give_back_free_memory()
            resident = me.memory_info().rss
        try:
            conn.send(("done", seq, result, resident))
        except (EOFError, OSError):
            return
        except Exception as exc:  # a result that does not pickle: a reader's bug
            conn.send(("done", seq, UnreadableFile(path, SkipReason.CRASHED,
                                                    f"{type(exc).__name__}: {exc}"), resident))


def _exit_with_parent() -> None:
    """End this worker when the parent process ends, even in the middle of a file: a
    killed parent (a crash, SIGKILL) no longer enforces the budget, and a file stuck in
    a reader would otherwise keep an orphan busy for ever."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()  # waits on the parent's sentinel: returns when it is gone
        os._exit(0)

    threading.Thread(target=watch, name="kura-reader-parent-watch", daemon=True).start()


def _read_one(read: Callable[[Path, Chunker, int], FileRead], path: Path, chunker: Chunker,
              max_file_bytes: int) -> ReadResult:
    try:
        return read(path, chunker, max_file_bytes)
    except UnreadableFile as err:
        if isinstance(err.__cause__, MemoryError):
            # parse() words running out of memory as "too large"; here the limit that
            # was hit is this worker's budget, so say that.
            return UnreadableFile(path, SkipReason.TOO_MUCH_MEMORY, err.detail)
        return err
    except MemoryError:
        return UnreadableFile(path, SkipReason.TOO_MUCH_MEMORY, "MemoryError in the reader")
    except Exception as exc:  # parse() words every reader error; this is past it
        return UnreadableFile(path, SkipReason.CRASHED, f"{type(exc).__name__}: {exc}")


def _resolve(reader: str) -> Callable[[Path, Chunker, int], FileRead]:
    module, _, name = reader.partition(":")
    function: Callable[[Path, Chunker, int], FileRead] = getattr(
        importlib.import_module(module), name)
    return function


def _give_back_free_memory() -> None:
    """Return freed heap to the system. glibc keeps it: loading the tokenizer twice (one
    per splitter) leaves a worker at 520 MB resident, 250 MB after this (measured with
    EmbeddingGemma's tokenizer). A no-op where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return  # musl has none
    trim(0)


def _cap_address_space(memory_bytes: int) -> None:
    """Linux only (macOS ignores RLIMIT_AS, Windows has none): past this size an
    allocation fails with MemoryError instead of growing faster than the parent samples.
    Start-up's own mappings (the tokenizer, the libraries' code) are measured, not
    guessed: the cap is what this worker maps now plus twice the budget."""
    if not sys.platform.startswith("linux"):
        return
    import resource

    mapped = psutil.Process().memory_info().vms
    limit = mapped + 2 * memory_bytes
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


# -- the parent side -------------------------------------------------------------------


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    started_at: float  # time.monotonic() when it was started
    ready: bool = False
    probe: psutil.Process | None = None  # for its resident memory, once it is ready
    resting: int = 0  # resident bytes when it became ready
    exitcode: int | None = None  # once stopped
    sent: deque[_Task] = field(default_factory=deque)  # in reading order
    head_since: float = 0.0  # when it began the oldest file in ``sent``, as far as known
    retiring: bool = False  # holds on to too much memory: to be replaced


class ReadPool:
    """Reads files in worker processes under ``budget``; see the module docstring.

    ``submit`` queues a file, ``poll`` collects what is done. Use as a context manager
    or call ``close``. ``reader`` ("module:function") replaces ``read_in_process`` in
    the workers; tests use it to make a worker misbehave.
    """

    def __init__(self, chunker_spec: ChunkerSpec, *, budget: ReadBudget, max_file_bytes: int,
                 workers: int = 1, reader: str = DEFAULT_READER, ocr: bool = True) -> None:
        """``ocr``: whether scanned pages are read by OCR (``ingest/scans.py``)."""
        if workers < 1:
            raise ValueError("a ReadPool needs at least one worker")
        self._spec = chunker_spec
        self._budget = budget
        self._max_file_bytes = max_file_bytes
        self._size = workers
        self._reader = reader
        self._ocr = ocr
        self._context = multiprocessing.get_context("spawn")
        # Shared with the caller's thread, under _lock:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._waiting: deque[_Task] = deque()
        self._results: list[tuple[Path, ReadResult]] = []
        self._pages: list[tuple[Path, PageRead]] = []
        self._in_flight = 0
        self._next_seq = 0
        self._failure: KuraError | None = None
        self._closed = False
        self._wake_pending = False
        # The supervisor's own; no lock needed:
        self._workers: list[_Worker] = []
        self._failed_starts = 0
        self._wake_recv, self._wake_send = self._context.Pipe(duplex=False)
        self._thread = threading.Thread(target=self._supervise, name="kura-read-pool",
                                        daemon=True)
        self._thread.start()

    def __enter__(self) -> ReadPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the caller's side -------------------------------------------------------------

    def submit(self, path: Path, known: KnownPages | None = None) -> None:
        """Queue ``path``; it comes back from ``poll`` once, read or with a reason.
        ``known``: its pages recognised before, by number (OCR skips them)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("this ReadPool is closed")
            self._waiting.append(_Task(self._next_seq, Path(path), dict(known or {})))
            self._next_seq += 1
            self._in_flight += 1
            self._wake_locked()

    def poll(self, timeout: float = 0.0) -> list[tuple[Path, FileRead | UnreadableFile]]:
        """The files finished since the last call, waiting up to ``timeout`` seconds for
        the first one. Raises KuraError if no worker can start at all."""
        with self._changed:
            if not self._results and timeout > 0:
                self._changed.wait_for(
                    lambda: bool(self._results or self._pages) or self._failure is not None
                    or self._closed, timeout)
            if not self._results and self._failure is not None:
                raise self._failure
            done, self._results = self._results, []
            self._in_flight -= len(done)
        return done

    def pages(self) -> list[tuple[Path, PageRead]]:
        """The scanned pages recognised (or reused) since the last call, in order: each
        is news once. ``poll`` also returns early for them."""
        with self._lock:
            done, self._pages = self._pages, []
        return done

    @property
    def in_flight(self) -> int:
        """Submitted but not yet returned by ``poll``."""
        with self._lock:
            return self._in_flight

    def close(self) -> None:
        """Kill the workers (also in the middle of a file) and wait until they are gone.
        Files not returned by ``poll`` yet are dropped."""
        with self._changed:
            if self._closed:
                return
            self._closed = True
            self._wake_locked()
            self._changed.notify_all()
        self._thread.join()
        self._wake_send.close()
        self._wake_recv.close()

    def _wake_locked(self) -> None:
        if not self._wake_pending:
            self._wake_pending = True
            with contextlib.suppress(OSError):
                self._wake_send.send_bytes(b"w")

    # -- the supervising thread --------------------------------------------------------

    def _supervise(self) -> None:
        try:
            while not self._is_closed():
                self._keep_workers()
                self._dispatch()
                # Budgets are checked every tick while a file is being read, start-ups
                # every second; an idle pool sleeps until a message or a submit.
                if any(w.sent for w in self._workers):
                    timeout: float | None = _TICK
                elif not all(w.ready for w in self._workers):
                    timeout = 1.0
                else:
                    timeout = None
                ready = wait([w.conn for w in self._workers] + [self._wake_recv], timeout)
                if self._wake_recv in ready:
                    self._drain_wakes()
                for worker in list(self._workers):
                    if worker.conn in ready:
                        self._receive(worker)
                self._enforce_budgets()
        except Exception as exc:  # a bug here must not leave the caller waiting forever
            _log.exception("the read pool's supervisor failed")
            self._fail(KuraError(f"Kura's file reader stopped: {type(exc).__name__}: {exc}"))
        finally:
            for worker in list(self._workers):
                self._stop(worker)

    def _is_closed(self) -> bool:
        with self._lock:
            return self._closed or self._failure is not None

    def _drain_wakes(self) -> None:
        with self._lock:
            while self._wake_recv.poll():
                self._wake_recv.recv_bytes()
            self._wake_pending = False

    def _keep_workers(self) -> None:
        while len(self._workers) < self._size and not self._is_closed():
            if self._failed_starts >= _START_ATTEMPTS:
                self._fail(KuraError(
                    f"Kura could not start its file reader: the worker process ended "
                    f"{self._failed_starts} times while starting."))
                return
            self._workers.append(self._start_worker())

    def _start_worker(self) -> _Worker:
        parent_end, child_end = self._context.Pipe()
        process = self._context.Process(
            target=_worker_main, name="kura-reader", daemon=True,
            args=(child_end, self._spec, self._max_file_bytes, self._reader,
                  self._budget.memory_bytes, self._ocr))
        process.start()
        child_end.close()  # else the parent never sees EOF when the worker dies
        return _Worker(process=process, conn=parent_end, started_at=time.monotonic())

    def _dispatch(self) -> None:
        for worker in self._workers:
            if not worker.ready:
                continue
            while len(worker.sent) < _AHEAD:
                with self._lock:
                    if not self._waiting:
                        return
                    task = self._waiting.popleft()
                if not worker.sent:
                    worker.head_since = time.monotonic()
                worker.sent.append(task)
                try:
                    worker.conn.send(task)
                except OSError:
                    break  # it died: _receive sees the EOF and hands the task on

    def _receive(self, worker: _Worker) -> None:
        try:
            while worker.conn.poll():
                self._on_message(worker, worker.conn.recv())
        except (EOFError, OSError):
            self._on_death(worker)
            return
        if worker.retiring:
            # Replaced now rather than after the files already sent to it: the next of
            # them may need the headroom. At worst one file is begun again elsewhere.
            self._stop(worker)
            self._requeue(worker)

    def _on_message(self, worker: _Worker, message: tuple[Any, ...]) -> None:
        tag = message[0]
        if tag == "ready":
            worker.ready = True
            worker.probe = psutil.Process(worker.process.pid)
            worker.resting = self._resident(worker)
            self._failed_starts = 0
            if worker.resting >= self._budget.memory_bytes:
                self._fail(KuraError(
                    f"Kura's memory budget for reading a file "
                    f"({self._budget.memory_bytes / 2**20:.0f} MB) is smaller than a "
                    f"reading process at rest ({worker.resting / 2**20:.0f} MB)."))
        elif tag == "failed":
            self._fail(KuraError(f"Kura could not start its file reader: {message[1]}"))
        elif tag == "page":
            _tag, seq, news = message
            head = worker.sent[0]
            assert head.seq == seq, (head.seq, seq)  # only the file being read has pages
            head.known[news.page.page] = news.page
            # The time budget is per page while a scan is read: 80 pages are long, not
            # stuck.
            worker.head_since = time.monotonic()
            with self._changed:
                self._pages.append((head.path, news))
                self._changed.notify_all()
        elif tag == "done":
            _tag, seq, result, resident = message
            head = worker.sent.popleft()
            path = head.path
            assert head.seq == seq, (head.seq, seq)  # a worker reads in order
            worker.head_since = time.monotonic()
            self._deliver(path, result)
            # Measured by the worker between two files, after giving back what it could.
            headroom = self._budget.memory_bytes - worker.resting
            if resident - worker.resting > _RETIRE_AT * headroom:
                # Freed memory is not always given back to the system: its next file
                # would start with little of the budget left.
                worker.retiring = True

    def _enforce_budgets(self) -> None:
        now = time.monotonic()
        for worker in list(self._workers):
            if worker.process.exitcode is not None:
                self._receive(worker)  # its last answers, then the EOF
                if worker in self._workers:
                    self._on_death(worker)
                continue
            if not worker.ready:
                if now - worker.started_at > _START_SECONDS:
                    self._on_death(worker)  # counted as a failed start
                continue
            if not worker.sent:
                continue
            elapsed = now - worker.head_since
            if elapsed > self._budget.seconds:
                self._kill(worker, SkipReason.TOO_SLOW,
                           f"still reading after {elapsed:.0f} s "
                           f"(budget {self._budget.seconds:.0f} s)")
                continue
            resident = self._resident(worker)
            if resident > self._budget.memory_bytes:
                self._kill(worker, SkipReason.TOO_MUCH_MEMORY,
                           f"{resident / 2**20:.0f} MB resident "
                           f"(budget {self._budget.memory_bytes / 2**20:.0f} MB)")

    def _resident(self, worker: _Worker) -> int:
        if worker.probe is None:
            return 0
        try:
            return int(worker.probe.memory_info().rss)
        except psutil.Error:
            return 0  # gone: the exit code or the EOF says so next

    def _kill(self, worker: _Worker, reason: SkipReason, detail: str) -> None:
        """Kill ``worker`` for overrunning the budget on the file it is reading."""
        culprit = worker.sent[0]
        self._stop(worker)
        # It may have finished that file between the check and the kill: its answer
        # then stands, and nothing is blamed.
        if worker.sent and worker.sent[0] is culprit:
            worker.sent.popleft()
            _log.warning("skipped %s: %s", culprit.path, detail)
            self._deliver(culprit.path, UnreadableFile(culprit.path, reason, detail))
        self._requeue(worker)

    def _on_death(self, worker: _Worker) -> None:
        """``worker`` ended by itself: a crash in a native library, or the system's
        out-of-memory killer. The file it was reading is the likely cause."""
        self._stop(worker)
        how = _exit_description(worker.exitcode)
        if not worker.ready:
            self._failed_starts += 1
            _log.warning("a reading worker ended while starting (%s)", how)
        elif worker.sent:
            path = worker.sent.popleft().path
            _log.warning("skipped %s: the reading worker died (%s)", path, how)
            self._deliver(path, UnreadableFile(path, SkipReason.CRASHED,
                                               f"the reading process died ({how})"))
        self._requeue(worker)

    def _stop(self, worker: _Worker) -> None:
        """Kill and reap ``worker``, keeping the answers it had already sent."""
        if worker not in self._workers:
            return
        self._workers.remove(worker)
        with contextlib.suppress(ValueError, OSError):
            worker.process.kill()
        worker.process.join(_REAP_SECONDS)
        worker.exitcode = worker.process.exitcode
        try:
            while worker.conn.poll():
                message = worker.conn.recv()
                if message[0] in ("done", "page"):
                    self._on_message(worker, message)
        except (EOFError, OSError):
            pass
        worker.conn.close()
        with contextlib.suppress(ValueError):
            worker.process.close()  # only fails if it is somehow still running

    def _requeue(self, worker: _Worker) -> None:
        """Files sent to a dead worker but not begun go first to its successor."""
        with self._lock:
            self._waiting.extendleft(reversed(worker.sent))
        worker.sent.clear()

    def _deliver(self, path: Path, result: ReadResult) -> None:
        with self._changed:
            self._results.append((path, result))
            self._changed.notify_all()

    def _fail(self, failure: KuraError) -> None:
        with self._changed:
            if self._failure is None:
                self._failure = failure
            self._changed.notify_all()


def _exit_description(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"
