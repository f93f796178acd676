"""``VectorIndex``: an hnswlib cache of the vectors in SQLite that cannot drift.

SQLite (vectors_repo) holds every vector; this file is only an accelerator. On open the
file is trusted only if its sidecar (index_sidecar.py) matches the file itself (size +
sha256, and the labels it holds), the parameters asked for (dim, M, ef_construction) and
the database's model, and a sample of the labels it shares with SQLite holds the same
vectors there; anything else -- missing, truncated, other dim or model, unreadable,
another database -- means a rebuild from ``db.vector_rows``, never a crash.

A trusted file that is merely *older* than SQLite (the process was killed after vectors
were committed but before the next save) is not rebuilt: SQLite ids come from
AUTOINCREMENT and are never reused, so a label the file holds either still names the
same vector or was deleted. Opening reconciles it -- adds the ids SQLite gained since the
save, marks deleted those it lost -- which costs the difference, not the library. Only
when the deleted entries would pile up (a quarter of the library) is it rebuilt to drop
them. Either way the index ends every open holding exactly SQLite's vectors.

Write order for callers: commit to SQLite first, then ``add``/``delete`` here. A crash
in between leaves the index behind SQLite, which the next open repairs.

``read_only=True`` (a ``kura search`` beside the window that owns the library): nothing
is ever written -- no save, no clean-up of temp files, an out-of-date file is reconciled
or rebuilt in memory only. The writer may replace the file while it is being checked; a
file that changed under the check is checked again.

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
import time
from collections.abc import Iterable, Set
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
from desktop_app.core.store.index_sidecar import (
    Sidecar,
    read_sidecar,
    sidecar_path,
    write_sidecar,
)
from desktop_app.core.store.rows import VectorBatch, VectorStats
from desktop_app.core.store.vector_codec import id_stats, truncate

REBUILD_BATCH = 2048
REBUILD_THREADS_SHARE = 0.5  # leave half the cores to the GUI and the embedder
MIN_DEAD_ENTRIES = 1024  # below this many deleted entries, never rebuild just to drop them
_IDENTITY_SAMPLE = 32  # labels compared with SQLite on open (newest ones, and a spread)
_IDENTITY_TOLERANCE = 1e-4  # float32 unit vectors stored as given: equal, up to rounding
_LOAD_ATTEMPTS = 3
_RELOAD_PAUSE_S = 0.05


def _compaction_limit(live: int) -> int:
    """Deleted entries beyond this are worth a rebuild (see the module docstring)."""
    return max(MIN_DEAD_ENTRIES, live // 4)


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
        read_only: bool = False,
    ) -> None:
        if dim <= 0:
            raise ValueError("dim must be positive")
        self.path = Path(path)
        self.params = HnswParams(dim=dim, m=m, ef_construction=ef_construction, ef=ef)
        self.threads = threads or default_threads(REBUILD_THREADS_SHARE)
        self.read_only = read_only
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
        reconcile with ``db`` and save (never when ``read_only``). A job: a rebuild, or
        a catch-up with many vectors the file lacks, yields "index" steps, and closing
        it stops the work (searches keep using the graph in use). ``wait=False``: None
        at once when another open holds the lock (it may be a job paused mid-rebuild)
        instead of waiting for it."""
        if not self._open_lock.acquire(blocking=wait):
            return None
        try:
            if not self.read_only:
                with self._lock:  # not while a save of this process writes its temp file
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    remove_stale_temps(self.path)
            db_ids = db.vector_ids()
            loaded = self._load_verified(db, db_ids)
            want = {int(x) for x in db_ids}
            if isinstance(loaded, HnswGraph):
                dead = len(loaded.deleted) + len(loaded.live - want)
                if dead <= _compaction_limit(len(want)):
                    added, deleted = yield from self._catch_up(loaded, db, want)
                    return OpenReport(False, "", added, deleted, len(self))
                # Deleted entries still cost memory and search time; a rebuild drops them.
                reason = "too many deleted entries: compacting"
            else:
                reason = loaded
            graph = yield from self._build(db)
            with self._lock:
                self._graph = graph
                self._source = db
                # Adds/deletes that reached SQLite during the build are picked up here.
                added, deleted = self._reconcile_locked(db)
                self._dirty = True
                self.save()
                return OpenReport(True, reason, added, deleted, len(self._graph))
        finally:
            self._open_lock.release()

    def _catch_up(self, graph: HnswGraph, db: VectorSource,
                  want: set[int]) -> Job[tuple[int, int]]:
        """Put a verified file's graph in use and apply what SQLite gained and lost since
        it was saved (ids are never reused, so a label both hold is the same vector).
        The adds go in batches, each under the lock, so searches run between them."""
        with self._lock:
            self._graph = graph
            self._source = db
            deleted = graph.delete(graph.live - want)
            missing = sorted(want - graph.live)
            self._dirty = deleted > 0
        added = 0
        if len(missing) > REBUILD_BATCH:
            yield Progress("index", 0, len(missing))
        for start in range(0, len(missing), REBUILD_BATCH):
            batch = db.vector_batch_for_ids(missing[start : start + REBUILD_BATCH])
            with self._lock:
                added += graph.add(batch.ids, batch.vectors, threads=self.threads)
                self._dirty = self._dirty or added > 0
            if len(missing) > REBUILD_BATCH:
                yield Progress("index", min(start + REBUILD_BATCH, len(missing)), len(missing))
        with self._lock:
            more_added, more_deleted = self._reconcile_locked(db)  # arrived meanwhile
            self.save()
        return added + more_added, deleted + more_deleted

    def _load_verified(self, db: VectorSource, db_ids: np.ndarray) -> HnswGraph | str:
        """The loaded graph, or the reason it cannot be trusted. A file replaced while
        it was being checked (the library's writer saving, seen by a read-only index) is
        checked again rather than rebuilt."""
        result: HnswGraph | str = "no index file"
        for attempt in range(_LOAD_ATTEMPTS):
            before = self._disk_state()
            result = self._load_once(db, db_ids)
            if (self.read_only and isinstance(result, str) and before[0] is not None
                    and attempt + 1 < _LOAD_ATTEMPTS):
                # The writer publishes the file, then its sidecar, a few ms apart: a new
                # file beside the old sidecar looks damaged until the sidecar lands.
                time.sleep(_RELOAD_PAUSE_S)
            if self._disk_state() == before:
                return result
        return result

    def _disk_state(self) -> tuple[tuple[int, int, int] | None, ...]:
        def identity(path: Path) -> tuple[int, int, int] | None:
            try:
                st = path.stat()
            except OSError:
                return None
            return st.st_ino, st.st_size, st.st_mtime_ns

        return identity(self.path), identity(sidecar_path(self.path))

    def _load_once(self, db: VectorSource, db_ids: np.ndarray) -> HnswGraph | str:
        if not self.path.is_file():
            return "no index file"
        sidecar = read_sidecar(self.path)
        if sidecar is None:
            return "index metadata missing or unreadable"
        p = self.params
        if (sidecar.dim, sidecar.m, sidecar.ef_construction) != (p.dim, p.m, p.ef_construction):
            return f"index was built with dim={sidecar.dim}, M={sidecar.m}"
        if sidecar.model_id != db.vector_model_id() and sidecar.count:
            return "index was built from another model's vectors"
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
        if id_stats(graph.live) != VectorStats(sidecar.count, sidecar.checksum):
            return "index content disagrees with its metadata"
        if not self._same_vectors(graph, db, db_ids):
            return "index holds other vectors than the database under the same ids"
        return graph

    def _same_vectors(self, graph: HnswGraph, db: VectorSource, db_ids: np.ndarray) -> bool:
        """Whether labels the file and SQLite both hold name the same vectors. Ids are
        never reused within one database, so they differ only when the database file was
        replaced (another library, or a backup restored and written to since): the
        newest shared labels are where such a replacement shows first, a spread of the
        others catches the rest."""
        shared = np.sort(np.fromiter(graph.live, dtype=np.int64, count=len(graph.live)))
        shared = shared[np.isin(shared, db_ids, assume_unique=True)]
        if not len(shared):
            return True
        spread = shared[np.linspace(0, len(shared) - 1, _IDENTITY_SAMPLE).astype(np.int64)]
        sample = np.unique(np.concatenate([shared[-_IDENTITY_SAMPLE:], spread]))
        batch = db.vector_batch_for_ids(sample.tolist())  # less any deleted meanwhile
        stored = graph.vectors(batch.ids)
        expected = truncate(batch.vectors, self.params.dim)
        return bool(np.allclose(stored, expected, atol=_IDENTITY_TOLERANCE))

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
        self, query_vector: ArrayLike, k: int, filter: LabelFilter | None = None,
        *, allowed: Set[int] | None = None,
    ) -> list[tuple[int, float]]:
        """Approximate top ``k`` as ``(vector_id, cosine at dim)``, best first. Returns
        fewer when fewer vectors exist (or pass ``filter`` / are in ``allowed``), [] when
        empty. ``allowed``: only these labels (a search scoped to some collections); the
        graph filters while it walks, or scans them exactly when they are few."""
        with self._lock:
            return self._graph.search(query_vector, k, filter, allowed=allowed)

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
        trust in a stale file. Skipped when nothing changed since the last save, and
        always when the index is read-only."""
        if self.read_only:
            return
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
