"""Quality, size and speed of every quantization variant, against fp32 in the same run.

    python benchmarks/quantization.py [--recipes NAME ...]

For each recipe in ``desktop_app.core.quantize.RECIPES``: build it (cached), then on the
full multilingual set (benchmarks/data/multilingual_eval.json) measure mean / worst cosine
to the sentence-transformers fp32 reference at 768 and 256 dims, retrieval agreement with
fp32 (top-1 match, top-10 overlap), recall@10 of the labelled passages, whether a text's
vector changes with padding, and tokens/s and single-query latency. The ONNX fp32 export
is measured the same way as the ceiling.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script from a checkout

from desktop_app.core.embedder import Embedder, document_prompt  # noqa: E402
from desktop_app.core.quantize import RECIPES, artifact_size  # noqa: E402
from desktop_app.core.settings import EmbedderSettings  # noqa: E402
from models.build import fp32_onnx_dir, quantized_dir  # noqa: E402
from models.build_cache import build_cache_dir  # noqa: E402
from models.evaluate import (  # noqa: E402
    artifact_vectors,
    compare,
    load_eval_set,
    reference_vectors,
)
from models.reference_weights import ensure_reference_weights  # noqa: E402


def padding_drift(embedder: Embedder) -> float:
    """1 - min cosine between texts embedded alone and padded inside one batch."""
    texts = [document_prompt(t) for t in
             ("short", "如何重置密码?", "Mars is red. " * 6, "expense policy " * 30, "x " * 300)]
    ids = [e.ids for e in embedder._tokenizer.encode_batch(texts)]
    alone = np.vstack([embedder._run([i]) for i in ids])
    padded = embedder._run(ids)
    return float(1 - np.min(np.sum(alone * padded, axis=1)))


def speed(embedder: Embedder) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    batch = [list(map(int, rng.integers(1000, 200_000, 256))) for _ in range(8)]
    embedder._run(batch)
    t = time.perf_counter()
    for _ in range(3):
        embedder._run(batch)
    tokens_per_s = 3 * 8 * 256 / (time.perf_counter() - t)
    latencies = []
    for q in ["Which planet is known as the Red Planet?", "如何重置密码?", "travel policy"] * 4:
        t = time.perf_counter()
        embedder.embed_queries([q])
        latencies.append(time.perf_counter() - t)
    return tokens_per_s, statistics.median(latencies[3:]) * 1000


def measure(name: str, folder: Path) -> dict:
    eval_set = load_eval_set()
    cache = build_cache_dir() / "variant-results" / f"{folder.name}-{eval_set.digest}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    reference = reference_vectors(eval_set, ensure_reference_weights(lambda _m: None))
    # fp32 compute: this compares recipes, what rounding the weights costs; the int8
    # compute the app picks on VNNI CPUs is measured by benchmarks/embedder.py.
    embedder = Embedder(folder, EmbedderSettings(compute="fp32"))
    quality = compare(eval_set, reference, artifact_vectors(eval_set, folder, compute="fp32"))
    tokens_per_s, query_ms = speed(embedder)
    result = {
        "name": name,
        "bytes": artifact_size(folder / "model.onnx"),
        **quality.as_dict(),
        "padding_drift": padding_drift(embedder),
        "tokens_per_s": tokens_per_s,
        "query_ms": query_ms,
    }
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(result))
    return result


def print_variant_table(names: list[str] | None = None) -> None:
    quiet = lambda _m: None  # noqa: E731
    rows = [measure("onnx fp32 (ceiling)", fp32_onnx_dir(quiet))]
    for name in names or list(RECIPES):
        rows.append(measure(name, quantized_dir(RECIPES[name], quiet)))
    eval_set = load_eval_set()
    print(f"Quality against sentence-transformers fp32 on {len(eval_set.texts)} texts "
          f"({eval_set.n_queries} queries, {len(eval_set.texts) - eval_set.n_queries} passages)\n")
    print("| variant | MB | cos 768 mean / worst | cos 256 mean / worst | top-1 = fp32 | "
          "top-10 overlap | recall@10 | padding drift | tokens/s | query ms |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['name']} | {r['bytes'] / 1e6:.1f} | "
              f"{r['mean_cos_768']:.4f} / {r['worst_cos_768']:.4f} | "
              f"{r['mean_cos_256']:.4f} / {r['worst_cos_256']:.4f} | "
              f"{r['top1_agreement']:.3f} | {r['top10_overlap']:.3f} | {r['recall10']:.3f} | "
              f"{r['padding_drift']:.1e} | {r['tokens_per_s']:.0f} | {r['query_ms']:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipes", nargs="*", choices=sorted(RECIPES))
    args = parser.parse_args()
    print_variant_table(args.recipes)


if __name__ == "__main__":
    main()
