"""Stand-in chunks and vectors for tests of the store, and of what sits on it.

No embedding model is needed here: a "vector" is a deterministic pseudo-random unit
vector derived from the embed_key, and an embed_key is the sha256 of the chunk text.
"""

from __future__ import annotations

import hashlib

import numpy as np

from desktop_app.core.settings import MATRYOSHKA_DIMS
from desktop_app.core.store import Database, NewChunk

MODEL = "test-model"
FULL_DIM = MATRYOSHKA_DIMS[0]


def key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chunks(*texts: str, title: str | None = None) -> list[NewChunk]:
    return [NewChunk(text=t, embed_key=key(t), title=title) for t in texts]


def vector_for(embed_key: str, dim: int = FULL_DIM) -> np.ndarray:
    seed = int(embed_key[:16], 16)
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


def unit_vectors(n: int, dim: int = FULL_DIM, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def embedding_like(n: int, dim: int = FULL_DIM, latent: int = 32, seed: int = 0) -> np.ndarray:
    """Unit vectors with low intrinsic dimension, like real sentence embeddings.

    Isotropic Gaussian noise in 768-d is the one case where nearest neighbours are
    barely nearer than anything else; it says little about an ANN index on real text.
    """
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((latent, dim)).astype(np.float32)
    v = rng.standard_normal((n, latent)).astype(np.float32) @ basis
    v += 0.1 * np.sqrt(latent) * rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def embed_pending(db: Database, model: str = MODEL) -> dict[str, int]:
    """Do what the pipeline does: embed every pending key (with fake vectors)."""
    added: dict[str, int] = {}
    while pending := db.pending_embed_keys(100):
        added.update(db.add_vectors(model, [(p.embed_key, vector_for(p.embed_key))
                                            for p in pending]))
    return added
