"""One writer per library: the inter-process lock and what it says about its holder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.core.errors import KuraError
from desktop_app.core.library_lock import HOLDER_NAME, LibraryBusy, LibraryLock

HOLD_IN_CHILD = """
import sys
from desktop_app.core.library_lock import LibraryLock
lock = LibraryLock(sys.argv[1], "kura add")
lock.acquire()
print("held", flush=True)
sys.stdin.read()  # until the parent closes our stdin (or kills us)
lock.release()
print("released", flush=True)
"""


@pytest.fixture
def child_holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process that holds the library's lock as "kura add"."""
    child = subprocess.Popen([sys.executable, "-c", HOLD_IN_CHILD, str(tmp_path)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    yield child
    child.kill()
    child.wait(10)


def test_another_process_holds_it_and_is_named(tmp_path: Path,
                                                child_holder: subprocess.Popen[str]) -> None:
    lock = LibraryLock(tmp_path, "kura sync")
    with pytest.raises(LibraryBusy) as busy:
        lock.acquire(wait=False)
    assert busy.value.holder.startswith(f"kura add (pid {child_holder.pid}) since ")
    assert isinstance(busy.value, KuraError) and busy.value.holder in str(busy.value)
    assert lock.holder() == busy.value.holder and not lock.held
    # The holder lets go: the waiter gets in, and says so in the holder file.
    assert child_holder.stdin is not None
    child_holder.stdin.close()
    lock.acquire(poll=0.05)
    assert lock.held
    assert json.loads((tmp_path / HOLDER_NAME).read_text())["pid"] == os.getpid()
    lock.release()
    assert lock.holder() is None and not (tmp_path / HOLDER_NAME).exists()


def test_a_killed_holder_never_blocks_the_library(tmp_path: Path,
                                                  child_holder: subprocess.Popen[str]) -> None:
    os.kill(child_holder.pid, signal.SIGKILL)
    child_holder.wait(10)
    # Its holder file is still there, naming a process that is gone: not believed.
    assert json.loads((tmp_path / HOLDER_NAME).read_text())["pid"] == child_holder.pid
    lock = LibraryLock(tmp_path, "kura add")
    assert lock.holder() is None
    lock.acquire(wait=False)  # the kernel released the OS lock when the holder died
    assert lock.holder() is not None and f"(pid {os.getpid()})" in (lock.holder() or "")
    lock.release()


def test_a_holder_file_of_a_reused_pid_is_not_believed(tmp_path: Path) -> None:
    # Our own pid, but a process start time that is not ours: a pid the system reused.
    (tmp_path / HOLDER_NAME).write_text(json.dumps(
        {"pid": os.getpid(), "purpose": "kura add", "since": 0.0, "started": 12.0}))
    lock = LibraryLock(tmp_path, "kura sync")
    assert lock.holder() is None
    lock.acquire(wait=False)
    lock.release()


def test_a_waiter_is_told_once_who_holds_it_then_gets_it(tmp_path: Path) -> None:
    first = LibraryLock(tmp_path, "Kura window")
    first.acquire()
    told: list[str] = []
    got_it = threading.Event()
    second = LibraryLock(tmp_path, "kura add")

    def wait_for_it() -> None:
        second.acquire(on_wait=told.append, poll=0.02)
        got_it.set()

    waiter = threading.Thread(target=wait_for_it, daemon=True)
    waiter.start()
    assert not got_it.wait(0.3)  # still waiting
    assert len(told) == 1 and told[0].startswith(f"Kura window (pid {os.getpid()}) since ")
    first.release()
    assert got_it.wait(10) and second.held and len(told) == 1
    assert second.holder() is not None and (second.holder() or "").startswith("kura add")
    second.release()


def test_taken_on_one_thread_released_on_another(tmp_path: Path) -> None:
    lock = LibraryLock(tmp_path, "Kura window")
    taker = threading.Thread(target=lock.acquire)
    taker.start()
    taker.join()
    lock.release()  # on this thread: the window opens on a worker, closes on the GUI
    with LibraryLock(tmp_path, "kura add") as other:
        assert other.held


def test_two_locks_in_one_process_exclude_each_other_as_processes_do(tmp_path: Path
                                                                     ) -> None:
    window = LibraryLock(tmp_path, "Kura window")
    window.acquire()
    with pytest.raises(LibraryBusy, match="Kura window"):
        LibraryLock(tmp_path, "kura add").acquire(wait=False)
    with pytest.raises(LibraryBusy, match="Kura window"):
        _other_process_tries(tmp_path)
    window.release()
    _other_process_tries(tmp_path)  # free again


def _other_process_tries(home: Path) -> None:
    """Another process that tries the lock at once; raises LibraryBusy if it was held."""
    code = ("import sys\nfrom desktop_app.core.library_lock import LibraryLock, LibraryBusy\n"
            "try:\n    LibraryLock(sys.argv[1], 'kura sync').acquire(wait=False)\n"
            "except LibraryBusy as e:\n    print(e.holder); sys.exit(3)\n")
    done = subprocess.run([sys.executable, "-c", code, str(home)], capture_output=True,
                          text=True, timeout=60)
    if done.returncode == 3:
        raise LibraryBusy(done.stdout.strip())
    assert done.returncode == 0, done.stderr


def test_the_lock_is_reentrant_for_its_holder_and_release_is_idempotent(tmp_path: Path
                                                                          ) -> None:
    lock = LibraryLock(tmp_path, "kura add")
    lock.acquire()
    lock.acquire(wait=False)
    lock.release()
    lock.release()
    assert not lock.held and lock.holder() is None
