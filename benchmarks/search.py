"""Search at library scale: index dim 768 vs 256 (coarse-to-fine), against exact search.

    python benchmarks/search.py                       # 10k and 100k chunks, ~5-10 minutes
    python benchmarks/search.py --sizes 10000         # quick look
    python benchmarks/search.py --tmp /some/big/disk  # where the libraries are built

For each size, one library is built through the real store API in a temporary folder
(``Database``: a collection, documents of 20 chunks via ``replace_document``, then
``add_vectors``), and two ``VectorIndex`` caches are built from it with
``open_or_rebuild``: one holding the full 768-d vectors, one holding them truncated to 256
dims (the app then rescores the top candidates with the full vectors from SQLite). It
prints, as markdown tables:

1. a check of the vector generator against real EmbeddingGemma vectors (the eval set);
2. build time, sizes on disk and RSS growth of each index (each index is opened in its
   own subprocess, so the growth is its own);
3. recall@10 against exact brute-force search over every 768-d vector (the reference,
   measured in the same run) for 768 at several hnsw ``ef``, and for 256 taking the top
   C candidates and rescoring them with the full vectors (``db.vector_batch_for_ids``);
   "exact 256" rows do the same without hnsw, to separate truncation loss from graph loss;
4. latency p50/p95 of the dense part (``search._dense``: index search, rescoring,
   mapping labels to chunks), of ``db.keyword_search`` and of ``hybrid_search`` end to
   end with the real quantized embedder embedding each query; the stored vectors are
   synthetic and the queries real text, so only the latency of that row means anything;
5. a recommended default index dim.

The vectors. Real EmbeddingGemma vectors are *not* front-loaded in energy: on the eval
set the first 256 of 768 dims hold about 36% of the squared norm (a third would be flat),
and the first 256 dims predict the full cosine only a little better than any other 256
(correlation of pair cosines 0.93, vs about 0.91 for dims 257-512 or 513-768). What makes
them truncatable is that the meaning is spread redundantly over all dims. So instead of a
decaying per-dimension variance the generator makes ``normalize(common + W z + noise)``:

- ``z`` is a 128-d latent "meaning" with a decaying spectrum (variance of latent j
  proportional to 1/(1+j), like the PCA spectrum of real vectors): 300 topic centres with
  Zipf-like popularity, each chunk its topic centre plus an offset of half its spread;
- ``W`` (768 x 128, random) spreads the meaning over every dim; its rows shrink slowly
  along the dims while the per-chunk noise grows to compensate, so the energy per dim is
  nearly flat but the first dims carry a little more signal than the last (Matryoshka);
- ``common`` is a direction all vectors share (real vectors have mean pair cosine 0.17);
- a query is a perturbed data point: the latent of a random chunk moved by a fresh
  latent offset as large as the latent itself, mapped, with its own noise, so its cosine
  to the chunk it came from is about 0.57 (real queries' best passage: about 0.59).

The constants were fitted so that at the eval set's size the statistics of table 1
(pair cosines, how well 256 dims predict 768, recall of exact 256-d search with
rescoring) match the real vectors, which that table prints beside them on every run. At
10k and 100k chunks the figures are an extrapolation of that model, not a measurement on
real documents: constants that fit table 1 about as well (latent rank 128-256) put exact
256-d search with the top 100 rescored at recall@10 between about 0.89 and 0.94 at 100k
chunks, these at the low end. Treat recall as indicative; latency and memory are measured,
but latency only as well as a quiet machine allows (the load average is printed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script from a checkout

from desktop_app.core.embedder import Embedder  # noqa: E402
from desktop_app.core.progress import run_quietly  # noqa: E402
from desktop_app.core.search import SearchOptions, _dense, hybrid_search  # noqa: E402
from desktop_app.core.settings import LibrarySettings  # noqa: E402
from desktop_app.core.store import Database, NewChunk, VectorIndex  # noqa: E402

T = TypeVar("T")

EVAL_SET = REPO / "benchmarks" / "data" / "multilingual_eval.json"
FULL_DIM = 768
COARSE_DIM = 256
SIZES = (10_000, 100_000)
K = 10
N_QUERIES = 200  # synthetic query vectors, for recall and dense latency
HYBRID_QUERIES = 100  # real query texts embedded end to end, per configuration
CANDIDATES = (10, 50, 100, 200, 400)  # for the 256-d index; the app takes 100
EFS = (64, 100, 200)
CHUNKS_PER_DOC = 20
DOCS_PER_TRANSACTION = 250
VECTOR_BATCH = 4096
MODEL_ID = "benchmark-synthetic"
SEED = 20261127

# The goals the recommendation checks.
P50_GOAL_MS = 20.0
RECALL_GOAL = 0.98


# -- the vectors -----------------------------------------------------------------------


class SyntheticVectors:
    """Text-like unit vectors in 768 dims (see the module docstring for the model)."""

    RANK = 128  # latent meaning dims
    TOPICS = 300
    POPULARITY = 0.7  # topic t is drawn with weight 1 / t^POPULARITY
    SPREAD = 0.5  # a chunk's offset from its topic centre, relative to the centres' spread
    COMMON = 0.6  # weight of the shared direction (per dim, relative to the signal)
    NOISE = 0.7  # per-chunk noise (per dim, relative to the signal)
    TILT = 0.2  # signal weight of dim d is proportional to (1 + d / 256)^-TILT
    QUERY_SHIFT = 1.0  # a query's latent offset from its chunk, relative to the latent
    BLOCK = 8192

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        spectrum = 1.0 / (1.0 + np.arange(self.RANK))
        self.scale = np.sqrt(spectrum / spectrum.sum())  # latent sd, total variance 1
        signal = (1.0 + np.arange(FULL_DIM) / 256.0) ** -self.TILT
        signal /= signal.mean()
        self.mixing = (rng.standard_normal((FULL_DIM, self.RANK))
                       * np.sqrt(signal)[:, None]).astype(np.float32)
        noise_var = np.clip(1.0 + self.NOISE**2 - signal, 0.05, None)
        noise_var *= self.NOISE**2 / noise_var.mean()
        self.noise_sd = np.sqrt(noise_var).astype(np.float32)
        common = rng.standard_normal(FULL_DIM)
        self.common = (self.COMMON * np.sqrt(FULL_DIM) * common
                       / np.linalg.norm(common)).astype(np.float32)
        weights = 1.0 / np.arange(1, self.TOPICS + 1) ** self.POPULARITY
        self.popularity = weights / weights.sum()
        self.centres = rng.standard_normal((self.TOPICS, self.RANK)) * self.scale

    def latents(self, n: int, rng: np.random.Generator) -> np.ndarray:
        topics = rng.choice(self.TOPICS, size=n, p=self.popularity)
        offsets = self.SPREAD * rng.standard_normal((n, self.RANK)) * self.scale
        return ((self.centres[topics] + offsets) / np.sqrt(1 + self.SPREAD**2)).astype(
            np.float32)

    def vectors(self, latents: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = np.empty((len(latents), FULL_DIM), dtype=np.float32)
        for start in range(0, len(latents), self.BLOCK):
            z = latents[start : start + self.BLOCK]
            noise = rng.standard_normal((len(z), FULL_DIM), dtype=np.float32) * self.noise_sd
            x = self.common + z @ self.mixing.T + noise
            out[start : start + len(z)] = x / np.linalg.norm(x, axis=1, keepdims=True)
        return out

    def queries(self, source: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Perturbed data points: ``source`` are the latents of the chunks they start from."""
        shift = self.QUERY_SHIFT * rng.standard_normal(source.shape) * self.scale
        return self.vectors(
            ((source + shift) / np.sqrt(1 + self.QUERY_SHIFT**2)).astype(np.float32), rng)


def truncated(x: np.ndarray, dim: int) -> np.ndarray:
    cut = x[:, :dim]
    return (cut / np.linalg.norm(cut, axis=1, keepdims=True)).astype(np.float32)


def top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Row-wise indices of the ``k`` highest scores, best first."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1)
    return np.take_along_axis(part, order, axis=1)


def overlap(found: Sequence[int], truth: Sequence[int]) -> float:
    return len(set(found) & set(truth)) / len(truth)


@dataclass(frozen=True)
class VectorProfile:
    energy_256: float  # share of the squared norm in the first 256 dims
    pair_mean: float  # mean cosine between two passages
    pair_p99: float
    corr_256: float  # correlation of pair cosines at 256 dims with those at 768
    best_cos: float  # median over queries of the cosine to the best passage
    recall: dict[int, float]  # exact 256-d search, top C rescored at 768: recall@10


PROFILE_CANDIDATES = (10, 20, 50)
PROFILE_DRAWS = 6


def profile(passages: np.ndarray, queries: np.ndarray) -> VectorProfile:
    energy = (passages.astype(np.float64) ** 2).mean(axis=0)
    pairs = passages @ passages.T
    upper = np.triu_indices(len(passages), 1)
    coarse = truncated(passages, COARSE_DIM)
    full_scores = queries @ passages.T
    truth = top_rows(full_scores, K)
    coarse_order = top_rows(truncated(queries, COARSE_DIM) @ coarse.T, max(PROFILE_CANDIDATES))
    recall = {}
    for c in PROFILE_CANDIDATES:
        found = []
        for q, cand in enumerate(coarse_order[:, :c]):
            found.append(cand[np.argsort(-full_scores[q, cand])[:K]])
        recall[c] = float(np.mean([overlap(f, t) for f, t in zip(found, truth, strict=True)]))
    return VectorProfile(
        energy_256=float(energy[:COARSE_DIM].sum() / energy.sum()),
        pair_mean=float(pairs[upper].mean()),
        pair_p99=float(np.percentile(pairs[upper], 99)),
        corr_256=float(np.corrcoef(pairs[upper], (coarse @ coarse.T)[upper])[0, 1]),
        best_cos=float(np.median(full_scores.max(axis=1))),
        recall=recall,
    )


# -- the text --------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*|\n+")


@dataclass(frozen=True)
class TextPool:
    sentences: list[str]
    titles: list[str]
    queries: list[str]

    @classmethod
    def load(cls) -> TextPool:
        """Sentences, titles and queries of the eval set: chunks are made of real
        sentences so the real queries hit postings of a realistic mix of words."""
        data = json.loads(EVAL_SET.read_text(encoding="utf-8"))
        sentences = [s.strip() for p in data["passages"] for s in _SENTENCE_END.split(p["text"])
                     if len(s.strip()) >= 12]
        titles = sorted({p["title"] for p in data["passages"] if p.get("title")})
        return cls(sentences, titles, [q["text"] for q in data["queries"]])

    def chunk_text(self, rng: np.random.Generator) -> str:
        picks = rng.integers(0, len(self.sentences), int(rng.integers(4, 9)))
        return " ".join(self.sentences[i] for i in picks)


# -- measuring -------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[search bench] {message}", file=sys.stderr, flush=True)


def timed_ms(fn: Callable[[T], object], items: Sequence[T], warmup: int = 5) -> list[float]:
    for item in items[:warmup]:
        fn(item)
    out = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t) * 1000)
    return out


@dataclass(frozen=True)
class Latency:
    p50: float
    p95: float

    @classmethod
    def of(cls, ms: Sequence[float]) -> Latency:
        return cls(statistics.median(ms), float(np.percentile(ms, 95)))

    def cells(self) -> str:
        return f"{self.p50:.2f} | {self.p95:.2f}"


@dataclass
class RecallRow:
    method: str
    candidates: str
    ef: str
    recall: float
    ms: float | None  # mean per query: search (+ rescoring), single-threaded


@dataclass
class SizeResult:
    n: int
    insert_chunks_s: float
    insert_vectors_s: float
    db_mb: float
    build_threads: int = 0
    build_s: dict[int, float] = field(default_factory=dict)
    index_mb: dict[int, float] = field(default_factory=dict)
    rss_mb: dict[int, float] = field(default_factory=dict)
    recall_rows: list[RecallRow] = field(default_factory=list)
    app_recall: dict[int, float] = field(default_factory=dict)  # at the app's settings
    dense: dict[int, Latency] = field(default_factory=dict)
    hybrid: dict[int, Latency] = field(default_factory=dict)
    keyword: Latency | None = None
    embed: Latency | None = None
    list_collections: Latency | None = None
    exact_ms: float = 0.0


def rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


def rss_worker(db_path: str, index_path: str, dim: int) -> None:
    """Open (load, verify) one saved index and report the RSS it added."""
    db = Database(Path(db_path))
    db.vector_ids()  # the reader connection and its page cache, before the baseline
    before = rss_mb()
    index = VectorIndex(Path(index_path), dim)
    report = run_quietly(index.open_or_rebuild(db))
    assert report is not None  # it waits for the lock, so it always opens
    after = rss_mb()
    print(json.dumps({"rss_growth_mb": after - before, "rebuilt": report.rebuilt,
                      "count": report.count}))
    db.close()


def index_rss_growth(db_path: Path, index_path: Path, dim: int) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--rss-worker", str(db_path), str(index_path), str(dim)],
        check=True, capture_output=True, text=True,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    if result["rebuilt"]:
        raise RuntimeError(f"{index_path} was rebuilt instead of loaded")
    return float(result["rss_growth_mb"])


# -- one library size ------------------------------------------------------------------


def build_library(
    folder: Path, n: int, vectors: np.ndarray, pool: TextPool, rng: np.random.Generator
) -> tuple[Database, np.ndarray, float, float]:
    """Store ``n`` chunks (each with its own embed_key) and their vectors. Returns the
    database, the vector id of each row of ``vectors`` and the two insert times."""
    db = Database(folder / "library.sqlite3")
    collection = db.create_collection("benchmark")
    keys = [hashlib.sha256(f"benchmark:{n}:{i}".encode()).hexdigest() for i in range(n)]
    n_docs = -(-n // CHUNKS_PER_DOC)
    t = time.perf_counter()
    for first in range(0, n_docs, DOCS_PER_TRANSACTION):
        with db.transaction():  # the documents below join it: one commit per group
            for doc in range(first, min(n_docs, first + DOCS_PER_TRANSACTION)):
                title = pool.titles[int(rng.integers(len(pool.titles)))]
                chunks, offset = [], 0
                for i in range(doc * CHUNKS_PER_DOC, min(n, (doc + 1) * CHUNKS_PER_DOC)):
                    text = pool.chunk_text(rng)
                    chunks.append(NewChunk(text=text, embed_key=keys[i], title=title,
                                           start_char=offset, end_char=offset + len(text)))
                    offset += len(text)
                path = f"/benchmark/docs/doc-{doc:06d}.txt"
                db.replace_document(collection, path, offset, time.time_ns(),
                                    hashlib.sha256(path.encode()).hexdigest(), "txt", title,
                                    chunks)
    insert_chunks = time.perf_counter() - t
    ids = np.empty(n, dtype=np.int64)
    t = time.perf_counter()
    for start in range(0, n, VECTOR_BATCH):
        rows = range(start, min(n, start + VECTOR_BATCH))
        inserted = db.add_vectors(MODEL_ID, [(keys[i], vectors[i]) for i in rows])
        for i in rows:
            ids[i] = inserted[keys[i]]
    insert_vectors = time.perf_counter() - t
    return db, ids, insert_chunks, insert_vectors


def open_index(folder: Path, db: Database, dim: int, ef: int) -> tuple[VectorIndex, float]:
    index = VectorIndex(folder / "index" / f"vectors-{dim}.hnsw", dim, ef=ef)
    t = time.perf_counter()
    run_quietly(index.open_or_rebuild(db))
    return index, time.perf_counter() - t


def run_size(
    n: int,
    generator: SyntheticVectors,
    pool: TextPool,
    embedder: Embedder,
    tmp_root: Path | None,
    n_queries: int,
    n_hybrid: int,
) -> SizeResult:
    settings = LibrarySettings()
    options = SearchOptions()
    rng = np.random.default_rng(SEED + n)
    log(f"{n:,} chunks: generating vectors")
    latents = generator.latents(n, rng)
    x = generator.vectors(latents, rng)
    queries = generator.queries(latents[rng.choice(n, n_queries, replace=False)], rng)

    with tempfile.TemporaryDirectory(prefix="kura-search-bench-", dir=tmp_root) as tmp:
        folder = Path(tmp)
        log(f"{n:,} chunks: storing documents, chunks and vectors in SQLite")
        db, vector_ids, t_chunks, t_vectors = build_library(folder, n, x, pool, rng)
        db_mb = sum(p.stat().st_size for p in folder.glob("library.sqlite3*")) / 2**20
        res = SizeResult(n, t_chunks, t_vectors, db_mb)

        indexes: dict[int, VectorIndex] = {}
        for dim in (FULL_DIM, COARSE_DIM):
            log(f"{n:,} chunks: building the {dim}-d index")
            indexes[dim], res.build_s[dim] = open_index(folder, db, dim, settings.hnsw_ef)
            if len(indexes[dim]) != n:
                raise RuntimeError(f"the {dim}-d index holds {len(indexes[dim])} of {n}")
            res.index_mb[dim] = indexes[dim].path.stat().st_size / 2**20
            res.build_threads = indexes[dim].threads

        log(f"{n:,} chunks: recall")
        full_scores = queries @ x.T
        truth_rows = top_rows(full_scores, K)
        truth = [vector_ids[r].tolist() for r in truth_rows]
        t = time.perf_counter()
        for q in queries[:20]:
            top_rows((x @ q)[None, :], K)
        res.exact_ms = (time.perf_counter() - t) * 1000 / 20
        res.recall_rows.append(RecallRow("exact, numpy (reference)", "all", "–", 1.0,
                                         res.exact_ms))

        coarse_x = truncated(x, COARSE_DIM)
        coarse_order = top_rows(truncated(queries, COARSE_DIM) @ coarse_x.T, max(CANDIDATES))
        for c in CANDIDATES:
            found = []
            for q, cand in enumerate(coarse_order[:, :c]):
                best = cand[np.argsort(-full_scores[q, cand])[:K]]
                found.append(vector_ids[best].tolist())
            res.recall_rows.append(RecallRow(
                f"exact {COARSE_DIM}, top C rescored at {FULL_DIM} (no hnsw)", str(c), "–",
                float(np.mean([overlap(f, t) for f, t in zip(found, truth, strict=True)])),
                None))

        for ef in EFS:
            index = indexes[FULL_DIM] if ef == settings.hnsw_ef else open_index(
                folder, db, FULL_DIM, ef)[0]
            hits: list[list[int]] = []

            def full(q: np.ndarray, index: VectorIndex = index,
                     hits: list[list[int]] = hits) -> None:
                hits.append([v for v, _ in index.search(q, K)])

            ms = timed_ms(full, list(queries), warmup=0)
            recall = float(np.mean([overlap(h, t) for h, t in zip(hits, truth, strict=True)]))
            res.recall_rows.append(RecallRow(f"hnsw {FULL_DIM}", str(K), str(ef), recall,
                                             statistics.mean(ms)))
            if ef == settings.hnsw_ef:
                res.app_recall[FULL_DIM] = recall
            del index

        coarse_index = indexes[COARSE_DIM]
        for c in CANDIDATES:
            hits = []

            def coarse_to_fine(q: np.ndarray, c: int = c, hits: list[list[int]] = hits) -> None:
                ids = [v for v, _ in coarse_index.search(q, c)]
                batch = db.vector_batch_for_ids(ids)
                order = np.argsort(-(batch.vectors @ q))[:K]
                hits.append(batch.ids[order].tolist())

            ms = timed_ms(coarse_to_fine, list(queries), warmup=0)
            recall = float(np.mean([overlap(h, t) for h, t in zip(hits, truth, strict=True)]))
            res.recall_rows.append(RecallRow(
                f"hnsw {COARSE_DIM}, top C rescored at {FULL_DIM} from SQLite", str(c),
                str(max(settings.hnsw_ef, c)), recall, statistics.mean(ms)))
            if c == options.candidates:
                res.app_recall[COARSE_DIM] = recall

        log(f"{n:,} chunks: latency")
        texts = pool.queries
        hybrid_texts = texts[:n_hybrid]
        for dim, index in indexes.items():
            def dense(q: np.ndarray, index: VectorIndex = index) -> None:
                _dense(db, index, q, None, options.candidates)

            res.dense[dim] = Latency.of(timed_ms(dense, list(queries)))
        res.keyword = Latency.of(timed_ms(
            lambda s: db.keyword_search(s, options.candidates), texts))
        res.embed = Latency.of(timed_ms(
            lambda s: embedder.embed_queries([s], dim=FULL_DIM), hybrid_texts))
        res.list_collections = Latency.of(timed_ms(lambda _s: db.list_collections(),
                                                   texts[:50]))
        for dim, index in indexes.items():
            def hybrid(s: str, index: VectorIndex = index) -> None:
                hybrid_search(db, index, embedder, s)

            res.hybrid[dim] = Latency.of(timed_ms(hybrid, hybrid_texts))

        log(f"{n:,} chunks: memory")
        for dim, index in indexes.items():
            res.rss_mb[dim] = index_rss_growth(db.path, index.path, dim)
        indexes.clear()
        db.close()
    return res


# -- report ----------------------------------------------------------------------------


def print_profile_table(embedder_dir: Path, generator: SyntheticVectors) -> None:
    from models.evaluate import artifact_vectors, load_eval_set

    eval_set = load_eval_set()
    real = artifact_vectors(eval_set, embedder_dir)
    nq = eval_set.n_queries
    n_passages = len(real) - nq
    draws = []
    for draw in range(PROFILE_DRAWS):  # one draw this small is noisy: average several
        rng = np.random.default_rng(SEED + draw)
        latents = generator.latents(n_passages, rng)
        synth = generator.vectors(latents, rng)
        draws.append(profile(synth, generator.queries(
            latents[rng.integers(0, n_passages, nq)], rng)))
    def avg(values: list[float]) -> float:
        return float(np.mean(values))

    mean = VectorProfile(
        energy_256=avg([d.energy_256 for d in draws]),
        pair_mean=avg([d.pair_mean for d in draws]),
        pair_p99=avg([d.pair_p99 for d in draws]),
        corr_256=avg([d.corr_256 for d in draws]),
        best_cos=avg([d.best_cos for d in draws]),
        recall={c: avg([d.recall[c] for d in draws]) for c in PROFILE_CANDIDATES},
    )
    rows = [("real: eval set, quantized embedder (reference)", profile(real[nq:], real[:nq])),
            (f"synthetic, same counts (mean of {PROFILE_DRAWS} draws)", mean)]
    print(f"## 1. Vector generator vs real EmbeddingGemma vectors "
          f"({n_passages} passages, {nq} queries)\n")
    cands = " | ".join(f"exact 256 top {c} → 768: recall@10" for c in PROFILE_CANDIDATES)
    print(f"| vectors | energy in dims 1-256 | pair cos mean | pair cos p99 | "
          f"corr(cos@256, cos@768) | query best cos p50 | {cands} |")
    print("| --- |" + " --- |" * (5 + len(PROFILE_CANDIDATES)))
    for name, p in rows:
        recalls = " | ".join(f"{p.recall[c]:.3f}" for c in PROFILE_CANDIDATES)
        print(f"| {name} | {p.energy_256:.3f} | {p.pair_mean:.3f} | {p.pair_p99:.3f} | "
              f"{p.corr_256:.3f} | {p.best_cos:.3f} | {recalls} |")
    print()


def print_results(results: list[SizeResult], n_queries: int, n_hybrid: int) -> None:
    print("## 2. Build, size, memory\n")
    print("Build = `VectorIndex.open_or_rebuild` from SQLite with no index file (app "
          f"defaults: M=16, ef_construction=200, {results[0].build_threads} build "
          "thread(s) on this machine), including the atomic save. RSS growth = opening the "
          "saved index in a fresh process. SQLite = the whole library file "
          "(chunks, FTS, vectors).\n")
    print("| chunks | SQLite insert chunks+FTS s | SQLite insert vectors s | SQLite MB | "
          "index dim | build s | × 768 build | index file MB | RSS growth MB | × 768 RSS |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        for dim in (FULL_DIM, COARSE_DIM):
            print(f"| {r.n:,} | {r.insert_chunks_s:.1f} | {r.insert_vectors_s:.1f} | "
                  f"{r.db_mb:.0f} | {dim} | {r.build_s[dim]:.1f} | "
                  f"{r.build_s[dim] / r.build_s[FULL_DIM]:.2f} | {r.index_mb[dim]:.1f} | "
                  f"{r.rss_mb[dim]:.1f} | {r.rss_mb[dim] / r.rss_mb[FULL_DIM]:.2f} |")
    print()

    print(f"## 3. Recall@{K} against exact search over all {FULL_DIM}-d vectors "
          f"({n_queries} perturbed data points)\n")
    print("ms = mean per query, single-threaded: index search (+ fetching the candidates' "
          "full vectors from SQLite and rescoring). The app searches with "
          f"ef={LibrarySettings().hnsw_ef} and C={SearchOptions().candidates}.\n")
    print("| chunks | method | C | ef | recall@10 | ms/query |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        for row in r.recall_rows:
            ms = "–" if row.ms is None else f"{row.ms:.2f}"
            print(f"| {r.n:,} | {row.method} | {row.candidates} | {row.ef} | "
                  f"{row.recall:.3f} | {ms} |")
    print()

    print("## 4. Latency, ms (p50 | p95)\n")
    print(f"dense = `search._dense` (index search with C={SearchOptions().candidates}, "
          "rescoring for 256, labels → chunks via `chunks_for_vector_ids`) on "
          f"{n_queries} synthetic query vectors; keyword = `db.keyword_search` "
          f"(k={SearchOptions().candidates}) on the eval set's "
          f"{len(TextPool.load().queries)} real queries; hybrid = `hybrid_search` end to "
          f"end on {n_hybrid} of them, including embedding the query with the quantized "
          "embedder (real query text over synthetic vectors: only its latency means "
          "anything). Reference rows: the query embedding alone, and "
          "`db.list_collections()`, which hybrid_search calls on every query.\n")
    print("| chunks | index dim | dense p50 | dense p95 | keyword p50 | keyword p95 | "
          "hybrid p50 | hybrid p95 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        assert r.keyword is not None
        for dim in (FULL_DIM, COARSE_DIM):
            print(f"| {r.n:,} | {dim} | {r.dense[dim].cells()} | {r.keyword.cells()} | "
                  f"{r.hybrid[dim].cells()} |")
    print()
    print("| chunks | query embedding alone p50 | p95 | list_collections p50 | p95 |")
    print("| --- | --- | --- | --- | --- |")
    for r in results:
        assert r.embed is not None and r.list_collections is not None
        print(f"| {r.n:,} | {r.embed.cells()} | {r.list_collections.cells()} |")
    print()


def recommend(results: list[SizeResult]) -> str:
    """The default index dim the figures at the largest size support: first the recall
    goal at the app's search settings, then the latency goal, then the least memory."""
    big = max(results, key=lambda r: r.n)
    assert big.embed is not None
    current = LibrarySettings().index_dim
    dims = (FULL_DIM, COARSE_DIM)
    good = [d for d in dims if big.app_recall[d] >= RECALL_GOAL]
    fast = [d for d in dims if big.hybrid[d].p50 <= P50_GOAL_MS]

    def cheapest(dim: int) -> RecallRow | None:
        """The cheapest hnsw setting measured for ``dim`` that reaches the recall goal."""
        rows = [r for r in big.recall_rows if r.method.startswith(f"hnsw {dim}")
                and r.recall >= RECALL_GOAL and r.ms is not None]
        return min(rows, key=lambda r: r.ms or 0.0) if rows else None

    needs = {d: cheapest(d) for d in dims}
    if good:
        dim = min([d for d in good if d in fast] or good, key=lambda d: big.rss_mb[d])
        why = ("meets the recall goal at the app's settings" if len(good) == 1 else
               "both meet the recall goal; this one with less memory")
    else:
        reachable = {d: row for d, row in needs.items() if row is not None}
        if reachable:
            dim = min(reachable, key=lambda d: reachable[d].ms or 0.0)
            row = reachable[dim]
            setting = f"ef={row.ef}" if dim == FULL_DIM else f"C={row.candidates}"
            why = (f"neither meets the recall goal at the app's settings; this one gets there "
                   f"most cheaply, with {setting} (recall@10 {row.recall:.3f})")
        else:
            dim = max(dims, key=lambda d: big.app_recall[d])
            why = "no measured setting meets the recall goal; this one comes closest"
    other = COARSE_DIM if dim == FULL_DIM else FULL_DIM
    alt = needs[other]
    if other not in good:
        why += (f"; {other} reaches recall@10 ≥ {RECALL_GOAL} only with "
                + (f"C={alt.candidates} ({alt.recall:.3f}, {alt.ms:.2f} ms/query "
                   "for search and rescoring)" if alt and other == COARSE_DIM else
                   f"ef={alt.ef} ({alt.recall:.3f})" if alt else "none of the settings tried"))
    if not fast and big.embed.p50 > P50_GOAL_MS:
        why += (f"; p50 ≤ {P50_GOAL_MS:.0f} ms is out of reach for any index dim on this "
                f"machine: embedding the query alone takes {big.embed.p50:.1f} ms p50")
    elif dim not in fast:
        why += f"; it misses p50 ≤ {P50_GOAL_MS:.0f} ms"
    facts = "; ".join(
        f"{d}: recall@10 {big.app_recall[d]:.3f}, hybrid p50 {big.hybrid[d].p50:.1f} ms, "
        f"index RSS {big.rss_mb[d]:.0f} MB, build {big.build_s[d]:.0f} s" for d in dims)
    change = "keep" if dim == current else f"change from {current} to"
    return (f"**Recommendation: {change} index_dim = {dim}** — at {big.n:,} chunks {why}. "
            f"(Goals: recall@10 ≥ {RECALL_GOAL}, hybrid p50 ≤ {P50_GOAL_MS:.0f} ms with the "
            f"query embedding. At ef={LibrarySettings().hnsw_ef}, "
            f"C={SearchOptions().candidates}: {facts}.)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--queries", type=int, default=N_QUERIES,
                        help="synthetic query vectors for recall and dense latency")
    parser.add_argument("--hybrid-queries", type=int, default=HYBRID_QUERIES,
                        help="real queries embedded end to end per configuration")
    parser.add_argument("--tmp", type=Path, help="where to build the libraries "
                        "(~1.2 GB free needed at 100k chunks)")
    parser.add_argument("--rss-worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_worker:
        db_path, index_path, dim = args.rss_worker
        rss_worker(db_path, index_path, int(dim))
        return

    from models.build import quantized_dir

    need_gb = 1.3 * max(args.sizes) / 100_000
    free_gb = shutil.disk_usage(args.tmp or tempfile.gettempdir()).free / 2**30
    if free_gb < need_gb:
        sys.exit(f"only {free_gb:.1f} GB free for the temporary libraries, "
                 f"~{need_gb:.1f} GB needed: pass --tmp")

    started = time.perf_counter()
    load_before = os.getloadavg()
    log("building or reusing the quantized embedder")
    logging.disable(logging.INFO)  # onnxruntime's quantizer logs every node when it builds
    try:
        embedder_dir = quantized_dir(log=lambda _m: None)
    finally:
        logging.disable(logging.NOTSET)
    embedder = Embedder(embedder_dir)
    pool = TextPool.load()
    generator = SyntheticVectors(SEED)

    from importlib.metadata import version

    print("# Search benchmark: index dim 768 vs 256 (coarse-to-fine)\n")
    print(f"{os.cpu_count()} cores; load average at start {load_before[0]:.2f}; "
          f"hnswlib {version('hnswlib')}; SQLite {sqlite3.sqlite_version}; "
          f"embedder {embedder_dir.name}.\n")
    log("checking the generator against real vectors")
    print_profile_table(embedder_dir, generator)

    results = [run_size(n, generator, pool, embedder, args.tmp, args.queries,
                        args.hybrid_queries) for n in args.sizes]
    print_results(results, args.queries, args.hybrid_queries)
    print(f"Total {time.perf_counter() - started:.0f} s; load average at end "
          f"{os.getloadavg()[0]:.2f} (other processes on this machine skew latency).\n")
    print(recommend(results))


if __name__ == "__main__":
    main()
