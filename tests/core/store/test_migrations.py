from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from desktop_app.core.store import Database, SchemaTooNewError
from desktop_app.core.store import meta as meta_keys
from desktop_app.core.store.migrations import MIGRATIONS, migrate, schema_version
from tests.core.store.helpers import chunks

TABLES = {"collections", "collection_folders", "documents", "chunks", "vectors", "chunk_fts",
          "meta"}


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_new_database_gets_the_latest_schema(tmp_path: Path) -> None:
    path = tmp_path / "new" / "library.db"  # the folder is created too
    with Database(path) as db:
        assert db.schema_version == len(MIGRATIONS)
        with db.reading() as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
            assert conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    assert _tables(path) >= TABLES


def test_reopening_is_idempotent_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    with Database(path) as db:
        cid = db.create_collection("Work")
        db.replace_document(cid, "/w/a.txt", 1, 1, "h", "txt", "A", chunks("alpha beta"))
    for _ in range(2):
        with Database(path) as db:
            assert db.schema_version == len(MIGRATIONS)
            assert [c.name for c in db.list_collections()] == ["Work"]
            assert len(db.keyword_search("alpha", 5)) == 1
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn) == 0  # nothing left to do
    conn.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    Database(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(SchemaTooNewError, match="newer version of Kura"):
        Database(path)


def test_a_failing_migration_leaves_the_previous_version(tmp_path: Path) -> None:
    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("migration bug")

    conn = sqlite3.connect(tmp_path / "library.db", isolation_level=None)
    with pytest.raises(RuntimeError, match="migration bug"):
        migrate(conn, [*MIGRATIONS, broken])
    assert schema_version(conn) == len(MIGRATIONS)  # v1 committed on its own
    assert conn.execute("SELECT name FROM sqlite_master WHERE name='half_done'").fetchone() is None
    assert not conn.in_transaction
    conn.close()


def test_fts_rows_are_rebuilt_when_the_segmenter_changes(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    with Database(path) as db:
        cid = db.create_collection("Work")
        db.replace_document(cid, "/w/a.txt", 1, 1, "h", "txt", "A", chunks("重置密码的方法"))
        with db.transaction() as conn:  # pretend an older segmenter made the rows
            conn.execute("DELETE FROM chunk_fts")
            conn.execute("UPDATE meta SET value = '0' WHERE key = ?", (meta_keys.FTS_SEGMENTER,))
        assert db.keyword_search("密码", 5) == []
    with Database(path) as db:
        assert len(db.keyword_search("密码", 5)) == 1
