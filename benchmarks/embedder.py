"""The embedder alone on real chunks: the configuration before issue 13 against today's
shipped one, in the same run, interleaved (A B C A B C ...), medians and ratios.

    python benchmarks/embedder.py                      # real chunks from /usr/share/doc
    python benchmarks/embedder.py --busy 1             # ... while a process keeps a core busy
    python benchmarks/embedder.py --folder /work/bench/real_folder --chunks 400 --rounds 5
    python benchmarks/embedder.py --engines            # + sentence-transformers / onnx fp32

The chunks are what the library embeds: documentation files parsed and chunked by Kura's
own reader and ``Chunker`` with the default ``LibrarySettings`` (~320 tokens), each behind
its document prompt, embedded ``embed_batch`` (32) at a time in document order as
``Library`` does. Configurations:

- before: fp32 compute (MatMulNBits' fp32 kernels), onnxruntime's spinning thread pool;
- fp32, no spinning: only the thread pool changed;
- shipped: ``EmbedderSettings()`` as it is now ("auto": int8 compute on a CPU with VNNI).

Also printed: single-query latency, cosine of each configuration's vectors to before's,
the largest batch drift (a text alone vs padded in a batch), retrieval on the labelled
eval set (benchmarks/data/multilingual_eval.json, against the fp32 reference when its
vectors can be made), and each configuration's peak RSS in its own process.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script from a checkout

from desktop_app.core.embedder import Embedder, document_input, query_prompt  # noqa: E402
from desktop_app.core.settings import EmbedderSettings, LibrarySettings  # noqa: E402
from models.build import quantized_dir  # noqa: E402

CONFIGS = ("before: fp32, spinning", "fp32, no spinning", "shipped default")
QUERIES = ["How do I reset my password?", "dpkg trigger interest", "如何重置密码?",
           "valgrind memcheck suppression file", "git rebase interactive", "年假有多少天",
           "what does a zlib stream header contain", "Python module installation policy"]
TEXT_SUFFIXES = (".html", ".htm", ".md", ".txt", ".rst")
PER_FILE = 40  # chunks taken from one file at most: many documents, not one long one


def real_chunks(folder: Path, limit: int) -> tuple[list[str], list[str]]:
    """Up to ``limit`` prompted chunks of the text documents under ``folder`` (sorted walk,
    at most PER_FILE per file), and the files they came from."""
    from desktop_app.core.chunking import Chunker
    from desktop_app.core.ingest.parse import parse

    settings = LibrarySettings()
    chunker = Chunker(quantized_dir(log=lambda _m: None) / "tokenizer.json",
                      settings.chunk_tokens, settings.chunk_overlap)
    prompted: list[str] = []
    used: list[str] = []
    for path in sorted(folder.rglob("*")):
        if len(prompted) >= limit:
            break
        name = path.name.lower()
        if (path.suffix.lower() not in TEXT_SUFFIXES or not path.is_file()
                or path.stat().st_size < 8_000 or "changelog" in name or "copyright" in name):
            continue
        try:
            chunks = chunker.chunk(parse(path))
        except Exception:  # an unreadable file is not what this measures
            continue
        take = chunks[:PER_FILE][: limit - len(prompted)]
        if take:
            prompted += [document_input(c.text, c.title) for c in take]
            used.append(str(path.relative_to(folder)))
    return prompted, used


def make_embedder(config: str) -> Embedder:
    folder = quantized_dir(log=lambda _m: None)
    if config == CONFIGS[2]:
        return Embedder(folder)
    embedder = Embedder(folder, EmbedderSettings(compute="fp32"))
    if config == CONFIGS[0]:
        embedder._session = _session_as_before(embedder)
    return embedder


def _session_as_before(embedder: Embedder):
    """The session options the embedder had before issue 13 (spinning pool threads)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = max(1, embedder.settings.threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return ort.InferenceSession(str(embedder.files.graph), sess_options=options,
                                providers=["CPUExecutionProvider"])


def embed_like_the_library(embedder: Embedder, prompted: list[str]) -> np.ndarray:
    step = LibrarySettings().embed_batch
    return np.vstack([embedder.embed_prompted(prompted[i : i + step])
                      for i in range(0, len(prompted), step)])


def query_ms(embedder: Embedder) -> float:
    latencies = []
    for q in QUERIES:
        t = time.perf_counter()
        embedder.embed_prompted([query_prompt(q)])
        latencies.append(time.perf_counter() - t)
    return statistics.median(latencies) * 1000


def batch_drift(embedder: Embedder, prompted: list[str]) -> float:
    """Largest 1 - cos between a text alone and the same text padded in a batch of 8."""
    texts = [query_prompt(q) for q in QUERIES] + prompted[:: max(1, len(prompted) // 24)]
    ids = [e.ids for e in embedder.tokenizer.encode_batch(texts)]
    alone = np.vstack([embedder._run([i]) for i in ids])
    order = np.random.default_rng(0).permutation(len(ids))
    worst = 0.0
    for start in range(0, len(ids), 8):
        rows = order[start : start + 8]
        batched = embedder._run([ids[i] for i in rows])
        worst = max(worst, float(np.max(1 - np.sum(alone[rows] * batched, axis=1))))
    return worst


def retrieval(embedders: dict[str, Embedder]) -> dict[str, dict[str, float]]:
    """Labelled eval set: recall@10 and MRR of the relevant passages; against the fp32
    reference, mean cosine and top-10 overlap (when its vectors exist or can be made)."""
    from models.evaluate import compare, load_eval_set, reference_vectors

    eval_set = load_eval_set()
    try:
        from models.reference_weights import ensure_reference_weights

        reference = reference_vectors(eval_set, ensure_reference_weights(lambda _m: None))
    except Exception as exc:  # no torch (the export extra): labels only
        print(f"(no fp32 reference: {exc.__class__.__name__}; labels only)")
        reference = None
    nq = eval_set.n_queries
    out = {}
    for name, embedder in embedders.items():
        vectors = embedder.embed_prompted(eval_set.texts)
        scores = vectors[:nq] @ vectors[nq:].T
        ranks = [int(np.min([np.sum(scores[q] > scores[q][r]) for r in rel]))
                 for q, rel in enumerate(eval_set.relevant) if rel]
        row = {"recall10": float(np.mean([r < 10 for r in ranks])),
               "mrr": float(np.mean([1 / (1 + r) for r in ranks]))}
        if reference is not None:
            quality = compare(eval_set, reference, vectors)
            row |= {"cos_fp32": quality.mean_cos_768, "worst_fp32": quality.worst_cos_768,
                    "top10_overlap": quality.top10_overlap}
        out[name] = row
    return out


def peak_rss_mb(config: str, prompted: list[str]) -> float:
    """Peak RSS of a process that loads ``config`` and embeds 64 chunks."""
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"kura-embedder-bench-{os.getpid()}.json"
    tmp.write_text(json.dumps(prompted[:64]), encoding="utf-8")
    try:
        out = subprocess.run([sys.executable, __file__, "--rss-worker", config, str(tmp)],
                             check=True, capture_output=True, text=True).stdout
    finally:
        tmp.unlink(missing_ok=True)
    return float(out.strip().splitlines()[-1])


def _peak_rss_mb() -> float:
    """This process's peak RSS. Linux's VmHWM, because ru_maxrss survives fork + exec: a
    worker started by a parent holding three embedders would report the parent's peak."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _busy() -> None:
    while True:
        pass


def interleaved(embedders: dict[str, Embedder], job: Callable[[Embedder], float],
                rounds: int) -> dict[str, list[float]]:
    seconds: dict[str, list[float]] = {name: [] for name in embedders}
    for _ in range(rounds):
        for name, embedder in embedders.items():
            seconds[name].append(job(embedder))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folder", type=Path, default=Path("/usr/share/doc"))
    parser.add_argument("--chunks", type=int, default=320)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--busy", type=int, default=0,
                        help="processes that keep a core busy meanwhile (like reading workers)")
    parser.add_argument("--engines", action="store_true",
                        help="also the engines table: sentence-transformers fp32, onnx fp32")
    parser.add_argument("--rss-worker", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--engine-worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine_worker:
        print(json.dumps(run_engine(args.engine_worker[0], Path(args.engine_worker[1]))))
        return
    if args.rss_worker:
        config, path = args.rss_worker
        embed_like_the_library(make_embedder(config), json.loads(Path(path).read_text()))
        print(_peak_rss_mb())
        return

    prompted, files = real_chunks(args.folder, args.chunks)
    embedders = {name: make_embedder(name) for name in CONFIGS}
    any_embedder = embedders[CONFIGS[0]]
    lengths = [len(e.ids) for e in any_embedder.tokenizer.encode_batch(prompted)]
    tokens = sum(lengths)
    print(f"{len(prompted)} chunks from {len(files)} files under {args.folder}: {tokens} tokens, "
          f"median {int(np.median(lengths))}, 90th percentile {int(np.percentile(lengths, 90))}; "
          f"{args.rounds} rounds interleaved; {os.cpu_count()} CPUs; load average "
          f"{os.getloadavg()[0]:.1f}" + (f"; {args.busy} busy process(es)" if args.busy else ""))

    busy = [multiprocessing.get_context("spawn").Process(target=_busy, daemon=True)
            for _ in range(args.busy)]
    for process in busy:
        process.start()
    vectors: dict[str, np.ndarray] = {}

    def embed_all(embedder: Embedder) -> float:
        t = time.perf_counter()
        vectors[next(k for k, v in embedders.items() if v is embedder)] = \
            embed_like_the_library(embedder, prompted)
        return time.perf_counter() - t

    try:
        for embedder in embedders.values():  # warm-up
            embed_like_the_library(embedder, prompted[:16])
            query_ms(embedder)
        seconds = interleaved(embedders, embed_all, args.rounds)
        latency = interleaved(embedders, query_ms, args.rounds)
    finally:
        for process in busy:
            process.kill()

    base = statistics.median(seconds[CONFIGS[0]])
    base_q = statistics.median(latency[CONFIGS[0]])
    print("\n| configuration | compute | tokens/s (median) | × before | rounds (tokens/s) | "
          "query p50 ms | × before |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, embedder in embedders.items():
        median = statistics.median(seconds[name])
        q = statistics.median(latency[name])
        rounds = ", ".join(f"{tokens / s:.0f}" for s in seconds[name])
        print(f"| {name} | {embedder.compute} | {tokens / median:.0f} | {base / median:.2f} | "
              f"{rounds} | {q:.1f} | {base_q / q:.2f} |")

    print("\nAgainst before's vectors on the same chunks, batch drift, peak RSS (own process, "
          "load + 64 chunks), model_id:\n")
    print("| configuration | 1 - cos mean | 1 - cos worst | batch drift | peak RSS MB | model_id |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, embedder in embedders.items():
        cos = np.sum(vectors[name] * vectors[CONFIGS[0]], axis=1)
        print(f"| {name} | {1 - cos.mean():.1e} | {1 - cos.min():.1e} | "
              f"{batch_drift(embedder, prompted):.1e} | {peak_rss_mb(name, prompted):.0f} | "
              f"{embedder.model_id} |")

    distinct = {CONFIGS[0]: embedders[CONFIGS[0]], CONFIGS[2]: embedders[CONFIGS[2]]}
    print("\nRetrieval on the labelled eval set (205 queries, 219 passages):\n")
    results = retrieval(distinct)
    print("| configuration | recall@10 | MRR | mean cos to fp32 | worst | top-10 overlap |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, r in results.items():
        ref = (f"{r['cos_fp32']:.4f} | {r['worst_fp32']:.4f} | {r['top10_overlap']:.3f}"
               if "cos_fp32" in r else "– | – | –")
        print(f"| {name} | {r['recall10']:.3f} | {r['mrr']:.4f} | {ref} |")

    if args.engines:
        print()
        engines_table()


# -- engines: Kura's embedder against sentence-transformers fp32 and the fp32 ONNX export --

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
        "peak_rss_mb": _peak_rss_mb(),
    }


ENGINES = ("sentence-transformers fp32", "onnx fp32", "kura quantized")


def engines_table() -> None:
    """Each engine in its own process (its peak RSS its own), on the same 32 passages of
    ~256 tokens in batches of 8 and 20 single queries."""
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workload_file = Path(tmp) / "workload.json"
        workload_file.write_text(json.dumps(workload(), ensure_ascii=False), encoding="utf-8")
        for engine in ENGINES:
            out = subprocess.run(
                [sys.executable, __file__, "--engine-worker", engine, str(workload_file)],
                check=True, capture_output=True, text=True,
            ).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
    ref = rows[0]
    print(f"Engines ({N_DOCS} docs of ~{DOC_TOKENS} tokens in batches of {BATCH}; "
          f"{N_QUERIES} single queries)\n")
    print("| engine | tokens/s | × reference | query p50 ms | query p95 ms | peak RSS MB |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['engine']} | {r['tokens_per_s']:.0f} | "
              f"{r['tokens_per_s'] / ref['tokens_per_s']:.2f} | {r['query_p50_ms']:.1f} | "
              f"{r['query_p95_ms']:.1f} | {r['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
