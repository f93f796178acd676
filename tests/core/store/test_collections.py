from __future__ import annotations

import os

import pytest

from desktop_app.core.store import CollectionExistsError, Database, NotFoundError
from tests.support.store import chunks, embed_pending

SEP = os.sep


def p(*parts: str) -> str:
    return SEP + SEP.join(parts)


def test_create_get_rename(db: Database) -> None:
    cid = db.create_collection("  Work   notes ")
    found = db.get_collection("Work notes")
    assert found is not None and found.id == cid and found.name == "Work notes"
    assert db.get_collection("nope") is None
    db.rename_collection(cid, "工作")
    assert db.get_collection_by_id(cid) is not None
    assert db.get_collection("工作") is not None


def test_names_are_unique_and_required(db: Database) -> None:
    cid = db.create_collection("A")
    other = db.create_collection("B")
    with pytest.raises(CollectionExistsError):
        db.create_collection("A")
    with pytest.raises(CollectionExistsError):
        db.rename_collection(other, "A")
    with pytest.raises(ValueError):
        db.create_collection("   ")
    with pytest.raises(NotFoundError):
        db.rename_collection(cid + 100, "C")


def test_list_collections_counts(db: Database) -> None:
    a = db.create_collection("A")
    b = db.create_collection("B")
    db.add_folder(a, p("docs"))
    db.replace_document(a, p("docs", "1.txt"), 1, 1, "h1", "txt", None, chunks("one", "two"))
    db.replace_document(a, p("docs", "2.txt"), 1, 1, "h2", "txt", None, chunks("three"))
    db.upsert_skipped(a, p("docs", "3.pdf"), 1, 1, "encrypted", "needs a password")
    embed_pending(db)
    db.replace_document(a, p("docs", "4.txt"), 1, 1, "h4", "txt", None, chunks("four"))
    by_name = {c.name: c for c in db.list_collections()}
    assert by_name["A"].folders == (p("docs"),)
    assert by_name["A"].documents == 4
    assert by_name["A"].chunks == 4
    assert dict(by_name["A"].by_status) == {"parsed": 1, "embedded": 2, "skipped": 1}
    assert by_name["B"].id == b and by_name["B"].documents == 0
    assert dict(by_name["B"].by_status) == {"parsed": 0, "embedded": 0, "skipped": 0}


def test_delete_collection_cascades(db: Database) -> None:
    a = db.create_collection("A")
    b = db.create_collection("B")
    db.add_folder(a, p("a"))
    db.replace_document(a, p("a", "x.txt"), 1, 1, "h", "txt", None, chunks("only in a", "shared"))
    db.replace_document(b, p("b", "x.txt"), 1, 1, "h", "txt", None, chunks("shared"))
    embed_pending(db)
    assert db.delete_collection(a)
    assert not db.delete_collection(a)
    assert db.documents(a) == [] and db.folders(a) == []
    assert db.keyword_search("only", 5) == []  # FTS rows went with the chunks
    assert len(db.keyword_search("shared", 5)) == 1
    orphans = db.delete_orphan_vectors()
    assert len(orphans) == 1  # "only in a"; "shared" is still used by B
    assert db.vector_stats().count == 1
    with db.reading() as conn:
        assert conn.execute("SELECT count(*) FROM chunk_fts").fetchone()[0] == 1


def test_folders(db: Database) -> None:
    cid = db.create_collection("A")
    assert db.add_folder(cid, p("docs"))
    assert not db.add_folder(cid, p("docs"))
    db.add_folder(cid, p("docs", "inner"))
    db.add_folder(cid, p("docs-old"))
    assert db.folders(cid) == sorted([p("docs"), p("docs", "inner"), p("docs-old")])
    for path in (p("docs", "a.txt"), p("docs", "inner", "b.txt"), p("docs-old", "c.txt")):
        db.replace_document(cid, path, 1, 1, "h", "txt", None, chunks(path))
    # docs/inner is still a folder of the collection, and docs-old is not inside docs.
    assert db.remove_folder(cid, p("docs")) == [p("docs", "a.txt")]
    assert {d.path for d in db.documents(cid)} == {p("docs", "inner", "b.txt"),
                                                    p("docs-old", "c.txt")}
    assert db.remove_folder(cid, p("docs", "inner")) == [p("docs", "inner", "b.txt")]
    assert db.folders(cid) == [p("docs-old")]
