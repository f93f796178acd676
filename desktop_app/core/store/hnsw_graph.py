"""One hnswlib index plus the bookkeeping hnswlib does not expose.

hnswlib cannot say which labels are marked deleted (they stay in ``get_ids_list``) and
raises on deleting one twice, so we keep ``live`` and ``deleted`` label sets beside it.
Not thread-safe on its own: ``VectorIndex`` serializes every call.

A search limited to some labels (``allowed``: the vectors of a few collections) filters
inside hnswlib while it walks the graph, so the best allowed vectors are found however
many better ones are not allowed. The walk slows as the allowed share shrinks (it must
visit more nodes to meet enough that pass), so a small allowed set is scanned exactly
instead: that costs its size, and is also exact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence, Set
from dataclasses import dataclass
from pathlib import Path

import hnswlib
import numpy as np
from numpy.typing import ArrayLike

from desktop_app.core.store.vector_codec import truncate

LabelFilter = Callable[[int], bool]

MIN_CAPACITY = 1024
_EXACT_BATCH = 8192
# An allowed set up to this many labels is scanned exactly rather than walked with a
# filter. hnswlib hands vectors out slowly (15-30 us each), so a scan of 1,000 took 27 ms
# on a 100k graph at 256 dims where the filtered walk took 44 ms, and at 2,000 the walk
# was the faster (24 ms); a walk gets cheaper as the allowed share grows, a scan dearer.
EXACT_SCAN_LABELS = 1500


@dataclass(frozen=True)
class HnswParams:
    dim: int
    m: int = 16
    ef_construction: int = 200
    ef: int = 100  # search breadth: higher is slower and finds more of the true top-k


class HnswGraph:
    def __init__(self, params: HnswParams, index: hnswlib.Index, live: set[int],
                 deleted: set[int]) -> None:
        self.params = params
        self._index = index
        self.live = live
        self.deleted = deleted
        index.set_ef(params.ef)

    @classmethod
    def empty(cls, params: HnswParams, capacity: int = MIN_CAPACITY) -> HnswGraph:
        index = hnswlib.Index(space="ip", dim=params.dim)  # ip on unit vectors == cosine
        index.init_index(max_elements=max(capacity, MIN_CAPACITY), M=params.m,
                         ef_construction=params.ef_construction)
        return cls(params, index, set(), set())

    @classmethod
    def load(cls, path: Path, params: HnswParams, deleted: Iterable[int]) -> HnswGraph:
        """Load a saved index; raises (RuntimeError, ValueError, OSError) if unusable.
        Only call on a file whose checksum was verified: hnswlib trusts its input."""
        index = hnswlib.Index(space="ip", dim=params.dim)
        index.load_index(str(path))
        if (index.M, index.ef_construction) != (params.m, params.ef_construction):
            raise ValueError("index built with other parameters")
        labels = {int(x) for x in index.get_ids_list()}
        gone = {int(x) for x in deleted}
        if not gone <= labels:
            raise ValueError("metadata lists deleted labels the index does not have")
        return cls(params, index, labels - gone, gone)

    def __len__(self) -> int:
        return len(self.live)

    def add(self, ids: ArrayLike, vectors: ArrayLike, threads: int = 1) -> int:
        """Add vectors (any length >= dim: truncated and re-normalized here). Labels
        already live are skipped, so repeating an add is harmless; a deleted label comes
        back to life. Returns how many were added."""
        labels = np.asarray(ids, dtype=np.int64).reshape(-1)
        if labels.size == 0:
            return 0
        data = truncate(vectors, self.params.dim)
        if len(labels) != len(data):
            raise ValueError(f"{len(labels)} ids for {len(data)} vectors")
        _, first = np.unique(labels, return_index=True)
        keep = np.array(
            [i for i in sorted(first) if int(labels[i]) not in self.live], dtype=np.int64
        )
        if keep.size == 0:
            return 0
        labels, data = labels[keep], data[keep]
        fresh = sum(1 for x in labels if int(x) not in self.deleted)
        needed = self._index.element_count + fresh
        if needed > self._index.max_elements:
            # Grow geometrically so a stream of small adds doesn't resize every time.
            self._index.resize_index(max(needed, 2 * self._index.max_elements))
        # hnswlib unmarks and overwrites a label that is marked deleted.
        self._index.add_items(data, labels.astype(np.uint64), num_threads=threads)
        for x in labels:
            self.live.add(int(x))
            self.deleted.discard(int(x))
        return int(labels.size)

    def delete(self, ids: Iterable[int]) -> int:
        """Mark labels deleted (absent or already deleted ones are ignored)."""
        n = 0
        for label in {int(x) for x in ids} & self.live:
            self._index.mark_deleted(label)
            self.live.discard(label)
            self.deleted.add(label)
            n += 1
        return n

    def search(
        self, query: ArrayLike, k: int, label_filter: LabelFilter | None = None,
        *, allowed: Set[int] | None = None,
    ) -> list[tuple[int, float]]:
        """Top ``k`` as ``(label, cosine)``, best first; fewer if fewer exist. Only
        labels that pass ``label_filter`` and are in ``allowed`` (when given)."""
        k = min(int(k), len(self.live))
        if k <= 0:
            return []
        q = truncate(query, self.params.dim)
        if q.shape[0] != 1:
            raise ValueError("search takes one query vector")
        if allowed is not None:
            if len(allowed) <= EXACT_SCAN_LABELS:
                return self._exact(q[0], k, self._candidates(allowed, label_filter))
            label_filter = _both(allowed.__contains__, label_filter)
        self._index.set_ef(max(self.params.ef, k))
        try:
            labels, dists = self._index.knn_query(q, k=k, num_threads=1, filter=label_filter)
        except RuntimeError:
            # hnswlib raises when it finds fewer than k: a filter that few labels pass,
            # or a graph thinned by deletions. Those cases are small or rare: go exact.
            return self._exact(q[0], k, self._candidates(self.live, label_filter))
        # hnswlib's 'ip' distance is 1 - inner product.
        return [(int(x), float(1.0 - d)) for x, d in zip(labels[0], dists[0], strict=True)]

    def _candidates(self, labels: Set[int], label_filter: LabelFilter | None) -> list[int]:
        live = self.live
        return [x for x in labels if x in live and (label_filter is None or label_filter(x))]

    def _exact(self, q: np.ndarray, k: int, labels: list[int]) -> list[tuple[int, float]]:
        best_labels = np.empty(0, dtype=np.int64)
        best_scores = np.empty(0, dtype=np.float32)
        for start in range(0, len(labels), _EXACT_BATCH):
            part = np.asarray(labels[start : start + _EXACT_BATCH], dtype=np.int64)
            scores = self.vectors(part) @ q
            best_labels = np.concatenate([best_labels, part])
            best_scores = np.concatenate([best_scores, scores])
            if len(best_scores) > k:
                keep = np.argpartition(-best_scores, k - 1)[:k]
                best_labels, best_scores = best_labels[keep], best_scores[keep]
        order = np.argsort(-best_scores, kind="stable")
        return [(int(best_labels[i]), float(best_scores[i])) for i in order]

    def vectors(self, labels: Sequence[int] | np.ndarray) -> np.ndarray:
        """The stored (truncated, normalized) vectors of live labels, in order."""
        if not len(labels):
            return np.empty((0, self.params.dim), dtype=np.float32)
        # An array, not a list: hnswlib converts a list item by item (2.4x slower).
        wanted = np.asarray(labels, dtype=np.uint64)
        return np.asarray(self._index.get_items(wanted), dtype=np.float32)

    def save(self, path: Path) -> None:
        self._index.save_index(str(path))


def _both(first: LabelFilter, second: LabelFilter | None) -> LabelFilter:
    if second is None:
        return first
    return lambda label: first(label) and second(label)
