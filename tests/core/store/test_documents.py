from __future__ import annotations

import os

import pytest

from desktop_app.core.store import Database, NewChunk, documents_repo, vectors_repo
from tests.support.store import chunks, embed_pending, key


def _fts_rows(db: Database) -> dict[int, str]:
    with db.reading() as conn:
        return dict(conn.execute("SELECT rowid, text FROM chunk_fts").fetchall())


def _snapshot(db: Database) -> tuple[object, ...]:
    with db.reading() as conn:
        return tuple(
            conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
            for t in ("documents", "chunks", "vectors", "chunk_fts")
        )


def test_replace_document_replaces_chunks_and_fts_rows(db: Database, coll: int) -> None:
    doc = db.replace_document(coll, "/d/a.txt", 10, 1, "h1", "txt", "Old",
                              chunks("apple pie recipe", "banana bread"))
    first = db.chunks_of_document(doc)
    assert [c.ordinal for c in first] == [0, 1]
    assert len(db.keyword_search("apple", 5)) == 1

    again = db.replace_document(coll, "/d/a.txt", 12, 2, "h2", "md", "New",
                                chunks("cherry tart", "date loaf", "elderberry wine"))
    assert again == doc  # same row, same id
    now = db.chunks_of_document(doc)
    assert [c.text for c in now] == ["cherry tart", "date loaf", "elderberry wine"]
    assert [c.ordinal for c in now] == [0, 1, 2]
    assert not {c.id for c in first} & {c.id for c in now}  # ids are never reused
    assert db.keyword_search("apple", 5) == [] and db.keyword_search("banana", 5) == []
    assert [cid for cid, _ in db.keyword_search("date", 5)] == [now[1].id]
    assert set(_fts_rows(db)) == {c.id for c in now}
    stored = db.get_document(coll, "/d/a.txt")
    assert stored is not None
    assert (stored.size, stored.mtime_ns, stored.content_hash, stored.kind, stored.title,
            stored.status) == (12, 2, "h2", "md", "New", "parsed")


def test_failure_inside_the_transaction_changes_nothing(db: Database, coll: int) -> None:
    db.replace_document(coll, "/d/a.txt", 10, 1, "h1", "txt", "Old", chunks("apple", "banana"))
    embed_pending(db)
    before = _snapshot(db)
    with pytest.raises(RuntimeError, match="crash"), db.transaction():
        db.replace_document(coll, "/d/a.txt", 11, 2, "h2", "txt", "New", chunks("cherry"))
        db.delete_orphan_vectors()
        assert len(db.keyword_search("cherry", 5)) == 1  # visible inside...
        raise RuntimeError("crash")
    assert _snapshot(db) == before  # ...and gone after the rollback
    assert len(db.keyword_search("apple", 5)) == 1
    assert db.keyword_search("cherry", 5) == []


def test_a_bad_chunk_midway_rolls_back_the_whole_document(db: Database, coll: int) -> None:
    db.replace_document(coll, "/d/a.txt", 10, 1, "h1", "txt", "Old", chunks("apple", "banana"))
    before = _snapshot(db)
    bad = [*chunks("cherry", "date"), NewChunk(text=None, embed_key="k")]  # type: ignore[arg-type]
    with pytest.raises(Exception, match="NOT NULL"):
        db.replace_document(coll, "/d/a.txt", 11, 2, "h2", "txt", "New", bad)
    assert _snapshot(db) == before


def test_status_is_embedded_at_once_when_every_vector_exists(db: Database, coll: int) -> None:
    db.replace_document(coll, "/d/a.txt", 1, 1, "h", "txt", None, chunks("one", "two"))
    embed_pending(db)
    copy = db.replace_document(coll, "/d/copy.txt", 1, 1, "h", "txt", None, chunks("two", "one"))
    assert db.get_document_by_id(copy).status == "embedded"  # type: ignore[union-attr]
    part = db.replace_document(coll, "/d/part.txt", 1, 1, "h", "txt", None,
                               chunks("one", "three"))
    assert db.get_document_by_id(part).status == "parsed"  # type: ignore[union-attr]
    empty = db.replace_document(coll, "/d/empty.txt", 0, 1, "h0", "txt", None, [])
    assert db.get_document_by_id(empty).status == "embedded"  # type: ignore[union-attr]


def test_skipped_documents(db: Database, coll: int) -> None:
    doc = db.replace_document(coll, "/d/a.pdf", 1, 1, "h", "pdf", "A", chunks("secret plans"))
    assert db.upsert_skipped(coll, "/d/a.pdf", 2, 2, "encrypted", "needs a password") == doc
    skipped = db.get_document(coll, "/d/a.pdf")
    assert skipped is not None
    assert (skipped.status, skipped.skip_reason, skipped.content_hash) == (
        "skipped", "encrypted", None)
    assert db.chunks_of_document(doc) == [] and db.keyword_search("secret", 5) == []
    with pytest.raises(ValueError):
        db.upsert_skipped(coll, "/d/b.pdf", 1, 1, "", None)
    status = db.status()
    assert [(s.path, s.reason, s.message) for s in status.skipped] == [
        ("/d/a.pdf", "encrypted", "needs a password")]
    # Parsed again later (e.g. the password was removed): the skip reason goes away.
    db.replace_document(coll, "/d/a.pdf", 3, 3, "h3", "pdf", "A", chunks("plans"))
    assert db.get_document(coll, "/d/a.pdf").skip_reason is None  # type: ignore[union-attr]


def test_touch_keeps_chunks(db: Database, coll: int) -> None:
    doc = db.replace_document(coll, "/d/a.txt", 1, 1, "h", "txt", None, chunks("kept"))
    assert db.touch_document(doc, 5, 99)
    assert not db.touch_document(doc + 1000, 5, 99)
    stored = db.get_document_by_id(doc)
    assert stored is not None and (stored.size, stored.mtime_ns) == (5, 99)
    assert [c.text for c in db.chunks_of_document(doc)] == ["kept"]


def test_documents_filters(db: Database, coll: int) -> None:
    other = db.create_collection("Other")
    db.replace_document(coll, "/d/b.txt", 1, 1, "h", "txt", None, chunks("b"))
    db.replace_document(coll, "/d/a.txt", 1, 1, "h", "txt", None, chunks("a"))
    db.upsert_skipped(other, "/o/c.bin", 1, 1, "unsupported", None)
    assert [d.path for d in db.documents(coll)] == ["/d/a.txt", "/d/b.txt"]
    assert [d.path for d in db.documents(status="skipped")] == ["/o/c.bin"]
    assert len(db.documents()) == 3
    with pytest.raises(ValueError):
        db.documents(status="bogus")  # type: ignore[arg-type]


def test_delete_document_and_delete_missing(db: Database, coll: int) -> None:
    folder = os.sep + "d"
    paths = [os.path.join(folder, n) for n in ("a.txt", "b.txt", "c.txt")]
    outside = os.sep + "d-other" + os.sep + "x.txt"  # shares the prefix "/d" only
    ids = [db.replace_document(coll, path, 1, 1, "h", "txt", None, chunks(path))
           for path in [*paths, outside]]
    assert db.delete_document(ids[0])
    assert not db.delete_document(ids[0])
    assert db.delete_missing(coll, folder, [paths[2]]) == [paths[1]]
    assert {d.path for d in db.documents(coll)} == {paths[2], outside}
    assert set(_fts_rows(db).values()) == {paths[2], outside}  # segment() leaves paths as-is
    assert key(paths[1]) not in {c.embed_key for d in db.documents(coll)
                                 for c in db.chunks_of_document(d.id)}


def test_read_and_embedded_times(db: Database, coll: int,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(documents_repo, "now", lambda: clock[0])
    monkeypatch.setattr(vectors_repo, "now", lambda: clock[0])

    def times(doc_id: int) -> tuple[str, float | None, float | None]:
        stored = db.get_document_by_id(doc_id)
        assert stored is not None
        return stored.status, stored.read_at, stored.embedded_at

    doc = db.replace_document(coll, "/d/a.txt", 1, 1, "h", "txt", None, chunks("x", "y"))
    assert times(doc) == ("parsed", 100.0, None)  # read, not embedded yet
    clock[0] = 200.0
    embed_pending(db)
    assert times(doc) == ("embedded", 100.0, 200.0)
    clock[0] = 300.0
    db.touch_document(doc, 2, 2)  # hashed again, same content: still embedded since 200
    assert times(doc) == ("embedded", 300.0, 200.0)
    clock[0] = 400.0
    db.replace_document(coll, "/d/a.txt", 3, 3, "h2", "txt", None, chunks("z"))
    assert times(doc) == ("parsed", 400.0, None)  # changed: its old embedding time is gone
    copy = db.replace_document(coll, "/d/copy.txt", 1, 1, "h", "txt", None, chunks("y", "x"))
    assert times(copy) == ("embedded", 400.0, 400.0)  # every vector already existed
    clock[0] = 500.0
    db.reset_vectors()
    assert times(copy) == ("parsed", 400.0, None)
    db.upsert_skipped(coll, "/d/copy.txt", 1, 2, "empty", "no text")
    assert times(copy) == ("skipped", 500.0, None)


def test_document_infos_have_collection_state_passages_and_folder(db: Database) -> None:
    work, single = db.create_collection("Work"), db.create_collection("A single file")
    for folder in ("/w", "/w/deep"):
        db.add_folder(work, folder)
    db.add_folder(single, "/s/report.pdf")
    db.replace_document(work, "/w/deep/b.txt", 1, 1, "h", "txt", None, chunks("b1", "b2", "b3"))
    db.replace_document(work, "/w/a.txt", 1, 1, "h", "txt", None, chunks("a1"))
    embed_pending(db)
    db.replace_document(work, "/w/c.txt", 1, 1, "h", "txt", None, chunks("c1", "c2"))
    db.upsert_skipped(work, "/w/bad.docx", 1, 1, "corrupt", "The file is damaged.")
    db.replace_document(work, "/elsewhere/d.txt", 1, 1, "h", "txt", None, chunks("d1"))
    db.replace_document(single, "/s/report.pdf", 1, 1, "h", "pdf", None, chunks("r1"))

    rows = [(d.collection, d.path, d.folder, d.relative_path, d.state, d.reason, d.message,
             d.chunks) for d in db.document_infos()]
    assert rows == [
        ("A single file", "/s/report.pdf", "/s/report.pdf", "report.pdf", "parsed", None,
         None, 1),
        ("Work", "/elsewhere/d.txt", None, "/elsewhere/d.txt", "parsed", None, None, 1),
        ("Work", "/w/a.txt", "/w", "a.txt", "embedded", None, None, 1),
        ("Work", "/w/bad.docx", "/w", "bad.docx", "skipped", "corrupt", "The file is damaged.",
         0),
        ("Work", "/w/c.txt", "/w", "c.txt", "parsed", None, None, 2),
        ("Work", "/w/deep/b.txt", "/w/deep", "b.txt", "embedded", None, None, 3),
    ]
    infos = db.document_infos()
    assert all(d.read_at is not None for d in infos)
    assert [d.embedded_at is not None for d in infos] == [d.state == "embedded" for d in infos]
    assert [d.path for d in db.document_infos(single)] == ["/s/report.pdf"]
    assert db.document_infos(single + work + 1000) == []
