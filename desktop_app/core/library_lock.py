"""One writer per library: ``LibraryLock``, taken by whatever writes a data dir.

Two processes writing one library (the window and a ``kura add`` in a terminal, or the
app opened twice) would each keep their own hnswlib index and save over the other's. So
every writer -- the window for its whole life, a CLI command that changes the library for
its run -- holds this lock; reads (``kura search``, ``kura status``) never take it.

The lock is an OS lock through ``filelock`` (``flock`` on Unix, a locked handle on
Windows) on ``<home>/library.lock``, used the same way by the window and the CLI: Qt's
``QLockFile`` and a bare ``flock`` do not see each other's locks, one library on both
sides does. The kernel drops the lock when its process dies however it dies, so a crash
never leaves the library locked. Beside it, ``library.lock.json`` says who holds it (pid,
purpose, since) so a waiting command can name it; that file is informative only: one
left by a dead process names nobody (its pid is gone, or is now another program's).

Inside one process two ``LibraryLock`` objects for one library exclude each other as two
processes do (the OS lock belongs to an open file, not to a process).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import psutil
from filelock import FileLock, Timeout

from desktop_app.core.errors import KuraError
from desktop_app.core.fileio import write_atomically

LOCK_NAME = "library.lock"
HOLDER_NAME = "library.lock.json"
UNKNOWN_HOLDER = "another Kura process"
_START_TOLERANCE_S = 1.0  # process start times read twice may differ by rounding


class LibraryBusy(KuraError):
    """Another process writes this library, and the caller chose not to wait."""

    def __init__(self, holder: str) -> None:
        super().__init__(f"{holder} is using this library; try again when it has finished")
        self.holder = holder


@dataclass(frozen=True)
class Holder:
    pid: int
    purpose: str
    since: float  # time.time() when it took the lock
    started: float | None  # the process's start time: tells a reused pid from the holder

    def describe(self) -> str:
        """'kura add (pid 1234) since 14:02'."""
        taken = datetime.fromtimestamp(self.since)
        same_day = taken.date() == datetime.now().date()
        when = taken.strftime("%H:%M" if same_day else "%Y-%m-%d %H:%M")
        return f"{self.purpose} (pid {self.pid}) since {when}"

    def alive(self) -> bool:
        try:
            process = psutil.Process(self.pid)
            started = process.create_time()
        except psutil.NoSuchProcess:
            return False
        except psutil.Error:
            return True  # it exists, we may not look at it: believe the file
        return self.started is None or abs(started - self.started) <= _START_TOLERANCE_S


def _process_start() -> float | None:
    try:
        return psutil.Process(os.getpid()).create_time()
    except psutil.Error:
        return None


def read_holder(home: Path) -> Holder | None:
    """What the holder file says, or None if it is missing or unreadable."""
    try:
        raw = json.loads((Path(home) / HOLDER_NAME).read_text(encoding="utf-8"))
        holder = Holder(pid=int(raw["pid"]), purpose=str(raw["purpose"]),
                        since=float(raw["since"]),
                        started=None if raw.get("started") is None else float(raw["started"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return holder


class LibraryLock:
    def __init__(self, home: Path, purpose: str) -> None:
        """``purpose`` names the writer for whoever waits: "Kura window", "kura add"."""
        self.home = Path(home)
        self.purpose = purpose
        self.path = self.home / LOCK_NAME
        # thread_local=False: the window takes it on one worker thread and may release
        # it on another.
        self._file_lock = FileLock(str(self.path), thread_local=False)
        self._state = threading.Lock()
        self._held = False
        self._me: Holder | None = None

    @property
    def held(self) -> bool:
        return self._held

    def acquire(self, wait: bool = True, on_wait: Callable[[str], None] | None = None,
                poll: float = 0.5) -> None:
        """Take the lock; already held by this object: nothing to do. If another holds
        it: ``wait=False`` raises ``LibraryBusy`` at once; otherwise ``on_wait(holder)``
        is called once and this waits, checking every ``poll`` seconds (Ctrl+C, i.e.
        KeyboardInterrupt, ends the wait)."""
        with self._state:
            if self._held:
                return
            self.home.mkdir(parents=True, exist_ok=True)
            if not self._try(0):
                holder = self.holder() or UNKNOWN_HOLDER
                if not wait:
                    raise LibraryBusy(holder)
                if on_wait is not None:
                    on_wait(holder)
                while not self._try(poll):
                    pass
            self._held = True
            self._me = Holder(os.getpid(), self.purpose, time.time(), _process_start())
            # Only informative: the lock itself is what excludes others.
            with suppress(OSError):
                write_atomically(self.home / HOLDER_NAME,
                                 json.dumps(asdict(self._me)).encode("utf-8"))

    def _try(self, timeout: float) -> bool:
        try:
            self._file_lock.acquire(timeout=timeout, poll_interval=min(0.05, timeout or 0.05))
        except Timeout:
            return False
        return True

    def release(self) -> None:
        """Let the next writer in (nothing when not held)."""
        with self._state:
            if not self._held:
                return
            self._held = False
            self._me = None
            # The holder file goes first, so it never names us while the next holds it.
            with suppress(OSError):
                (self.home / HOLDER_NAME).unlink(missing_ok=True)
            self._file_lock.release(force=True)

    def holder(self) -> str | None:
        """Who holds the lock now ("kura add (pid 1234) since 14:02"), None when free.
        Read from the holder file, so it also answers while another process holds it;
        a file left by a dead process is not believed."""
        mine = self._me
        if self._held and mine is not None:
            return mine.describe()
        found = read_holder(self.home)
        return found.describe() if found is not None and found.alive() else None

    def __enter__(self) -> LibraryLock:
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()

