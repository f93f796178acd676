"""The hnswlib cache. Vectors are synthetic unit vectors (no model needed)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from desktop_app.core.progress import Progress, run_quietly
from desktop_app.core.store import Database, VectorIndex, hnsw_graph
from desktop_app.core.store.index_sidecar import sidecar_path
from tests.support.store import chunks, embed_pending, embedding_like, unit_vectors

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
    report = run_quietly(index.open_or_rebuild(db))
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


@pytest.mark.parametrize("how", ["exact scan", "filtered walk"])
def test_allowed_labels_are_found_behind_many_better_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    """A scoped search: the best allowed vectors come back however many vectors that are
    not allowed match better (a post-filter of the top k would return nothing)."""
    if how == "filtered walk":
        monkeypatch.setattr(hnsw_graph, "EXACT_SCAN_LABELS", 10)
    data = embedding_like(3000, seed=11)
    index = VectorIndex(tmp_path / "x.hnsw", DIM, threads=1)
    index.add(np.arange(3000), data)
    query = data[0]
    cut = data[:, :DIM] / np.linalg.norm(data[:, :DIM], axis=1, keepdims=True)
    scores = cut @ (query[:DIM] / np.linalg.norm(query[:DIM]))
    ranked = np.argsort(-scores)
    allowed = set(ranked[1000:].tolist())  # the 1000 best are not allowed
    want = ranked[1000:1010].tolist()
    hits = index.search(query, 10, allowed=allowed)
    assert {label for label, _ in hits} <= allowed
    assert hits[0][0] == want[0]
    assert len({label for label, _ in hits} & set(want)) >= 9
    for label, score in hits:
        assert score == pytest.approx(float(scores[label]), abs=1e-5)
    assert index.search(query, 10, allowed=set()) == []
    assert index.search(query, 10, allowed={5, 10**6}) == [(5, pytest.approx(scores[5],
                                                                               abs=1e-5))]


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


def test_an_index_behind_sqlite_is_reconciled_not_rebuilt(db: Database,
                                                          index_path: Path) -> None:
    """A process killed after committing vectors but before saving the index: the next
    open applies what SQLite gained and lost since the save instead of rebuilding."""
    fill(db, 100)
    fill(db, 1900, start=100)
    open_index(index_path, db)
    saved = index_path.read_bytes()
    fill(db, 1000, start=5000)  # reached SQLite, never the index file (a kill, say)
    new_ids = db.vector_ids()[-1000:].tolist()
    first = next(d for d in db.documents() if d.path == "/d/0.txt")
    db.delete_document(first.id)  # and 100 vectors left SQLite
    gone = db.delete_orphan_vectors()
    assert len(gone) == 100 and index_path.read_bytes() == saved

    index = VectorIndex(index_path, DIM, threads=1)
    report = run_quietly(index.open_or_rebuild(db))
    assert not report.rebuilt and report.reason == ""
    assert (report.added, report.deleted, report.count) == (1000, 100, 2900)
    assert index.ids() == set(db.vector_ids().tolist()) and set(new_ids) <= index.ids()
    assert not set(gone) & index.ids()
    for vid in new_ids[::97]:
        assert index.search(db.vectors_for_ids([vid])[0], 1)[0][0] == vid
    # The reconciled index was saved: the next open has nothing left to do.
    again = run_quietly(VectorIndex(index_path, DIM, threads=1).open_or_rebuild(db))
    assert not again.rebuilt and (again.added, again.deleted) == (0, 0)


def test_a_long_catch_up_shows_index_steps_and_searches_run_between_them(
        db: Database, index_path: Path) -> None:
    fill(db, 100)
    open_index(index_path, db)
    fill(db, 5000, start=1000)
    index = VectorIndex(index_path, DIM, threads=1)
    job = index.open_or_rebuild(db)
    first, second = next(job), next(job)
    assert (first.stage, first.done, first.total) == ("index", 0, 5000)
    assert 0 < second.done < 5000
    # Paused mid catch-up: the loaded file is already in use.
    assert index.search(db.vectors_for_ids([3])[0], 1)[0][0] == 3
    report = run_quietly(job)
    assert not report.rebuilt and report.added == 5000 and len(index) == 5100


def test_another_database_under_the_same_ids_is_rebuilt(db: Database, index_path: Path,
                                                        tmp_path: Path) -> None:
    fill(db, 100)
    open_index(index_path, db)
    with Database(tmp_path / "other.db") as other:  # ids 1..120 again, other texts
        found = other.create_collection("Docs")
        other.replace_document(found, "/o.txt", 1, 1, "h", "txt", None,
                               chunks(*(f"other text {i}" for i in range(120))))
        embed_pending(other)
        assert open_index(index_path, other)[1] == (
            "index holds other vectors than the database under the same ids")


def test_a_restored_backup_written_to_since_is_rebuilt(tmp_path: Path,
                                                       index_path: Path) -> None:
    """The database file was put back from a backup older than the index and written to
    since: the newest ids name other vectors in the two."""
    live = tmp_path / "library.db"
    with Database(live) as db:
        fill(db, 100)
    backup = live.read_bytes()
    with Database(live) as db:
        fill(db, 30, start=100)
        open_index(index_path, db)  # saved with ids up to 130
    live.write_bytes(backup)
    with Database(live) as db:
        fill(db, 30, start=500)  # ids 101..130 again, other vectors
        assert open_index(index_path, db)[1] == (
            "index holds other vectors than the database under the same ids")


def test_many_deletions_since_the_save_are_rebuilt_not_reconciled(db: Database,
                                                                  index_path: Path) -> None:
    fill(db, 3000)
    open_index(index_path, db)
    db.replace_document(1, "/d/0.txt", 1, 2, "h2", "txt", None, chunks("text number 1"))
    db.delete_orphan_vectors()  # 2999 gone while the index file still holds them
    report = run_quietly(VectorIndex(index_path, DIM, threads=1).open_or_rebuild(db))
    assert report.rebuilt and report.reason == "too many deleted entries: compacting"
    assert report.count == 1


# -- read-only: a reader beside the library's writer ------------------------------------


def test_a_read_only_index_rebuilds_in_memory_and_writes_nothing(db: Database,
                                                                 index_path: Path) -> None:
    fill(db, 200)
    index = VectorIndex(index_path, DIM, threads=1, read_only=True)
    report = run_quietly(index.open_or_rebuild(db))
    assert report.rebuilt and report.reason == "no index file" and report.count == 200
    assert index.search(db.vectors_for_ids([7])[0], 1)[0][0] == 7
    index.add([10**6], unit_vectors(1, 768))
    index.save()
    assert not index_path.parent.exists()  # not even the folder


def test_a_read_only_index_reconciles_a_stale_file_in_memory(db: Database,
                                                            index_path: Path) -> None:
    fill(db, 300)
    open_index(index_path, db)  # the writer saved it
    fill(db, 40, start=1000)  # the writer went on; its next save has not come yet
    before = {p.name: p.read_bytes() for p in index_path.parent.iterdir()}
    (index_path.parent / "vectors.hnsw.99.cafe.tmp").write_bytes(b"the writer's save")
    index = VectorIndex(index_path, DIM, threads=1, read_only=True)
    report = run_quietly(index.open_or_rebuild(db))
    assert not report.rebuilt and report.added == 40 and report.count == 340
    new_id = int(db.vector_ids()[-1])
    assert index.search(db.vectors_for_ids([new_id])[0], 1)[0][0] == new_id
    index.save()
    after = {p.name: p.read_bytes() for p in index_path.parent.iterdir()}
    assert after == {**before, "vectors.hnsw.99.cafe.tmp": b"the writer's save"}


def test_a_read_only_index_checks_again_a_file_the_writer_replaced_meanwhile(
        db: Database, index_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fill(db, 300)
    writer, _ = open_index(index_path, db)
    fill(db, 25, start=1000)
    reader = VectorIndex(index_path, DIM, threads=1, read_only=True)
    real_load = reader._load_once
    calls: list[int] = []

    def load_while_the_writer_saves(*args: object) -> object:
        result = real_load(*args)  # type: ignore[arg-type]
        calls.append(1)
        if len(calls) == 1:
            writer.reconcile(db)
            writer.save()  # the file and its sidecar replaced under the first check
        return result

    monkeypatch.setattr(reader, "_load_once", load_while_the_writer_saves)
    report = run_quietly(reader.open_or_rebuild(db))
    assert len(calls) == 2  # checked again, and the new file was used as it is
    assert not report.rebuilt and report.added == 0 and report.count == 325


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
    report = run_quietly(VectorIndex(index_path, DIM, threads=1).open_or_rebuild(db))
    assert report.rebuilt and report.reason == "too many deleted entries: compacting"
    assert report.count == 1


def test_a_rebuild_yields_index_steps_and_stops_when_closed(db: Database,
                                                            index_path: Path) -> None:
    fill(db, 5000)
    index = VectorIndex(index_path, DIM, threads=1)
    job = index.open_or_rebuild(db)
    first, second = next(job), next(job)
    assert (first.stage, first.done, first.total) == ("index", 0, 5000)
    assert second.stage == "index" and 0 < second.done < 5000
    job.close()  # mid-rebuild
    assert len(index) == 0 and not index_path.exists()  # left as it was
    steps: list[Progress] = []
    job = index.open_or_rebuild(db)
    while True:
        try:
            steps.append(next(job))
        except StopIteration as end:
            report = end.value
            break
    assert report.rebuilt and report.reason == "no index file" and report.count == 5000
    assert {s.stage for s in steps} == {"index"} and {s.unit for s in steps} == {"items"}
    assert (steps[0].done, steps[0].total) == (0, 5000)
    assert (steps[-1].done, steps[-1].total) == (5000, 5000)
    assert [s.done for s in steps] == sorted(s.done for s in steps)
    # What the next open finds is consistent: the file and SQLite agree.
    assert open_index(index_path, db)[1] == ""


def test_a_rebuild_closed_over_a_saved_index_keeps_it_and_the_next_open_reconciles(
        db: Database, index_path: Path) -> None:
    fill(db, 3000)
    open_index(index_path, db)
    good = index_path.read_bytes()
    sidecar_path(index_path).unlink()  # untrusted: must rebuild
    fill(db, 10, start=5000)
    job = VectorIndex(index_path, DIM, threads=1).open_or_rebuild(db)
    next(job), next(job)
    job.close()
    assert index_path.read_bytes() == good  # the closed rebuild wrote nothing
    index, reason = open_index(index_path, db)  # rebuilds, and holds exactly SQLite's ids
    assert reason == "index metadata missing or unreadable" and len(index) == 3010


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

    job = index.open_or_rebuild(db)
    while True:
        try:
            step = next(job)
        except StopIteration as end:
            report = end.value
            break
        if step.done and not added_mid_build:  # the pipeline keeps going meanwhile
            fill(db, 10, start=1000)
            added_mid_build.extend(db.vector_ids()[-10:].tolist())

    assert report.rebuilt and added_mid_build
    assert index.ids() == set(db.vector_ids().tolist())


def test_an_open_paused_mid_rebuild_does_not_hold_up_a_search(db: Database,
                                                              index_path: Path) -> None:
    """The window pauses indexing while it answers: a rebuild paused on its worker holds
    the open lock, and the answer's search must go on with the graph held now instead of
    waiting for the paused job forever (found in review)."""
    fill(db, 3000)
    index = VectorIndex(index_path, DIM, threads=1)
    paused = index.open_or_rebuild(db)
    assert next(paused).stage == "index"  # suspended inside the rebuild

    answered = threading.Event()

    def search_while_paused() -> None:
        assert run_quietly(index.open_or_rebuild(db, wait=False)) is None
        index.search(unit_vectors(1, DIM, seed=3)[0], k=5)
        answered.set()

    worker = threading.Thread(target=search_while_paused, daemon=True)
    worker.start()
    assert answered.wait(10), "the search waited for the paused rebuild"
    run_quietly(paused)  # the paused job finishes normally afterwards
    assert len(index) == 3000
