from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from desktop_app.core.store import Database, NewChunk, VectorMismatchError
from desktop_app.core.store.embed_queue import EmbedQueue, RecentlyAsked, age_step
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


# -- an embedding pass: its order and its cost ---------------------------------------------

DAY = 86_400 * 10**9
NOW = 1_000 * DAY


def drain(queue: EmbedQueue, db: Database, limit: int = 3) -> list[list[str]]:
    """Run a pass to its end as the library does (embed each batch before the next);
    the texts of each batch."""
    batches: list[list[str]] = []
    while batch := queue.next_batch(limit):
        batches.append([p.text for p in batch])
        db.add_vectors(MODEL, [(p.embed_key, vector_for(p.embed_key)) for p in batch])
    return batches


def test_a_pass_embeds_recent_then_short_documents_first(db: Database, coll: int) -> None:
    def doc(name: str, age_days: float, *texts: str) -> int:
        return db.replace_document(coll, f"/d/{name}", 1, NOW - int(age_days * DAY), "h",
                                   "txt", None, chunks(*texts))

    doc("a-old-short.txt", 400, "old")
    doc("b-recent-long.txt", 0.5, "r1", "r2", "r3", "r4")
    doc("c-recent-short.txt", 0.2, "rs")
    doc("d-month.txt", 20, "m1", "m2")
    doc("e-shared.txt", 400, "rs", "old", "e1")  # two of its texts come with others
    batches = drain(EmbedQueue(db, now_ns=NOW), db)
    assert [t for b in batches for t in b] == ["rs", "r1", "r2", "r3", "r4", "m1", "m2",
                                               "old", "e1"]
    assert batches[:2] == [["rs", "r1", "r2"], ["r3", "r4", "m1"]]  # batches stay full
    assert db.status().unembedded_keys == 0
    assert {d.status for d in db.documents()} == {"embedded"}


def test_documents_a_question_hit_go_first_newest_question_first(db: Database,
                                                                  coll: int) -> None:
    ids = {name: db.replace_document(coll, f"/d/{name}", 1, NOW, "h", "txt", None,
                                     chunks(*(f"{name}{i}" for i in range(n))))
           for name, n in (("a", 1), ("b", 2), ("c", 3), ("d", 4))}
    asked = RecentlyAsked()
    queue = EmbedQueue(db, asked, now_ns=NOW)
    asked.note([ids["c"]])
    asked.note([ids["d"], ids["b"]])  # the newer question: its documents, short first
    texts = [t for b in drain(queue, db, limit=2) for t in b]
    assert texts == ["b0", "b1", "d0", "d1", "d2", "d3", "c0", "c1", "c2", "a0"]


def test_a_question_during_a_pass_moves_its_document_ahead(db: Database, coll: int) -> None:
    first = db.replace_document(coll, "/d/short.txt", 1, NOW, "h", "txt", None,
                                chunks("s0"))
    long_doc = db.replace_document(coll, "/d/long.txt", 1, NOW, "h", "txt", None,
                                   chunks(*(f"l{i}" for i in range(6))))
    late = db.replace_document(coll, "/d/late.txt", 1, NOW, "h", "txt", None,
                               chunks("x0", "x1", "x2"))
    asked = RecentlyAsked()
    queue = EmbedQueue(db, asked, now_ns=NOW)
    assert [p.text for p in queue.next_batch(2)] == ["s0", "x0"]
    asked.note([long_doc])  # the question comes while late.txt is half done
    assert [p.text for p in queue.next_batch(4)] == ["l0", "l1", "l2", "l3"]
    # A document stored again during the pass is read again from its first chunk.
    db.replace_document(coll, "/d/short.txt", 2, NOW, "h2", "txt", None,
                        chunks("s0 new", "s1 new"))
    queue.add(first, NOW, 2)
    rest = [p.text for p in queue.next_batch(10)]
    assert rest == ["l4", "l5", "s0 new", "s1 new", "x1", "x2"]
    assert queue.next_batch(10) == [] and len(queue) == 0
    assert late not in {d.id for d in db.documents(status="embedded")}  # nothing stored


def test_recently_asked_keeps_the_newest_questions() -> None:
    asked = RecentlyAsked(keep=3)
    asked.note([1, 2])
    asked.note([])  # a question that hit nothing pending is not a question here
    asked.note([3, 1])
    asked.note([4])
    assert asked.version == 3
    assert asked.since(0) == [(3, 2), (1, 2), (4, 3)]  # 2 fell out, 1 moved up
    assert asked.since(2) == [(4, 3)]
    assert age_step(NOW, NOW) == 0 and age_step(NOW + DAY, NOW) == 0
    assert [age_step(NOW - d * DAY, NOW) for d in (2, 8, 31, 400)] == [1, 2, 3, 4]


def test_pending_chunks_resume_after_an_ordinal(db: Database, coll: int) -> None:
    doc = db.replace_document(coll, "/d/a.txt", 1, 1, "h", "txt", None,
                              chunks("a", "b", "c", "d"))
    db.add_vectors(MODEL, [(key("b"), vector_for(key("b")))])
    assert [(o, p.text) for o, p in db.pending_chunks(doc, -1, 2)] == [(0, "a"), (2, "c")]
    assert [(o, p.text) for o, p in db.pending_chunks(doc, 2, 5)] == [(3, "d")]
    assert db.pending_chunks(doc, 3, 5) == [] and db.pending_chunks(doc, -1, 0) == []
    [pending] = db.pending_documents()
    assert (pending.id, pending.mtime_ns, pending.chunks) == (doc, 1, 4)
    assert db.keys_without_vectors([key("a"), key("b"), key("a")]) == {key("a")}


def _pass_seconds(tmp_path: Path, name: str, n: int) -> float:
    """One embedding pass (fake vectors) over one document of ``n`` chunks."""
    with Database(tmp_path / f"{name}.db") as db:
        coll = db.create_collection("Docs")
        db.replace_document(coll, "/d/book.txt", 1, 1, "h", "txt", None,
                            [NewChunk(text=f"c{i}", embed_key=key(f"c{i}")) for i in range(n)])
        vector = vector_for(key("any"))
        started = time.perf_counter()
        queue = EmbedQueue(db)
        while batch := queue.next_batch(32):
            db.add_vectors(MODEL, [(p.embed_key, vector) for p in batch])
        elapsed = time.perf_counter() - started
        assert db.status().unembedded_keys == 0 and db.documents()[0].status == "embedded"
    return elapsed


def test_an_embedding_pass_is_linear_in_a_long_document(tmp_path: Path) -> None:
    """Was quadratic twice over: every batch looked for pending chunks from the first
    chunk, and asked whether the document was done from its first chunk (measured
    before the fix: 4x the chunks, ~15x the time)."""
    n = 2_000
    small = min(_pass_seconds(tmp_path, f"s{i}", n) for i in range(3))
    large = min(_pass_seconds(tmp_path, f"l{i}", 4 * n) for i in range(3))
    assert large / small < 7, (small, large)
