"""The hnswlib cache. Vectors are synthetic unit vectors (no model needed)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from desktop_app.core.store import Database, IndexBuildCancelled, VectorIndex
from desktop_app.core.store.index_sidecar import sidecar_path
from tests.core.store.helpers import chunks, embed_pending, embedding_like, unit_vectors

DIM = 64  # small and quick; the index takes the first DIM of the 768 stored components


def fill(db: Database, n: int, start: int = 0) -> None:
    found = db.get_collection("Docs")
    cid = found.id if found else db.create_collection("Docs")
    texts = [f"text number {i}" for i in range(start, start + n)]
    db.replace_document(cid, f"/d/{start}.txt", 1, 1, "h", "txt", None, chunks(*texts))
    embed_pending(db)


def files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.fixture
def index_path(tmp_path: Path) -> Path:
    return tmp_path / "index" / "vectors.hnsw"


def open_index(path: Path, db: Database, dim: int = DIM) -> tuple[VectorIndex, str]:
    index = VectorIndex(path, dim, threads=1)
    report = index.open_or_rebuild(db)
    assert index.ids() == set(db.vector_ids().tolist())  # always exactly SQLite's ids
    assert report.count == len(index)
    return index, (report.reason if report.rebuilt else "")


# -- the in-memory index ------------------------------------------------------------------


def test_empty_index_and_small_k(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "x.hnsw", DIM, threads=1)
    q = unit_vectors(1, 768)[0]
    assert index.search(q, 10) == []
    assert index.add([], []) == 0
    index.add([7, 9], unit_vectors(2, 768, seed=1))
    hits = index.search(q, 10)  # k > count
    assert sorted(label for label, _ in hits) == [7, 9]
    assert index.search(q, 0) == []


def test_add_search_delete(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "x.hnsw", DIM, threads=1)
    vectors = unit_vectors(300, 768, seed=2)
    assert index.add(np.arange(1, 301), vectors) == 300
    assert index.add([1, 2], vectors[:2]) == 0  # already present: no-op
    label, score = index.search(vectors[41], 1)[0]
    assert label == 42 and score == pytest.approx(1.0, abs=1e-5)
    assert index.delete([42, 42, 9999]) == 1
    assert index.delete([42]) == 0
    assert 42 not in [x for x, _ in index.search(vectors[41], 5)]
    assert len(index) == 299
    index.add([42], vectors[41:42])  # a deleted label can come back
    assert index.search(vectors[41], 1)[0][0] == 42


def test_scores_are_cosines_at_the_index_dim(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "x.hnsw", 128, threads=1)
    vectors = unit_vectors(50, 768, seed=3)
    index.add(np.arange(50), vectors)
    q = unit_vectors(1, 768, seed=4)[0]
    cut = vectors[:, :128] / np.linalg.norm(vectors[:, :128], axis=1, keepdims=True)
    qc = q[:128] / np.linalg.norm(q[:128])
    exact = cut @ qc
    for label, score in index.search(q, 5):
        assert score == pytest.approx(float(exact[label]), abs=1e-5)


def test_filter_even_when_few_labels_pass(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "x.hnsw", DIM, threads=1)
    vectors = unit_vectors(2000, 768, seed=5)
    index.add(np.arange(2000), vectors)
    evens = index.search(vectors[10], 10, filter=lambda label: label % 2 == 0)
    assert len(evens) == 10 and all(label % 2 == 0 for label, _ in evens)
    assert evens[0][0] == 10
    rare = {3, 1500, 1999}
    hits = index.search(vectors[10], 10, filter=lambda label: label in rare)
    assert {label for label, _ in hits} == rare  # hnswlib finds < k: exact fallback


def test_grows_beyond_its_initial_capacity(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "x.hnsw", DIM, threads=1)
    vectors = unit_vectors(3000, 768, seed=6)
    for start in range(0, 3000, 250):
        index.add(np.arange(start, start + 250), vectors[start : start + 250])
    assert len(index) == 3000
    assert index.search(vectors[2999], 1)[0][0] == 2999


def test_recall_against_exact_search(tmp_path: Path) -> None:
    # ~5k embedding-like vectors, k=10, default ef=100. (On isotropic Gaussian noise in
    # 768-d -- no structure at all, unlike text embeddings -- recall is far lower.)
    data = embedding_like(5000, seed=7)
    queries = embedding_like(100, seed=8)
    for dim in (256, 768):
        index = VectorIndex(tmp_path / f"r{dim}.hnsw", dim, threads=1)
        index.add(np.arange(len(data)), data)
        cut = data[:, :dim] / np.linalg.norm(data[:, :dim], axis=1, keepdims=True)
        found = 0
        for q in queries:
            qc = q[:dim] / np.linalg.norm(q[:dim])
            exact = set(np.argsort(-(cut @ qc))[:10].tolist())
            found += len(exact & {label for label, _ in index.search(q, 10)})
        recall = found / (10 * len(queries))
        assert recall >= 0.98, (dim, recall)


def test_concurrent_add_and_search(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "x.hnsw", DIM, threads=1)
    vectors = unit_vectors(4000, 768, seed=9)
    index.add(np.arange(100), vectors[:100])
    errors: list[BaseException] = []
    stop = threading.Event()

    def adder() -> None:
        try:
            for start in range(100, 4000, 50):  # crosses several resizes
                index.add(np.arange(start, start + 50), vectors[start : start + 50])
                if start % 500 == 0:
                    index.delete(range(start - 50, start - 40))
        except BaseException as exc:
            errors.append(exc)
        finally:
            stop.set()

    def searcher() -> None:
        try:
            i = 0
            while not stop.is_set():
                hits = index.search(vectors[i % 100], 10)
                assert 0 < len(hits) <= 10
                i += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=adder), threading.Thread(target=searcher)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(index) == 4000 - 7 * 10


# -- persistence and verification against SQLite ---------------------------------------


def test_first_open_builds_then_loads(db: Database, index_path: Path) -> None:
    fill(db, 200)
    _, reason = open_index(index_path, db)
    assert reason == "no index file"
    assert files(index_path.parent) == {"vectors.hnsw", "vectors.hnsw.meta.json"}
    _, reason = open_index(index_path, db)
    assert reason == ""  # trusted and loaded, not rebuilt


def test_empty_library(db: Database, index_path: Path) -> None:
    index, _ = open_index(index_path, db)
    assert len(index) == 0 and index.search(unit_vectors(1, 768)[0], 5) == []
    assert open_index(index_path, db)[1] == ""


def test_a_library_embedded_after_opening_is_trusted_next_time(db: Database,
                                                               index_path: Path) -> None:
    index, _ = open_index(index_path, db)  # empty: no model recorded yet
    fill(db, 50)  # the pipeline: SQLite first, then the index
    index.add(db.vector_ids(), db.vectors_for_ids(db.vector_ids().tolist()))
    index.save()
    assert open_index(index_path, db)[1] == ""


@pytest.mark.parametrize("damage", ["missing", "truncated", "garbage", "empty"])
def test_a_damaged_file_is_rebuilt(db: Database, index_path: Path, damage: str) -> None:
    fill(db, 200)
    open_index(index_path, db)
    data = index_path.read_bytes()
    if damage == "missing":
        index_path.unlink()
    elif damage == "truncated":
        index_path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":  # same size, so only the checksum can tell
        index_path.write_bytes(np.random.default_rng(0).bytes(len(data)))
    else:
        index_path.write_bytes(b"")
    index, reason = open_index(index_path, db)
    assert reason in {"no index file", "index file is damaged or was not completely written"}
    assert index.search(db.vectors_for_ids([5])[0], 1)[0][0] == 5


def test_unreadable_sidecar_is_rebuilt(db: Database, index_path: Path) -> None:
    fill(db, 50)
    open_index(index_path, db)
    sidecar_path(index_path).write_text("{not json")
    assert open_index(index_path, db)[1] == "index metadata missing or unreadable"
    sidecar_path(index_path).unlink()
    assert open_index(index_path, db)[1] == "index metadata missing or unreadable"


def test_another_dim_is_rebuilt(db: Database, index_path: Path) -> None:
    fill(db, 100)
    open_index(index_path, db, dim=128)
    index, reason = open_index(index_path, db, dim=DIM)
    assert reason.startswith("index was built with dim=128")
    assert index.dim == DIM and open_index(index_path, db, dim=DIM)[1] == ""


def test_a_stale_index_is_rebuilt(db: Database, index_path: Path) -> None:
    fill(db, 100)
    open_index(index_path, db)
    fill(db, 30, start=100)  # reached SQLite, never the index file (a crash, say)
    assert open_index(index_path, db)[1] == "index is out of date with the database"
    db.delete_document(db.documents()[0].id)
    db.delete_orphan_vectors()
    assert open_index(index_path, db)[1] == "index is out of date with the database"


def test_crash_between_index_and_sidecar_writes(db: Database, index_path: Path) -> None:
    fill(db, 100)
    index, _ = open_index(index_path, db)
    old_sidecar = sidecar_path(index_path).read_bytes()
    fill(db, 20, start=100)
    index.reconcile(db)
    index.save()
    # The new index file landed, then the process died before the new sidecar did:
    sidecar_path(index_path).write_bytes(old_sidecar)
    assert open_index(index_path, db)[1] != ""
    # ...and the other way round: an old index file beside a new sidecar.
    index, _ = open_index(index_path, db)
    stale = index_path.read_bytes()
    fill(db, 5, start=200)
    index.reconcile(db)
    index.save()
    index_path.write_bytes(stale)
    assert open_index(index_path, db)[1] == "index file is damaged or was not completely written"


def test_model_change_is_rebuilt(db: Database, index_path: Path) -> None:
    fill(db, 20)
    open_index(index_path, db)
    sidecar = json.loads(sidecar_path(index_path).read_text())
    sidecar["model_id"] = "some-older-model"
    sidecar_path(index_path).write_text(json.dumps(sidecar))
    assert open_index(index_path, db)[1] == "index was built from another model's vectors"


def test_reconcile_adds_missing_and_deletes_unknown_labels(db: Database, index_path: Path
                                                           ) -> None:
    fill(db, 100)
    index, _ = open_index(index_path, db)
    ids = db.vector_ids().tolist()
    index.delete(ids[:10])  # missing from the index
    index.add([10**6, 10**6 + 1], unit_vectors(2, 768))  # not in SQLite
    assert index.reconcile(db) == (10, 2)
    assert index.ids() == set(ids)
    assert index.reconcile(db) == (0, 0)


def test_many_deletions_are_compacted(db: Database, index_path: Path) -> None:
    fill(db, 1400)
    index, _ = open_index(index_path, db)
    db.replace_document(1, "/d/0.txt", 1, 2, "h2", "txt", None, chunks("text number 1"))
    gone = db.delete_orphan_vectors()
    assert len(gone) == 1399
    index.delete(gone)
    index.save()
    report = VectorIndex(index_path, DIM, threads=1).open_or_rebuild(db)
    assert report.rebuilt and report.reason == "too many deleted entries: compacting"
    assert report.count == 1


def test_progress_and_cancel(db: Database, index_path: Path) -> None:
    fill(db, 5000)
    calls: list[tuple[int, int]] = []
    index = VectorIndex(index_path, DIM, threads=1)
    with pytest.raises(IndexBuildCancelled):
        index.open_or_rebuild(db, progress=lambda d, t: calls.append((d, t)),
                              should_stop=lambda: len(calls) >= 2)
    assert len(index) == 0 and not index_path.exists()  # left as it was
    calls.clear()
    index.open_or_rebuild(db, progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, 5000) and calls[-1] == (5000, 5000)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_save_is_atomic_and_leaves_no_temp_files(db: Database, index_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    fill(db, 100)
    index, _ = open_index(index_path, db)
    good = index_path.read_bytes()
    good_sidecar = sidecar_path(index_path).read_bytes()
    # Leftovers of a save that was killed midway are cleared on open.
    (index_path.parent / "vectors.hnsw.123.deadbeef.tmp").write_bytes(b"partial")
    (index_path.parent / "vectors.hnsw.meta.json.123.deadbeef.tmp").write_bytes(b"{")
    open_index(index_path, db)
    assert files(index_path.parent) == {"vectors.hnsw", "vectors.hnsw.meta.json"}

    # A save that fails halfway leaves the previous files untouched and no temp file.
    def fail(path: Path) -> None:
        path.write_bytes(b"half an index")
        raise OSError("disk full")

    index.add([10**6], unit_vectors(1, 768))
    monkeypatch.setattr(index._graph, "save", fail)
    with pytest.raises(OSError, match="disk full"):
        index.save()
    assert index_path.read_bytes() == good
    assert sidecar_path(index_path).read_bytes() == good_sidecar
    assert files(index_path.parent) == {"vectors.hnsw", "vectors.hnsw.meta.json"}


def test_saving_unchanged_index_is_skipped(db: Database, index_path: Path) -> None:
    fill(db, 50)
    index, _ = open_index(index_path, db)
    before = index_path.stat().st_mtime_ns
    time.sleep(0.01)
    index.save()
    assert index_path.stat().st_mtime_ns == before


def test_writes_during_a_rebuild_are_not_lost(db: Database, index_path: Path) -> None:
    fill(db, 300)
    index = VectorIndex(index_path, DIM, threads=1)
    added_mid_build: list[int] = []

    def progress(done: int, total: int) -> None:
        if done and not added_mid_build:  # the pipeline keeps going meanwhile
            fill(db, 10, start=1000)
            added_mid_build.extend(db.vector_ids()[-10:].tolist())

    report = index.open_or_rebuild(db, progress=progress)
    assert report.rebuilt and added_mid_build
    assert index.ids() == set(db.vector_ids().tolist())
