"""Hybrid retrieval: meaning (hnswlib + full-dimension rescoring) and keywords (FTS5),
fused with reciprocal rank fusion, grouped so one file does not fill the top k.

Why both: dense search finds the passage when the words differ ("reset my login" →
"重置密码"), keywords find exact names, numbers and codes that embeddings blur, and
keywords work for documents whose chunks are not embedded yet.

Why RRF: the two scores are on different scales (cosine vs BM25); ranks are not.
The calibrated ``relevance`` of a result comes from its dense cosine only, because it is
the score that was calibrated (``desktop_app/core/relevance.py``).

A search scoped to some collections is scoped inside each retriever, not after it: FTS5
joins the scope in SQL, and hnswlib walks only the vectors that chunks of the scope use
(``Database.vector_ids_in_collections``). Filtering the top candidates afterwards would
lose a small collection's best passages behind a large collection's better ones. A
search of every collection passes no filter at all and pays nothing for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from desktop_app.core.embedder import TextEmbedder, truncate_dims
from desktop_app.core.errors import KuraError
from desktop_app.core.relevance import relevance
from desktop_app.core.store import Chunk, Database, VectorIndex

RRF_K = 60  # the usual constant: damps the difference between rank 1 and rank 2
SNIPPET_CHARS = 240


@dataclass(frozen=True)
class SearchResult:
    chunk: Chunk
    collection: str
    score: float  # fused RRF score: only for ordering
    cosine: float | None  # dense similarity at 768 dims, None for keyword-only hits
    relevance: float | None  # calibrated probability that the passage is relevant
    snippet: str

    @property
    def path(self) -> str:
        return self.chunk.path

    def as_dict(self) -> dict:
        return {
            "path": self.chunk.path,
            "collection": self.collection,
            "title": self.chunk.title,
            "location": self.chunk.location,
            "page": self.chunk.page,
            "start_char": self.chunk.start_char,
            "end_char": self.chunk.end_char,
            "score": round(self.score, 6),
            "cosine": None if self.cosine is None else round(self.cosine, 4),
            "relevance": None if self.relevance is None else round(self.relevance, 4),
            "snippet": self.snippet,
        }


@dataclass(frozen=True)
class SearchResponse:
    query: str
    results: list[SearchResult]
    collections: list[str]  # what was searched
    not_embedded: list[str] = field(default_factory=list)  # found by keywords only, for now

    @property
    def best_relevance(self) -> float:
        values = [r.relevance for r in self.results if r.relevance is not None]
        return max(values, default=0.0)


@dataclass(frozen=True)
class SearchOptions:
    k: int = 10
    per_document: int = 2  # at most this many passages of one file in the top k
    candidates: int = 100  # taken from each retriever before fusion
    # With a truncated (coarse) index, rescoring needs more candidates to find the true
    # top 10: 400 at 256 dims for recall@10 0.98 at 100k chunks (benchmarks/search.py).
    coarse_candidates: int = 400


def hybrid_search(
    db: Database,
    index: VectorIndex,
    embedder: TextEmbedder,
    query: str,
    collections: list[str] | None = None,
    options: SearchOptions | None = None,
    *,
    use_vectors: bool = True,
) -> SearchResponse:
    """``use_vectors=False``: keywords only, no cosine (the stored vectors were made by
    another model than ``embedder``, so comparing its query vector with them is noise)."""
    options = options or SearchOptions()
    query = query.strip()
    names = db.collection_names()
    scope: list[int] | None = None
    if collections:
        unknown = [c for c in collections if c not in names.values()]
        if unknown:
            raise KuraError(f"no collection named {', '.join(map(repr, unknown))}")
        scope = [i for i, n in names.items() if n in collections]
    searched = [names[i] for i in (scope or names)]
    if not query:
        return SearchResponse(query, [], searched)

    query_vector = embedder.embed_queries([query], dim=embedder.dims)[0]
    n_dense = options.candidates if index.dim == 768 else options.coarse_candidates
    whole_library = scope is None or set(scope) >= set(names)
    dense = _dense(db, index, query_vector, None if whole_library else scope, n_dense) \
        if use_vectors else []
    keyword = db.keyword_search(query, options.candidates, scope)

    fused: dict[int, float] = {}
    for rank, (chunk_id, _cos) in enumerate(dense):
        fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank + 1)
    for rank, (chunk_id, _bm25) in enumerate(keyword):
        fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank + 1)
    cosines = dict(dense)

    chunks = db.get_chunks(fused)
    missing_cos = [cid for cid in fused if cid not in cosines and cid in chunks]
    if use_vectors:
        cosines.update(_cosines_by_key(db, [chunks[c] for c in missing_cos], query_vector))

    results: list[SearchResult] = []
    per_doc: dict[int, int] = {}
    for chunk_id in sorted(fused, key=lambda c: -fused[c]):
        chunk = chunks.get(chunk_id)
        if chunk is None:
            continue
        if per_doc.get(chunk.document_id, 0) >= options.per_document:
            continue
        per_doc[chunk.document_id] = per_doc.get(chunk.document_id, 0) + 1
        cos = cosines.get(chunk_id)
        results.append(SearchResult(
            chunk=chunk,
            collection=names.get(chunk.collection_id, ""),
            score=fused[chunk_id],
            cosine=cos,
            relevance=None if cos is None else float(relevance(cos)),
            snippet=snippet(chunk.text, query),
        ))
        if len(results) >= options.k:
            break
    not_embedded = sorted(
        d.path for d in db.documents(status="parsed")
        if scope is None or d.collection_id in scope
    )
    return SearchResponse(query, results, searched, not_embedded)


def _dense(
    db: Database, index: VectorIndex, query: np.ndarray, scope: list[int] | None, n: int
) -> list[tuple[int, float]]:
    """(chunk id, cosine at 768) best first, of the chunks in ``scope`` (None: all).
    The index may hold truncated vectors (coarse); the candidates are rescored with the
    full vectors from SQLite (fine)."""
    allowed = None if scope is None else db.vector_ids_in_collections(scope)
    coarse = index.search(truncate_dims(query[None, :], index.dim)[0], n, allowed=allowed)
    if not coarse:
        return []
    ids = [vid for vid, _ in coarse]
    if index.dim == 768:
        scores = dict(coarse)
    else:
        # A vector deleted since the index answered (a sync running) simply drops out.
        batch = db.vector_batch_for_ids(ids)
        scores = dict(zip(batch.ids.tolist(), (batch.vectors @ query).tolist(), strict=True))
    by_vector = db.chunks_for_vector_ids(ids, scope)
    ranked: list[tuple[int, float]] = []
    for vid in sorted(scores, key=lambda v: -scores[v]):
        for chunk in by_vector.get(vid, []):
            ranked.append((chunk.id, float(scores[vid])))
    return ranked


def _cosines_by_key(db: Database, chunks: list[Chunk], query: np.ndarray) -> dict[int, float]:
    """Cosine for keyword-only hits whose text does have a vector."""
    if not chunks:
        return {}
    vectors = db.vectors_for_keys([c.embed_key for c in chunks])
    return {c.id: float(vectors[c.embed_key] @ query) for c in chunks if c.embed_key in vectors}


_WORD = re.compile(r"\w+", re.UNICODE)


def snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """A window of the passage around the first query term it contains."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    lowered = flat.casefold()
    terms = [t.casefold() for t in _WORD.findall(query) if len(t) > 1]
    # CJK queries have no spaces: try their two-character pieces too.
    terms += [t[i : i + 2] for t in terms for i in range(len(t) - 1) if not t.isascii()]
    hits = [i for t in terms if (i := lowered.find(t)) >= 0]
    start = max(0, min(hits) - width // 3) if hits else 0
    end = min(len(flat), start + width)
    return ("…" if start else "") + flat[start:end].strip() + ("…" if end < len(flat) else "")
