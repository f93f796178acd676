"""How vectors are stored in SQLite (little-endian float32 blobs) and digested."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import ArrayLike

from desktop_app.core.store.rows import VectorStats

_DTYPE = np.dtype("<f4")  # explicit byte order: a database copied between machines still reads


def normalized(vector: ArrayLike) -> np.ndarray:
    """A finite, non-zero 1-D vector scaled to unit length, as float32.

    Stored vectors are unit length so that inner product == cosine everywhere (hnswlib
    'ip' space, rescoring) without anyone having to remember to normalize.
    """
    v = np.asarray(vector, dtype=np.float64).reshape(-1)
    norm = float(np.linalg.norm(v))
    if v.size == 0 or not np.isfinite(norm) or norm == 0.0:
        raise ValueError("a vector must be non-empty, finite and not all zeros")
    return (v / norm).astype(np.float32)


def to_blob(vector: ArrayLike) -> bytes:
    return normalized(vector).astype(_DTYPE).tobytes()


def from_blobs(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    """Stack blobs into an (n, dim) float32 array."""
    out = np.empty((len(blobs), dim), dtype=np.float32)
    for i, blob in enumerate(blobs):
        row = np.frombuffer(blob, dtype=_DTYPE)
        if row.size != dim:
            raise ValueError(f"stored vector has {row.size} components, expected {dim}")
        out[i] = row
    return out


def truncate(vectors: ArrayLike, dim: int) -> np.ndarray:
    """Matryoshka truncation: first ``dim`` components, re-normalized, as (n, dim) float32."""
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] < dim:
        raise ValueError(f"expected vectors with at least {dim} components, got {arr.shape}")
    cut = arr[:, :dim]
    norms = np.linalg.norm(cut, axis=1, keepdims=True)
    return np.ascontiguousarray(cut / np.maximum(norms, 1e-12), dtype=np.float32)


def id_stats(ids: Iterable[int] | np.ndarray) -> VectorStats:
    """Count and sha256 of the sorted, de-duplicated ids: equal sets give equal digests.

    Computed the same way from SQLite's rows and from the labels in the hnswlib index, so
    comparing the two is comparing the sets.
    """
    if isinstance(ids, np.ndarray):
        arr = ids.astype(np.int64, copy=False)
    else:
        arr = np.fromiter(ids, dtype=np.int64)
    arr = np.unique(arr)  # sorted and de-duplicated: the digest ignores order
    digest = hashlib.sha256(arr.astype("<i8").tobytes()).hexdigest()
    return VectorStats(int(arr.size), digest)
