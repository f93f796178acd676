"""One writer per library, from the command line: a command that changes the library
waits for the lock and says who holds it; one that reads never waits and writes nothing."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

from click.testing import CliRunner

from desktop_app.cli import cli
from desktop_app.core.library import Library
from desktop_app.core.library_lock import LibraryLock
from desktop_app.core.paths import data_dir
from desktop_app.core.store import Database
from tests.support.samples import CORP_KB
from tests.support.store import chunks, embed_pending

WAITING = r"Waiting for Kura window \(pid {pid}\) since \d\d:\d\d to finish with this library…"


def _kura(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "desktop_app.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_write_waits_for_the_holder_and_says_who(closed_libraries: list[Library]) -> None:
    window = LibraryLock(data_dir(), "Kura window")
    window.acquire()
    released = threading.Event()

    def let_go() -> None:
        released.set()
        window.release()

    timer = threading.Timer(0.5, let_go)
    timer.start()
    result = CliRunner().invoke(cli, ["remove", "/nowhere/at/all"])
    timer.join()
    first, *rest = result.stderr.splitlines()
    assert re.fullmatch(WAITING.format(pid=os.getpid()), first), first
    assert released.is_set() and len(closed_libraries) == 1  # it got in once let in
    assert result.exit_code == 2 and "is not in the library" in rest[-1]


def test_a_read_never_waits_and_writes_no_index(closed_libraries: list[Library]) -> None:
    home = data_dir()
    with Database(home / "library.sqlite3") as db:
        docs = db.create_collection("Docs")
        db.replace_document(docs, "/docs/a.txt", 1, 1, "h", "txt", None,
                            chunks("one", "two", "three"))
        embed_pending(db)
    window = LibraryLock(home, "Kura window")
    window.acquire()
    try:
        result = CliRunner().invoke(cli, ["status", "--json"])
    finally:
        window.release()
    assert result.exit_code == 0, result.stderr
    assert "Waiting" not in result.stderr
    assert json.loads(result.stdout)["index"]["entries"] == 3  # rebuilt, in memory only
    assert not (home / "index").exists()
    assert [library.writer for library in closed_libraries] == [False]


def test_ctrl_c_while_waiting_stops_the_command_and_leaves_the_holder_alone(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    window = LibraryLock(home, "Kura window")
    window.acquire()
    waiting = _kura("sync", env=dict(os.environ, KURA_HOME=str(home)))
    assert waiting.stderr is not None
    line = waiting.stderr.readline().rstrip("\n")
    assert re.fullmatch(WAITING.format(pid=os.getpid()), line), line
    waiting.send_signal(signal.SIGINT)
    _, rest = waiting.communicate(timeout=60)
    assert waiting.returncode == 130, rest
    assert "Stopped" in rest
    assert window.held and (window.holder() or "").startswith("Kura window")
    window.release()


def test_search_beside_a_writer_and_add_after_it(cli_env: dict[str, str],
                                                 tmp_path: Path) -> None:
    """The window holds the library: ``kura search`` answers at once from the saved index
    and changes no file; ``kura add`` waits until the window lets go, then runs."""
    home = tmp_path / "home"
    env = dict(cli_env, KURA_HOME=str(home))
    added = _kura("add", str(CORP_KB / "IT 与安全"), env=env)
    assert added.wait(300) == 0
    index_dir = home / "index"
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in index_dir.iterdir()}

    window = LibraryLock(home, "Kura window")
    window.acquire()
    try:
        found = _kura("search", "如何重置密码?", "--json", env=env)
        out, err = found.communicate(timeout=300)
        assert found.returncode == 0, err
        assert "Waiting" not in err
        assert json.loads(out)["results"][0]["path"].endswith("账户密码管理.md")
        assert {p.name: (p.stat().st_mtime_ns, p.read_bytes())
                for p in index_dir.iterdir()} == before

        adding = _kura("add", str(CORP_KB / "财务与报销"), env=env)
        assert adding.stderr is not None
        line = adding.stderr.readline().rstrip("\n")
        assert re.fullmatch(WAITING.format(pid=os.getpid()), line), line
        assert adding.poll() is None  # still waiting
    finally:
        window.release()
    _, err = adding.communicate(timeout=300)
    assert adding.returncode == 0, err
