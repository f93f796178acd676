"""How close is an ONNX artifact to the fp32 PyTorch reference?

Uses the committed multilingual set ``benchmarks/data/multilingual_eval.json`` (queries
and passages in English, Chinese and ten more languages, short and long, with relevance
labels). Reports, at 768 and 256 dims: mean and worst cosine to the reference, and
retrieval agreement (top-1 match and overlap of the top 10 against fp32's ranking).

The reference vectors come from sentence-transformers on the original weights (torch,
the ``export`` extra); they are cached by the set's checksum in the build cache.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from desktop_app.core.embedder import (
    INT8_COMPUTE_ID,
    Embedder,
    document_prompt,
    query_prompt,
    resolve_compute,
    truncate_dims,
)
from desktop_app.core.settings import EmbedderSettings
from models.build_cache import build_cache_dir

EVAL_SET = Path(__file__).resolve().parent.parent / "benchmarks" / "data" / "multilingual_eval.json"


@dataclass(frozen=True)
class EvalSet:
    texts: list[str]  # prompted: queries first, then passages
    n_queries: int
    relevant: list[list[int]]  # per query: indices into the passages

    @property
    def digest(self) -> str:
        return hashlib.sha256("\x1e".join(self.texts).encode()).hexdigest()[:16]

    def subset(self, n_queries: int, n_passages: int) -> EvalSet:
        q = self.texts[: self.n_queries][:n_queries]
        p = self.texts[self.n_queries :][:n_passages]
        rel = [[i for i in r if i < n_passages] for r in self.relevant[:n_queries]]
        return EvalSet(q + p, len(q), rel)


def load_eval_set(path: Path = EVAL_SET) -> EvalSet:
    data = json.loads(path.read_text(encoding="utf-8"))
    passages = data["passages"]
    index = {p["id"]: i for i, p in enumerate(passages)}
    texts = [query_prompt(q["text"]) for q in data["queries"]]
    texts += [document_prompt(p["text"], p.get("title") or None) for p in passages]
    relevant = [[index[r] for r in q.get("relevant", [])] for q in data["queries"]]
    return EvalSet(texts, len(data["queries"]), relevant)


def reference_vectors(eval_set: EvalSet, model_dir: Path) -> np.ndarray:
    cache = build_cache_dir() / "reference-vectors" / f"{eval_set.digest}.npy"
    if cache.exists():
        return np.load(cache)
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    vectors = model.encode(
        eval_set.texts, batch_size=4, normalize_embeddings=True, convert_to_numpy=True
    ).astype(np.float32)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def artifact_vectors(eval_set: EvalSet, model_path: Path, compute: str = "auto") -> np.ndarray:
    """Vectors of an artifact, cached by its folder name (content-keyed by models.build) and
    the compute mode (``EmbedderSettings.compute``; "auto" is what the app runs here; a
    recipe's own quality is measured with "fp32")."""
    folder = model_path if model_path.is_dir() else model_path.parent
    mode = resolve_compute(compute)
    name = folder.name if mode == "fp32" else f"{folder.name}-{INT8_COMPUTE_ID}"
    cache = build_cache_dir() / "artifact-vectors" / f"{name}-{eval_set.digest}.npy"
    if cache.exists():
        return np.load(cache)
    embedder = Embedder(model_path, EmbedderSettings(compute=mode))
    vectors = embedder.embed_prompted(eval_set.texts, dim=768)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


@dataclass(frozen=True)
class Quality:
    mean_cos_768: float
    worst_cos_768: float
    mean_cos_256: float
    worst_cos_256: float
    top1_agreement: float  # share of queries whose first passage matches fp32's
    top10_overlap: float  # mean |top10 ∩ fp32 top10| / 10
    recall10: float  # share of labelled relevant passages in the top 10

    def row(self) -> str:
        return (
            f"{self.mean_cos_768:.4f} / {self.worst_cos_768:.4f} | "
            f"{self.mean_cos_256:.4f} / {self.worst_cos_256:.4f} | "
            f"{self.top1_agreement:.3f} | {self.top10_overlap:.3f} | {self.recall10:.3f}"
        )

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def compare(eval_set: EvalSet, reference: np.ndarray, candidate: np.ndarray) -> Quality:
    cos = {}
    for dim in (768, 256):
        a, b = truncate_dims(reference, dim), truncate_dims(candidate, dim)
        cos[dim] = np.sum(a * b, axis=1)
    nq = eval_set.n_queries

    def top10(vectors: np.ndarray) -> np.ndarray:
        scores = vectors[:nq] @ vectors[nq:].T
        return np.argsort(-scores, axis=1)[:, :10]

    if nq == 0 or nq == len(eval_set.texts):  # queries only (or passages only): no ranking
        ref_top = cand_top = np.zeros((nq, 1), dtype=np.int64)
    else:
        ref_top, cand_top = top10(reference), top10(candidate)
    overlap = np.mean([len(set(r) & set(c)) / 10 for r, c in zip(ref_top, cand_top, strict=True)])
    labelled = [(q, rel) for q, rel in enumerate(eval_set.relevant) if rel]
    recall = np.mean([len(set(rel) & set(cand_top[q])) / len(rel) for q, rel in labelled]) \
        if labelled else float("nan")
    return Quality(
        mean_cos_768=float(cos[768].mean()),
        worst_cos_768=float(cos[768].min()),
        mean_cos_256=float(cos[256].mean()),
        worst_cos_256=float(cos[256].min()),
        top1_agreement=float(np.mean(ref_top[:, 0] == cand_top[:, 0])),
        top10_overlap=float(overlap),
        recall10=float(recall) if labelled else float("nan"),
    )
