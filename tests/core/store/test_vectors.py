from __future__ import annotations

import numpy as np
import pytest

from desktop_app.core.store import Database, VectorMismatchError
from desktop_app.core.store.vector_codec import id_stats
from tests.support.store import MODEL, chunks, embed_pending, key, vector_for

MANUAL = "How to reset a password: open the self-service portal."


def test_identical_chunks_in_two_collections_share_one_vector(db: Database) -> None:
    home = db.create_collection("Home")
    work = db.create_collection("Work")
    a = db.replace_document(home, "/home/manual.txt", 1, 1, "h", "txt", "M",
                            chunks(MANUAL, "home only"))
    b = db.replace_document(work, "/work/manual-copy.txt", 1, 1, "h", "txt", "M",
                            chunks(MANUAL))
    pending = db.pending_embed_keys(10)
    assert [p.embed_key for p in pending] == [key(MANUAL), key("home only")]  # once each
    assert db.status().unembedded_keys == 2

    added = db.add_vectors(MODEL, [(p.embed_key, vector_for(p.embed_key)) for p in pending])
    assert set(added) == {key(MANUAL), key("home only")}
    assert db.vector_stats().count == 2
    assert db.get_document_by_id(a).status == "embedded"  # type: ignore[union-attr]
    assert db.get_document_by_id(b).status == "embedded"  # type: ignore[union-attr]
    assert db.pending_embed_keys(10) == []

    label = added[key(MANUAL)]
    served = db.chunks_for_vector_ids([label])[label]
    assert sorted(c.path for c in served) == ["/home/manual.txt", "/work/manual-copy.txt"]
    scoped = db.chunks_for_vector_ids([label, added[key("home only")]], collection_ids=[work])
    assert list(scoped) == [label] and [c.collection_id for c in scoped[label]] == [work]
    assert db.chunks_for_vector_ids([label], collection_ids=[]) == {}


def test_partial_vectors_keep_a_document_parsed(db: Database, coll: int) -> None:
    doc = db.replace_document(coll, "/d/a.txt", 1, 1, "h", "txt", None, chunks("x", "y"))
    db.add_vectors(MODEL, [(key("x"), vector_for(key("x")))])
    assert db.get_document_by_id(doc).status == "parsed"  # type: ignore[union-attr]
    assert [p.text for p in db.pending_embed_keys(10)] == ["y"]
    db.add_vectors(MODEL, [(key("y"), vector_for(key("y")))])
    assert db.get_document_by_id(doc).status == "embedded"  # type: ignore[union-attr]


def test_pending_is_oldest_document_first_and_limited(db: Database, coll: int) -> None:
    db.replace_document(coll, "/d/z-old.txt", 1, 1, "h", "txt", "Old",
                        chunks("o1", "o2", "o1", title="T1"))
    db.replace_document(coll, "/d/a-new.txt", 1, 1, "h", "txt", "T2", chunks("n1", "o2"))
    pending = db.pending_embed_keys(10)
    assert [p.text for p in pending] == ["o1", "o2", "n1"]
    assert pending[0].title == "T1"
    assert [p.text for p in db.pending_embed_keys(2)] == ["o1", "o2"]
    assert db.pending_embed_keys(0) == []


def test_add_vectors_is_idempotent_and_normalizes(db: Database, coll: int) -> None:
    db.replace_document(coll, "/d/a.txt", 1, 1, "h", "txt", None, chunks("x"))
    raw = 3.0 * vector_for(key("x"))
    first = db.add_vectors(MODEL, [(key("x"), raw)])
    assert db.add_vectors(MODEL, [(key("x"), raw)]) == {}
    stored = db.vectors_for_ids([first[key("x")]])
    assert stored.shape == (1, 768) and stored.dtype == np.float32
    assert np.isclose(np.linalg.norm(stored[0]), 1.0)
    for bad in (np.zeros(768), np.full(768, np.nan), np.array([])):
        with pytest.raises(ValueError):
            db.add_vectors(MODEL, [("k", bad)])


def test_one_model_and_one_length_until_reset(db: Database, coll: int) -> None:
    doc = db.replace_document(coll, "/d/a.txt", 1, 1, "h", "txt", None, chunks("x", "y"))
    db.add_vectors(MODEL, [(key("x"), vector_for(key("x")))])
    with pytest.raises(VectorMismatchError):
        db.add_vectors("other-model", [(key("y"), vector_for(key("y")))])
    with pytest.raises(VectorMismatchError):
        db.add_vectors(MODEL, [(key("y"), vector_for(key("y"), 512))])
    embed_pending(db)
    assert db.vector_model_id() == MODEL
    removed = db.reset_vectors()
    assert len(removed) == 2 and db.vector_stats().count == 0
    assert db.get_document_by_id(doc).status == "parsed"  # type: ignore[union-attr]
    assert db.vector_model_id() is None
    new = db.add_vectors("other-model", [(key("x"), vector_for(key("x"), 512))])
    assert min(new.values()) > max(removed)  # AUTOINCREMENT: old labels never come back


def test_streaming_and_lookup(db: Database, coll: int) -> None:
    texts = [f"chunk {i}" for i in range(25)]
    db.replace_document(coll, "/d/a.txt", 1, 1, "h", "txt", None, chunks(*texts))
    embed_pending(db)
    ids: list[int] = []
    after = 0
    while len(batch := db.vector_rows(after, limit=7)):
        assert batch.vectors.shape == (len(batch), 768)
        ids.extend(int(i) for i in batch.ids)
        after = int(batch.ids[-1])
    assert ids == sorted(ids) and ids == db.vector_ids().tolist() and len(ids) == 25
    picked = [ids[5], ids[0], ids[17]]
    vecs = db.vectors_for_ids(picked)
    by_key = {c.embed_key: c for c in db.chunks_of_document(1)}
    mapping = db.chunks_for_vector_ids(picked)
    for row, label in zip(vecs, picked, strict=True):
        assert np.allclose(row, vector_for(mapping[label][0].embed_key), atol=1e-6)
        assert mapping[label][0].embed_key in by_key
    with pytest.raises(KeyError):
        db.vectors_for_ids([ids[0], 10**9])
    assert db.vector_batch_for_ids([10**9, ids[3]]).ids.tolist() == [ids[3]]
    by_embed_key = db.vectors_for_keys([key("chunk 3"), key("chunk 3"), "no-such-key"])
    assert list(by_embed_key) == [key("chunk 3")]
    assert np.allclose(by_embed_key[key("chunk 3")], vector_for(key("chunk 3")), atol=1e-6)


def test_orphan_vectors_and_stats(db: Database, coll: int) -> None:
    a = db.replace_document(coll, "/d/a.txt", 1, 1, "h", "txt", None, chunks("keep", "drop"))
    db.replace_document(coll, "/d/b.txt", 1, 1, "h", "txt", None, chunks("keep"))
    added = embed_pending(db)
    stats = db.vector_stats()
    assert stats.count == 2 and stats == id_stats(sorted(added.values(), reverse=True))
    assert db.delete_orphan_vectors() == []
    db.replace_document(coll, "/d/a.txt", 2, 2, "h2", "txt", None, chunks("keep", "fresh"))
    assert db.delete_orphan_vectors() == [added[key("drop")]]
    db.delete_document(a)
    assert db.delete_orphan_vectors() == []  # "keep" still serves b.txt
    assert db.vector_stats() != stats
    assert db.vector_stats() == id_stats([added[key("keep")]])
