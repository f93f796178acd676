"""What goes into the prompt: today's whole passages against the selected, trimmed excerpts.

    python benchmarks/passages.py --home /work/bench/results/candidate/home

Over a real library (``benchmarks/real_folder.py``'s, read-only) and its labelled questions
(``benchmarks/data/real_folder_questions.json``, every language pair), for each question
the answerer's retrieval (8 passages, the relevance floor), then both ways of filling the
prompt, with the product model's tokenizer (Gemma 3's, from the 270M GGUF: the 4B shares it):

- *whole*: the passages whole, in the fused search order, as many as fit the context
  (Kura before issue 14);
- *excerpts*: ``evidence.score_passages`` + ``select_excerpts`` (reranked by their best
  sentence, near-duplicates dropped, trimmed to the sentences that match, budgeted).

Printed: prompt tokens (median, p90), how often passage [1] holds the answer (the passage
a model cites first; the label's phrase must still be in the text given, so a trim that
cut the answer counts as a miss), how often any passage given holds it, and the seconds
the sentence scoring took, and how soon after retrieval the extract can be shown: from
every passage (before) or from the nearest ``EXTRACT_FIRST`` (now, replaced by the final
one when that differs). Ratios are excerpts over whole, in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.answer_speed import open_library  # noqa: E402
from benchmarks.real_folder import QUESTIONS, is_hit, load_questions  # noqa: E402
from desktop_app.core.answer import AnswerSettings, LlamaEngine, LLMSettings  # noqa: E402
from desktop_app.core.answer.evidence import (  # noqa: E402
    EXTRACT_FIRST,
    Excerpt,
    extract,
    score_passages,
    select_excerpts,
    split_first,
)
from desktop_app.core.answer.prompt import build_prompt  # noqa: E402
from models.small_llm import gguf_270m  # noqa: E402

DEFAULT_HOME = Path("/work/bench/results/candidate/home")
DEFAULT_FOLDER_PREFIX = "/work/bench/results/candidate/folder/"


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, default=DEFAULT_HOME)
    parser.add_argument("--folder-prefix", default=DEFAULT_FOLDER_PREFIX,
                        help="the folder's path in the library, cut before matching labels")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    questions = load_questions(args.questions)[: args.limit or None]
    library = open_library(args.home)
    engine = LlamaEngine(LLMSettings(model_path=gguf_270m(), n_ctx=8192))
    settings = AnswerSettings()
    budget = engine.n_ctx - settings.max_answer_tokens
    rows: list[dict[str, Any]] = []
    for q in questions:
        response = library.search(q["question"], k=settings.passages_k)
        candidates = [r for r in response.results
                      if r.relevance is None or r.relevance >= settings.min_relevance]
        whole = build_prompt(engine, q["question"], [Excerpt.whole(r) for r in candidates],
                             budget)
        started = time.perf_counter()
        # as the answerer does: every result scored, the candidates' excerpts chosen
        evidence = score_passages(library.embedder, q["question"], response.results)
        kept = {r.chunk.id for r in candidates}
        excerpts = select_excerpts([e for e in evidence if e.result.chunk.id in kept],
                                   engine.count_tokens)
        shown = extract(evidence, excerpts)
        seconds = time.perf_counter() - started
        # the extract as the answerer shows it first: from the passages nearest by meaning
        started = time.perf_counter()
        first, _rest = split_first(response.results)
        early = score_passages(library.embedder, q["question"],
                               [response.results[i] for i in first], first)
        early_excerpts = select_excerpts([e for e in early if e.result.chunk.id in kept],
                                         engine.count_tokens)
        early_shown = extract(early, early_excerpts)
        early_seconds = time.perf_counter() - started
        same_extract = [(x.text, early_excerpts[x.excerpt].result.chunk.id)
                        for x in early_shown] == [(x.text, excerpts[x.excerpt].result.chunk.id)
                                                  for x in shown]
        trimmed = build_prompt(engine, q["question"], excerpts, budget)

        def hits(prompt: Any, q: dict[str, Any] = q) -> list[bool]:
            return [is_hit(q, p.result.path.removeprefix(args.folder_prefix), p.text)
                    for p in prompt.passages]

        whole_hits, trimmed_hits = hits(whole), hits(trimmed)
        row = {"id": q["id"], "lang": q["lang"],
               "whole_tokens": whole.tokens, "excerpt_tokens": trimmed.tokens,
               "whole_first": bool(whole_hits[:1] and whole_hits[0]),
               "excerpt_first": bool(trimmed_hits[:1] and trimmed_hits[0]),
               "whole_any": any(whole_hits), "excerpt_any": any(trimmed_hits),
               "whole_n": len(whole.passages), "excerpt_n": len(trimmed.passages),
               "seconds": seconds, "early_seconds": early_seconds,
               "same_extract": same_extract}
        rows.append(row)
        if args.verbose:
            print(row, flush=True)
    library.close()

    def rate(key: str, subset: list[dict[str, Any]] | None = None) -> float:
        part = rows if subset is None else subset
        return sum(r[key] for r in part) / len(part) if part else float("nan")

    print(f"\n{len(rows)} labelled questions, library {args.home}\n")
    print("| | whole passages (before) | excerpts (now) | now / before |")
    print("|---|---|---|---|")
    for label, a, b, fn in (
        ("prompt tokens, median", "whole_tokens", "excerpt_tokens", statistics.median),
        ("prompt tokens, p90", "whole_tokens", "excerpt_tokens", p90),
        ("passages given, median", "whole_n", "excerpt_n", statistics.median),
    ):
        before, now = fn([r[a] for r in rows]), fn([r[b] for r in rows])
        print(f"| {label} | {before:.0f} | {now:.0f} | {now / before:.2f} |")
    for label, a, b in (("[1] holds the answer", "whole_first", "excerpt_first"),
                        ("any passage holds it", "whole_any", "excerpt_any")):
        before, now = rate(a), rate(b)
        print(f"| {label} | {before:.3f} | {now:.3f} | {now / before:.2f} |")
    for lang in sorted({r["lang"] for r in rows}):
        part = [r for r in rows if r["lang"] == lang]
        print(f"| [1] holds it, {lang} ({len(part)}) | {rate('whole_first', part):.3f} | "
              f"{rate('excerpt_first', part):.3f} | |")
    scoring = [r["seconds"] for r in rows]
    early_s = [r["early_seconds"] for r in rows]
    print(f"\nsentence scoring: median {statistics.median(scoring):.2f} s, "
          f"p90 {p90(scoring):.2f} s per question")
    print(f"extract after retrieval: from all {settings.passages_k} passages (before) "
          f"median {statistics.median(scoring):.2f} s, p90 {p90(scoring):.2f} s; from the "
          f"{EXTRACT_FIRST} nearest (now) median {statistics.median(early_s):.2f} s, p90 "
          f"{p90(early_s):.2f} s ({statistics.median(early_s) / statistics.median(scoring):.2f}x); "
          f"the same as the final extract for {rate('same_extract'):.0%} of the questions")


if __name__ == "__main__":
    main()
