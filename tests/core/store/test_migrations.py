from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from desktop_app.core.store import Database, SchemaTooNewError
from desktop_app.core.store import meta as meta_keys
from desktop_app.core.store.migrations import MIGRATIONS, migrate, schema_version
from desktop_app.core.store.shingles import sample, shingle_hashes
from tests.support.store import chunks

V1_FIELDS = ("id", "collection_id", "path", "size", "mtime_ns", "content_hash", "kind", "title",
             "status", "skip_reason", "skip_message", "updated_at")
TABLES = {"collections", "collection_folders", "documents", "chunks", "vectors", "chunk_fts",
          "meta", "chunk_shingles"}


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


def test_a_v1_library_keeps_its_rows_and_gets_read_and_embedded_times(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, MIGRATIONS[:1]) == 1  # a library as Kura 0.1 left it
    conn.execute("INSERT INTO collections(id, name, created_at) VALUES (1, 'Work', 1.0)")
    conn.execute("INSERT INTO collection_folders(collection_id, path) VALUES (1, '/w')")
    v1_rows = [
        (1, 1, "/w/read.txt", 10, 11, "h1", "txt", "Read", "parsed", None, None, 100.0),
        (2, 1, "/w/done.md", 20, 21, "h2", "markdown", "Done", "embedded", None, None, 200.0),
        (3, 1, "/w/bad.pdf", 30, 31, None, None, None, "skipped", "corrupt", "Damaged.", 300.0),
    ]
    conn.executemany("INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", v1_rows)
    conn.execute("INSERT INTO chunks(document_id, ordinal, text, embed_key) "
                 "VALUES (1, 0, 'alpha', 'k1'), (2, 0, 'beta', 'k2'), (2, 1, 'gamma', 'k3')")
    conn.close()

    with Database(path) as db:
        assert db.schema_version == len(MIGRATIONS)
        docs = db.documents()
        # Every v1 column is as it was; the two new ones come from updated_at.
        assert sorted(tuple(getattr(d, f) for f in V1_FIELDS) for d in docs) == v1_rows
        assert {d.path: (d.read_at, d.embedded_at) for d in docs} == {
            "/w/read.txt": (100.0, None), "/w/done.md": (200.0, 200.0),
            "/w/bad.pdf": (300.0, None)}
        assert [(d.relative_path, d.state, d.chunks) for d in db.document_infos()] == [
            ("bad.pdf", "skipped", 0), ("done.md", "embedded", 2), ("read.txt", "parsed", 1)]
        assert len(db.keyword_search("gamma", 5)) == 1  # the keyword index was rebuilt too


def test_a_v2_library_gets_shingles_for_the_chunks_that_own_a_vector(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, MIGRATIONS[:2]) == 2  # a library as Kura 0.2 left it
    conn.execute("INSERT INTO collections(id, name, created_at) VALUES (1, 'Work', 1.0)")
    conn.execute(
        "INSERT INTO documents(id, collection_id, path, size, mtime_ns, content_hash, status, "
        "updated_at, read_at) VALUES (1, 1, '/w/a.txt', 1, 1, 'h', 'parsed', 1.0, 1.0), "
        "(2, 1, '/w/b.txt', 1, 1, 'h', 'parsed', 1.0, 1.0)"
    )
    text = "A passage long enough to have several sampled shingles, " * 20
    conn.execute("INSERT INTO chunks(id, document_id, ordinal, text, embed_key) VALUES "
                 "(1, 1, 0, ?, 'k1'), (2, 2, 0, ?, 'k1'), (3, 2, 1, 'short', 'k2')",
                 (text, text))
    conn.close()

    with Database(path) as db:
        assert db.schema_version == len(MIGRATIONS)
        assert [d.path for d in db.documents()] == ["/w/a.txt", "/w/b.txt"]
        # Chunk 2 shares chunk 1's vector; chunk 3 is shorter than a sample's spacing.
        assert db.fingerprinted_chunks() == {1}
        assert db.shingle_rows() == len(sample(shingle_hashes(text)))
        db.delete_document(1)
        assert db.shingle_rows() == 0  # rows go with their chunk
