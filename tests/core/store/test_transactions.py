from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from desktop_app.core.store import Database
from tests.support.store import chunks


def test_an_exception_rolls_back_everything(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction():
        db.create_collection("A")
        db.create_collection("B")
        raise RuntimeError("boom")
    assert db.list_collections() == []


def test_nested_transactions_are_savepoints(db: Database) -> None:
    with db.transaction():
        db.create_collection("outer")
        try:
            with db.transaction():
                db.create_collection("inner")
                raise ValueError("inner fails")
        except ValueError:
            pass
        db.create_collection("after")
    assert sorted(c.name for c in db.list_collections()) == ["after", "outer"]


def test_readers_see_only_committed_rows_but_the_writer_sees_its_own(db: Database) -> None:
    seen_by_other: list[int] = []
    with db.transaction():
        db.create_collection("pending")
        assert [c.name for c in db.list_collections()] == ["pending"]  # own write
        t = threading.Thread(target=lambda: seen_by_other.append(len(db.list_collections())))
        t.start()
        t.join()  # a reader is not blocked by the open write transaction (WAL)
    assert seen_by_other == [0]
    assert len(db.list_collections()) == 1


def test_writers_on_many_threads_are_serialized(db: Database) -> None:
    cid = db.create_collection("Docs")
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(15):
                texts = [f"w{worker} d{i} c{j}" for j in range(4)]
                db.replace_document(cid, f"/d/{worker}-{i}", 1, i, "h", "txt", None,
                                    chunks(*texts))
                db.list_collections()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(db.documents(cid)) == 60
    assert db.status().chunks == 240


def test_a_second_connection_waits_instead_of_failing(tmp_path: Path) -> None:
    # Two Database objects on one file stand in for the GUI and the CLI.
    path = tmp_path / "library.db"
    with Database(path) as a, Database(path) as b:
        done = threading.Event()

        def other() -> None:
            b.create_collection("from b")  # waits on busy_timeout for a's lock
            done.set()

        with a.transaction():
            a.create_collection("from a")
            t = threading.Thread(target=other)
            t.start()
            assert not done.wait(0.3)
        t.join(5)
        assert done.is_set()
        assert sorted(c.name for c in a.list_collections()) == ["from a", "from b"]


def test_a_closed_database_refuses_work(tmp_path: Path) -> None:
    db = Database(tmp_path / "library.db")
    db.close()
    db.close()  # harmless twice
    with pytest.raises(sqlite3.ProgrammingError):
        db.create_collection("x")
