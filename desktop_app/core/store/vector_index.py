"""``VectorIndex``: an hnswlib cache of the vectors in SQLite that cannot drift.

SQLite (vectors_repo) holds every vector; this file is only an accelerator. On open the
file is trusted only if its sidecar (index_sidecar.py) matches the file itself (size +
sha256), the parameters asked for (dim, M, ef_construction) and the database (model,
count and checksum of the id set); anything else -- missing, truncated, other dim,
stale, unreadable -- means a rebuild from ``db.vector_rows``, never a crash. After that,
``reconcile`` compares the actual label set with SQLite's id set and adds/deletes the
difference, so the index ends every open holding exactly SQLite's vectors.

Write order for callers: commit to SQLite first, then ``add``/``delete`` here. A crash
in between leaves the index behind SQLite, which the next open repairs.

Threading: one ``RLock`` guards the hnswlib object -- its add (and resize) must not run
alongside a query. A rebuild builds a new graph *outside* the lock (searches keep using
the old one), then swaps it in and reconciles under the lock; reading SQLite's id set
while holding the lock is what makes reconciliation race-free against concurrent adds.

Opening is a job (``desktop_app.core.progress``): a rebuild yields "index" steps, and
closing the job mid-rebuild drops the half-built graph (the old one stays in use, the
file on disk is untouched), so the next open rebuilds again.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

from desktop_app.core.fileio import (
    publish,
    remove_stale_temps,
    sha256_file,
    temp_path,
)
from desktop_app.core.paths import default_threads
from desktop_app.core.progress import Job, Progress
from desktop_app.core.store.hnsw_graph import HnswGraph, HnswParams, LabelFilter
from desktop_app.core.store.index_sidecar import Sidecar, read_sidecar, write_sidecar
from desktop_app.core.store.rows import VectorBatch, VectorStats
from desktop_app.core.store.vector_codec import id_stats

REBUILD_BATCH = 2048
REBUILD_THREADS_SHARE = 0.5  # leave half the cores to the GUI and the embedder


class VectorSource(Protocol):
    """What the index needs from the database (``Database`` provides it)."""

    def vector_ids(self) -> np.ndarray: ...
    def vector_rows(self, after_id: int = 0, limit: int = 1024) -> VectorBatch: ...
    def vector_batch_for_ids(self, ids: Iterable[int]) -> VectorBatch: ...
    def vector_model_id(self) -> str | None: ...


@dataclass(frozen=True)
class OpenReport:
    rebuilt: bool
    reason: str  # why the file was not used ('' when it was)
    added: int  # labels reconciliation added
    deleted: int  # labels reconciliation marked deleted
    count: int  # vectors in the index afterwards


class VectorIndex:
    def __init__(
        self,
        path: Path,
        dim: int,
        *,
        ef: int = 100,
        m: int = 16,
        ef_construction: int = 200,
        threads: int | None = None,
    ) -> None:
        if dim <= 0:
            raise ValueError("dim must be positive")
        self.path = Path(path)
        self.params = HnswParams(dim=dim, m=m, ef_construction=ef_construction, ef=ef)
        self.threads = threads or default_threads(REBUILD_THREADS_SHARE)
        self._lock = threading.RLock()
        self._open_lock = threading.Lock()  # one open/rebuild at a time
        self._graph = HnswGraph.empty(self.params)
        # The database of the last open: save() asks it for the model id to record,
        # because vectors added since the open may be the first of a new model.
        self._source: VectorSource | None = None
        self._dirty = True  # nothing on disk describes the empty graph yet

    @property
    def dim(self) -> int:
        return self.params.dim

    def __len__(self) -> int:
        with self._lock:
            return len(self._graph)

    def ids(self) -> set[int]:
        """The live labels (a copy)."""
        with self._lock:
            return set(self._graph.live)

    # -- opening -----------------------------------------------------------------------

    def open_or_rebuild(self, db: VectorSource,
                        wait: bool = True) -> Job[OpenReport | None]:
        """Load the file if it can be trusted, else rebuild it from ``db``; either way
        reconcile with ``db`` and save. A job: a rebuild yields "index" steps (vectors
        added of all), and closing it stops the rebuild (searches keep using the graph
        held before it started). ``wait=False``: None at once when another open holds
        the lock (it may be a job paused mid-rebuild) instead of waiting for it."""
        if not self._open_lock.acquire(blocking=wait):
            return None
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                remove_stale_temps(self.path)
                loaded = self._load_verified(db)
                self._source = db
                if isinstance(loaded, HnswGraph):
                    self._graph = loaded
                    self._dirty = False
                    added, deleted = self._reconcile_locked(db)
                    if self._needs_compaction():
                        reason = "too many deleted entries: compacting"
                    else:
                        self.save()
                        return OpenReport(False, "", added, deleted, len(self._graph))
                else:
                    reason = loaded
            graph = yield from self._build(db)
            with self._lock:
                self._graph = graph
                # Adds/deletes that reached SQLite during the build are picked up here.
                added, deleted = self._reconcile_locked(db)
                self._dirty = True
                self.save()
                return OpenReport(True, reason, added, deleted, len(self._graph))
        finally:
            self._open_lock.release()

    def _load_verified(self, db: VectorSource) -> HnswGraph | str:
        """The loaded graph, or the reason it cannot be trusted."""
        if not self.path.is_file():
            return "no index file"
        sidecar = read_sidecar(self.path)
        if sidecar is None:
            return "index metadata missing or unreadable"
        p = self.params
        if (sidecar.dim, sidecar.m, sidecar.ef_construction) != (p.dim, p.m, p.ef_construction):
            return f"index was built with dim={sidecar.dim}, M={sidecar.m}"
        if sidecar.model_id != db.vector_model_id():
            return "index was built from another model's vectors"
        recorded = VectorStats(sidecar.count, sidecar.checksum)
        if id_stats(db.vector_ids()) != recorded:
            return "index is out of date with the database"
        try:
            intact = (self.path.stat().st_size == sidecar.index_bytes
                      and sha256_file(self.path) == sidecar.index_sha256)
        except OSError:
            intact = False
        if not intact:
            return "index file is damaged or was not completely written"
        try:
            graph = HnswGraph.load(self.path, p, sidecar.deleted)
        except (RuntimeError, ValueError, OSError, MemoryError) as exc:
            return f"index file could not be loaded: {exc}"
        if id_stats(graph.live) != recorded:
            return "index content disagrees with its metadata"
        return graph

    def _needs_compaction(self) -> bool:
        # Deleted entries still cost memory and search time; a rebuild drops them.
        return len(self._graph.deleted) > max(1024, len(self._graph) // 4)

    def _build(self, db: VectorSource) -> Job[HnswGraph]:
        total = len(db.vector_ids())
        graph = HnswGraph.empty(self.params, capacity=total + total // 8)
        done, after = 0, 0
        yield Progress("index", 0, total)
        while True:
            batch = db.vector_rows(after, REBUILD_BATCH)
            if not len(batch):
                break
            graph.add(batch.ids, batch.vectors, threads=self.threads)
            after = int(batch.ids[-1])
            done += len(batch)
            yield Progress("index", done, max(done, total))
        return graph

    # -- keeping in step with SQLite -----------------------------------------------------

    def reconcile(self, db: VectorSource) -> tuple[int, int]:
        """Make the label set equal SQLite's id set; returns (added, deleted)."""
        with self._lock:
            return self._reconcile_locked(db)

    def _reconcile_locked(self, db: VectorSource) -> tuple[int, int]:
        want = {int(x) for x in db.vector_ids()}
        have = self._graph.live
        missing = sorted(want - have)
        extra = have - want
        added = 0
        for start in range(0, len(missing), REBUILD_BATCH):
            batch = db.vector_batch_for_ids(missing[start : start + REBUILD_BATCH])
            if len(batch):
                added += self._graph.add(batch.ids, batch.vectors, threads=self.threads)
        deleted = self._graph.delete(extra)
        if added or deleted:
            self._dirty = True
        return added, deleted

    # -- using it ----------------------------------------------------------------------

    def add(self, ids: ArrayLike, vectors: ArrayLike) -> int:
        """Add vectors (full or already truncated; re-normalized at ``dim``). Adding a
        label that is already present is a no-op. Returns how many were new."""
        with self._lock:
            n = self._graph.add(ids, vectors, threads=self.threads)
            self._dirty = self._dirty or n > 0
            return n

    def delete(self, ids: Iterable[int]) -> int:
        """Mark labels deleted; unknown or already deleted labels are ignored."""
        with self._lock:
            n = self._graph.delete(ids)
            self._dirty = self._dirty or n > 0
            return n

    def search(
        self, query_vector: ArrayLike, k: int, filter: LabelFilter | None = None
    ) -> list[tuple[int, float]]:
        """Approximate top ``k`` as ``(vector_id, cosine at dim)``, best first. Returns
        fewer when fewer vectors exist (or pass ``filter``), [] when empty."""
        with self._lock:
            return self._graph.search(query_vector, k, filter)

    def _recorded_model_id(self) -> str | None:
        if self._source is None:
            return None
        try:
            return self._source.vector_model_id()
        except sqlite3.ProgrammingError:
            # Database already closed: recording no model only costs a rebuild next time.
            return None

    def save(self) -> None:
        """Write the index atomically, then its sidecar (see module docstring). A crash
        between the two leaves a sidecar that disagrees with the file: a rebuild, never
        trust in a stale file. Skipped when nothing changed since the last save."""
        with self._lock:
            if not self._dirty and self.path.is_file():
                return
            tmp = temp_path(self.path)
            try:
                self._graph.save(tmp)
                size, digest = tmp.stat().st_size, sha256_file(tmp)
                publish(tmp, self.path)
            finally:
                tmp.unlink(missing_ok=True)
            stats = id_stats(self._graph.live)
            model_id = self._recorded_model_id()
            write_sidecar(self.path, Sidecar(
                dim=self.params.dim, m=self.params.m,
                ef_construction=self.params.ef_construction, model_id=model_id,
                count=stats.count, checksum=stats.checksum,
                deleted=tuple(sorted(self._graph.deleted)),
                index_bytes=size, index_sha256=digest,
            ))
            self._dirty = False
