"""Embedder speed, latency and memory, against sentence-transformers fp32 in the same run.

    python benchmarks/embedder.py             # speed/RSS table + quality table of variants
    python benchmarks/embedder.py --no-quality

Each engine runs in its own subprocess so its peak RSS is its own. All engines embed the
same texts: 32 passages of about 256 tokens in batches of 8 (document prompt), and 20
short queries one at a time (query prompt), after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script from a checkout

DOC_TOKENS = 256
N_DOCS = 32
BATCH = 8
N_QUERIES = 20


def workload() -> tuple[list[str], list[str]]:
    """Real passages cut to ~256 tokens, and real short queries, from the eval set."""
    from tokenizers import Tokenizer

    from desktop_app.core.embedder import document_prompt, query_prompt
    from models.build import fp32_onnx_dir

    data = json.loads((REPO / "benchmarks/data/multilingual_eval.json").read_text())
    tokenizer = Tokenizer.from_file(str(fp32_onnx_dir(log=lambda _m: None) / "tokenizer.json"))
    long_enough = [p for p in data["passages"] if len(p["text"]) > 1200]
    docs = []
    for passage in long_enough[:N_DOCS]:
        ids = tokenizer.encode(passage["text"], add_special_tokens=False).ids[: DOC_TOKENS - 12]
        docs.append(document_prompt(tokenizer.decode(ids), passage.get("title")))
    queries = [query_prompt(q["text"]) for q in data["queries"][:N_QUERIES]]
    return docs, queries


def run_engine(engine: str, workload_file: Path) -> dict:
    # The texts come prepared from the parent: tokenizing them here would load a second
    # 262k-token tokenizer and inflate this process's peak RSS.
    docs, queries = json.loads(workload_file.read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    if engine == "sentence-transformers fp32":
        import torch
        from sentence_transformers import SentenceTransformer

        from models.reference_weights import ensure_reference_weights

        model = SentenceTransformer(str(ensure_reference_weights(lambda _m: None)), device="cpu")
        tokenizer = model.tokenizer

        def embed(texts: list[str], batch: int) -> None:
            with torch.inference_mode():
                model.encode(texts, batch_size=batch, normalize_embeddings=True)

        def count(texts: list[str]) -> int:
            return sum(len(tokenizer(t)["input_ids"]) for t in texts)
    else:
        from desktop_app.core.embedder import Embedder
        from models.build import fp32_onnx_dir, quantized_dir

        folder = fp32_onnx_dir(lambda _m: None) if engine == "onnx fp32" else quantized_dir(
            log=lambda _m: None)
        embedder = Embedder(folder)

        def embed(texts: list[str], batch: int) -> None:
            for i in range(0, len(texts), batch):
                embedder.embed_prompted(texts[i : i + batch])

        def count(texts: list[str]) -> int:
            return sum(len(e.ids) for e in embedder._tokenizer.encode_batch(texts))

    load_s = time.perf_counter() - t0
    embed(docs[:BATCH], BATCH)  # warm-up
    embed(queries[:2], 1)
    t = time.perf_counter()
    embed(docs, BATCH)
    doc_s = time.perf_counter() - t
    latencies = []
    for q in queries:
        t = time.perf_counter()
        embed([q], 1)
        latencies.append(time.perf_counter() - t)
    return {
        "engine": engine,
        "load_s": load_s,
        "tokens_per_s": count(docs) / doc_s,
        "mean_doc_tokens": count(docs) / len(docs),
        "query_p50_ms": statistics.median(latencies) * 1000,
        "query_p95_ms": sorted(latencies)[int(0.95 * (len(latencies) - 1))] * 1000,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


ENGINES = ("sentence-transformers fp32", "onnx fp32", "kura quantized")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--workload", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--no-quality", action="store_true", help="skip the variants table")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_engine(args.worker, args.workload)))
        return

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workload_file = Path(tmp) / "workload.json"
        workload_file.write_text(json.dumps(workload(), ensure_ascii=False), encoding="utf-8")
        for engine in ENGINES:
            out = subprocess.run(
                [sys.executable, __file__, "--worker", engine, "--workload", str(workload_file)],
                check=True, capture_output=True, text=True,
            ).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
    ref = rows[0]
    print(f"Speed ({N_DOCS} docs of ~{DOC_TOKENS} tokens in batches of {BATCH}; "
          f"{N_QUERIES} single queries)\n")
    print("| engine | tokens/s | × reference | query p50 ms | query p95 ms | peak RSS MB |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['engine']} | {r['tokens_per_s']:.0f} | "
              f"{r['tokens_per_s'] / ref['tokens_per_s']:.2f} | {r['query_p50_ms']:.1f} | "
              f"{r['query_p95_ms']:.1f} | {r['peak_rss_mb']:.0f} |")
    if not args.no_quality:
        from benchmarks.quantization import print_variant_table

        print()
        print_variant_table()


if __name__ == "__main__":
    main()
