"""A small embedder that satisfies ``TextEmbedder`` without any model: for tests of the
library's own behaviour (what it stores, saves and resumes), never of search quality."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace

from desktop_app.core.embedder import truncate_dims


class HashedWords:
    """Stands in only to prove the ``TextEmbedder`` protocol: an object with its members,
    and nothing of EmbeddingGemma, runs the library. Deterministic and meaningless beyond
    shared words: each lowercase word is a fixed direction (from its sha256), a text the
    normalized sum of its words; tokens for chunking are whitespace-separated words."""

    model_id = "hashed-words"
    dims = 768

    def __init__(self) -> None:
        tokenizer = Tokenizer(WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
        tokenizer.pre_tokenizer = Whitespace()
        self.chunk_tokenizer = tokenizer

    def embed_documents(self, texts: Sequence[str],
                        titles: Sequence[str | None] | None = None,
                        dim: int | None = None) -> np.ndarray:
        return self._embed(texts, dim)

    def embed_queries(self, texts: Sequence[str], dim: int | None = None) -> np.ndarray:
        return self._embed(texts, dim)

    def _embed(self, texts: Sequence[str], dim: int | None) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dims), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                column = int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "big")
                vectors[row, column % self.dims] += 1.0
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return truncate_dims(vectors, dim or self.dims)
