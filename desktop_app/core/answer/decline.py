"""Whether the documents hold the answer: Kura's "I don't know", in any pair of languages.

One cosine threshold cannot do it. EmbeddingGemma scores a question against a passage
in another language about 0.1 lower than against the same passage in its own ("Who do I
tell when I am sick?" finds 非计划缺勤流程.md at 0.40, "生病不能上班时要通知谁?" at
0.63), while in a large library a question that no document answers still finds
passages on its topic at 0.45-0.60 ("How do I set up WireGuard?" finds the OpenVPN
pages). A threshold low enough for the first answers the second. So the decision uses
two signals of the retrieved passages' sentences (``evidence``), per pair of scripts,
and one of the question's words:

- **best**: the best sentence's score against the question, plus ``CROSS_LANGUAGE``
  times how little the two share a script (``language.script_mismatch``: 0 for the same
  script, 1 for an English question and a Chinese sentence, in between for a Chinese
  question naming an English product). The offset is the gap between the same question
  asked in two languages (``benchmarks/decline.py`` prints it).
- **margin**: how far the best passage stands out from the next ``RIVALS`` distinct
  passages (copies of it, which hold its best sentence, are not rivals). An answer
  stands out; for a question nothing answers, many passages are about equally near.

- **absent**: whether the question names something (``names.name_terms``: a product, a
  tool, a code) that no passage of the searched collections contains at all
  (``Library.mentions``). The embedder finds the OpenVPN pages for a WireGuard question;
  the keyword index knows that "WireGuard" is nowhere. Most of the unanswerable labelled
  questions the first two signals answered were of this kind. A name counts only where
  the retrieved passages are written partly in its script (``NAME_SCRIPT_MISMATCH``): a
  Chinese knowledge base that never writes "Feishu" may still be all about 飞书.

A logistic of the three gives the confidence that the passages answer the question;
Kura declines below ``threshold`` (``AnswerSettings.decline_below``; 0.5 is the point
chosen on the labelled set). Sentence scores, not passage cosines: a passage's cosine
mixes its answer with everything around it, and the best sentence is the answer.

The constants are fitted by ``python benchmarks/decline.py --fit`` on
``benchmarks/data/decline_questions.json`` and ``real_folder_questions.json`` (answerable
and unanswerable questions in English, Chinese, Japanese and Korean over corp_kb and the
Debian/git/SQLite folder); its figures, on held-out questions, are in the README.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from desktop_app.core.answer.evidence import PassageEvidence
from desktop_app.core.answer.language import script_mismatch
from desktop_app.core.relevance import DECLINE_BELOW
from desktop_app.core.search import SearchResponse, SearchResult

# Fitted by `python benchmarks/decline.py --fit` (shipped quantized embedder, 2 libraries,
# 84 answerable and 78 unanswerable questions); the intercept includes the operating
# point, so a confidence of 0.5 is the chosen trade-off.
CROSS_LANGUAGE = 0.10  # per unit of script mismatch; the paired-question gap is 0.104
WEIGHT_BEST = 24.36
WEIGHT_MARGIN = 11.69
WEIGHT_ABSENT = -7.14  # a name the documents never mention: about 0.3 of best sentence
INTERCEPT = -14.89
RIVALS = 3  # the margin is over the mean of this many next-best distinct passages
# A missing name counts when the retrieved passages' scripts share at least a fifth with
# the name's (Chinese technical pages that write commands and product names in Latin do;
# a Chinese HR handbook does not, and may call the product by its Chinese name).
NAME_SCRIPT_MISMATCH = 0.8
# With no rival (a one-passage library, k = 1) nothing says whether the best stands out:
# the margin is taken as this typical one, so the decision rests on the score alone.
NEUTRAL_MARGIN = 0.09
# Only for the wording of a decline's reason: below this the best sentence is not close
# enough (about where relevant and unrelated sentences meet); above it, the margin was short.
RELATED = 0.45


@dataclass(frozen=True)
class Signals:
    """What the decision is made from."""

    best: float  # the best sentence's score, adjusted for script mismatch
    margin: float  # best minus the mean of the next distinct passages' (adjusted)
    mismatch: float  # script mismatch between the question and that sentence
    rivals: int  # how many distinct passages the margin was measured against
    passage: SearchResult | None  # where the best sentence is
    absent: tuple[str, ...] = ()  # names in the question that no searched passage contains


@dataclass(frozen=True)
class Decision:
    declined: bool
    confidence: float  # that the passages answer the question (0..1)
    reason: str  # a short sentence, for logs and the "why" of a decline
    signals: Signals | None  # None: nothing was retrieved

    def as_dict(self) -> dict[str, object]:
        s = self.signals
        return {"declined": self.declined, "confidence": round(self.confidence, 4),
                "reason": self.reason,
                "best": None if s is None else round(s.best, 4),
                "margin": None if s is None else round(s.margin, 4),
                "mismatch": None if s is None else round(s.mismatch, 4),
                "absent": [] if s is None else list(s.absent)}


@dataclass(frozen=True)
class _Scored:
    result: SearchResult
    score: float  # adjusted
    mismatch: float
    sentences: frozenset[str]  # normalized sentence texts, to recognize copies
    best_sentence: str


def signals(question: str, response: SearchResponse,
            evidence: Sequence[PassageEvidence] | None = None,
            absent: Sequence[str] = ()) -> Signals | None:
    """The signals of ``decide``; ``absent`` as the caller looked them up. ``question``
    is the text that was searched and scored (a follow-up's query). With ``evidence``
    (``evidence.score_passages`` over the response's results) passages count by their
    best sentence; without it, by their dense cosine (keyword-only hits, which have none,
    are left out): an approximation, the constants were fitted on sentences. None when
    there is nothing to judge."""
    scored = _from_evidence(question, evidence) if evidence is not None \
        else _from_results(question, response.results)
    if not scored:
        return None
    ranked = sorted(scored, key=lambda s: -s.score)
    top = ranked[0]
    rivals = [s.score for s in ranked[1:] if top.best_sentence not in s.sentences]
    rivals = rivals[:RIVALS]
    margin = top.score - sum(rivals) / len(rivals) if rivals else NEUTRAL_MARGIN
    context = " ".join(r.chunk.text for r in response.results)
    counted = tuple(t for t in absent if script_mismatch(t, context) <= NAME_SCRIPT_MISMATCH)
    return Signals(top.score, margin, top.mismatch, len(rivals), top.result, counted)


def confidence(s: Signals) -> float:
    z = WEIGHT_BEST * s.best + WEIGHT_MARGIN * s.margin \
        + WEIGHT_ABSENT * (1.0 if s.absent else 0.0) + INTERCEPT
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


def decide(question: str, response: SearchResponse,
           evidence: Sequence[PassageEvidence] | None = None,
           threshold: float = DECLINE_BELOW, absent: Sequence[str] = ()) -> Decision:
    """Answer or say "I don't know": declined when the confidence that the retrieved
    passages answer ``question`` is below ``threshold``. ``absent``: the question's names
    (``names.name_terms``) that the searched collections never mention."""
    s = signals(question, response, evidence, absent)
    if s is None:
        return Decision(True, 0.0, "nothing in the collections searched matches", None)
    p = confidence(s)
    declined = p < threshold
    if not declined:
        reason = (f"a passage answers: best sentence {s.best:.2f}, "
                  f"{s.margin:.2f} above the others")
    elif s.absent:
        reason = "the documents never mention " + ", ".join(f'"{t}"' for t in s.absent)
    elif s.best >= RELATED and s.rivals and s.margin < NEUTRAL_MARGIN:
        reason = (f"no passage stands out: best sentence {s.best:.2f}, "
                  f"only {s.margin:.2f} above the others")
    else:
        reason = (f"no passage is close enough: best sentence {s.best:.2f}, "
                  f"{s.margin:.2f} above the others")
    return Decision(declined, p, reason, s)


def _normalized(text: str) -> str:
    return " ".join(text.casefold().split())


def _from_evidence(question: str, evidence: Sequence[PassageEvidence]) -> list[_Scored]:
    out: list[_Scored] = []
    for passage in evidence:
        if not passage.sentences:
            continue
        best = max(passage.sentences, key=lambda s: s.score)
        mismatch = script_mismatch(question, best.span.text)
        out.append(_Scored(passage.result, best.score + CROSS_LANGUAGE * mismatch, mismatch,
                           frozenset(_normalized(s.span.text) for s in passage.sentences),
                           _normalized(best.span.text)))
    return out


def _from_results(question: str, results: Sequence[SearchResult]) -> list[_Scored]:
    out: list[_Scored] = []
    for r in results:
        if r.cosine is None:
            continue
        mismatch = script_mismatch(question, r.chunk.text)
        text = _normalized(r.chunk.text)
        out.append(_Scored(r, r.cosine + CROSS_LANGUAGE * mismatch, mismatch,
                           frozenset({text}), text))
    return out
