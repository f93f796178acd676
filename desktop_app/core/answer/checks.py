"""Every sentence of an answer checked against the passages it cites.

A small model on a laptop writes fluent sentences; some say what no passage says, or put
the right citation on a wrong number. Each sentence of the answer is checked twice:

- **by meaning**: the embedder's similarity between the sentence (embedded as a query,
  so the passages' sentence vectors from ``evidence`` are reused, not recomputed) and the
  best sentence of the passages it cites must reach ``SUPPORT_BELOW``;
- **by the facts that must match exactly**: numbers (with their units' digits: "10 days",
  "09:30", "2024-05-01", "1,000" = "1000"), codes and names written with digits, capitals
  or symbols ("VPN", "edquota -t", "PRAGMA", "https://reset.ourcompany", "e-1234") and
  quoted words must each stand in a cited passage (compared after NFKC and case folding,
  so full-width digits and letters match half-width ones).

A sentence citing nothing is checked against every passage given: supported somewhere
is fine (it says where), supported nowhere is flagged. A sentence that only declines or
links ("I don't know", under ``MIN_WORDS`` words) is not checked.

``AnswerChecker.feed`` checks sentences as soon as they are complete while the answer
streams (a sentence is complete when the next one has begun), ``finish`` the rest.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from desktop_app.core.answer.citations import MARKER, cited_numbers
from desktop_app.core.answer.sentences import Span, split_sentences
from desktop_app.core.embedder import TextEmbedder

# Calibrated on answer-like sentences against their own passages and others' (README,
# "Sentence checks"): query-to-sentence cosine of a restatement vs an unrelated sentence.
SUPPORT_BELOW = 0.45
MIN_WORDS = 3

Verdict = Literal["supported", "unsupported", "not_checked"]

_MARKER = re.compile(r"\s*" + MARKER.pattern)  # a citation, with the space before it
_NUMBER = re.compile(r"\d+(?:[.,:/\-]\d+)*")
_QUOTED = re.compile(r"[\"“「『`']([^\"”」』`']{2,40})[\"”」』`']")
_TOKEN = re.compile(r"[^\s,;，；。、()（）\[\]［］【】]+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_WORDY = re.compile(r"[^\W\d_]+")
# Saying the passages do not hold it is honest, not a claim to check.
_DECLINES = re.compile(
    r"\b(?:don'?t|do not|does not|doesn'?t) (?:know|say|mention|contain|specify|state)"
    r"|\bnot (?:mentioned|specified|stated|found|covered)|\bno information\b"
    r"|不知道|没有(?:提到|提及|说明|相关|找到)|未(?:提及|说明)|わかりません|記載(?:が)?ありません"
    r"|모르겠습니다", re.IGNORECASE)


@dataclass(frozen=True)
class PassageText:
    """A passage as the model saw it: its number, the text given, and (when known) the
    sentence vectors ``evidence`` computed, with their texts."""

    number: int
    text: str
    sentences: tuple[str, ...] = ()
    vectors: np.ndarray | None = None  # rows: sentences, as documents, L2-normalised


@dataclass(frozen=True)
class SentenceCheck:
    index: int  # the sentence's place in the answer (0-based)
    start: int  # its span in the answer's text
    end: int
    text: str  # without its citation markers
    cited: tuple[int, ...]  # passage numbers it cites
    verdict: Verdict
    supported_by: tuple[int, ...] = ()  # passages that support it
    similarity: float | None = None  # to the best sentence of the passages checked
    missing: tuple[str, ...] = ()  # exact facts found in none of the cited passages
    reason: str = ""  # for the user, when not supported

    @property
    def flagged(self) -> bool:
        return self.verdict == "unsupported"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["cited"] = list(self.cited)
        data["supported_by"] = list(self.supported_by)
        data["missing"] = list(self.missing)
        if self.similarity is not None:
            data["similarity"] = round(self.similarity, 4)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SentenceCheck:
        return cls(int(data.get("index", 0)), int(data.get("start", 0)),
                   int(data.get("end", 0)), str(data.get("text", "")),
                   tuple(data.get("cited", ())), data.get("verdict", "not_checked"),
                   tuple(data.get("supported_by", ())), data.get("similarity"),
                   tuple(data.get("missing", ())), str(data.get("reason", "")))


def facts(sentence: str) -> list[str]:
    """What must match exactly: numbers, codes, names with capitals/digits/symbols, quotes."""
    text = _MARKER.sub(" ", sentence)
    found: list[str] = [m.group(0) for m in _NUMBER.finditer(text)]
    found += [m.group(1).strip() for m in _QUOTED.finditer(text)]
    words = _TOKEN.findall(text)
    for position, raw in enumerate(words):
        word = raw.strip(".:!?\"'“”‘’`")
        if len(word) < 2 or _CJK.search(word) or word.isdigit():
            continue
        symbolic = any(c in word for c in "_/@#=$%<>") or "://" in word
        mixed = bool(re.search(r"\d", word)) and bool(_WORDY.search(word))
        capitals = sum(c.isupper() for c in word)
        acronym = capitals >= 2 and word.upper() == word and word.isalpha()
        inner_caps = capitals >= 1 and not word[0].isupper() and word.isalpha()
        name = word[0].isupper() and position > 0 and word.isalpha() and len(word) > 2
        if symbolic or mixed or acronym or inner_caps or name:
            found.append(word)
    return list(dict.fromkeys(found))


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,000 = 1000
    return re.sub(r"\s+", " ", text)


def _present(fact: str, passage: str) -> bool:
    wanted = normalise(fact)
    if wanted.replace(".", "").isdigit() or re.fullmatch(r"[\d.,:/\-]+", wanted):
        # a number must stand alone: "10" is not in "2010" or "10.5"
        return re.search(rf"(?<![\d.]){re.escape(wanted)}(?![\d]|\.\d)", passage) is not None
    return wanted in passage


class AnswerChecker:
    """Checks an answer's sentences against the passages given to the model."""

    def __init__(self, embedder: TextEmbedder, passages: Sequence[PassageText],
                 support_below: float = SUPPORT_BELOW) -> None:
        self.embedder = embedder
        self.passages = {p.number: p for p in passages}
        self.support_below = support_below
        self._normalised = {p.number: normalise(p.text) for p in passages}
        self._vectors = {p.number: self._sentence_vectors(p) for p in passages}
        self.checks: list[SentenceCheck] = []

    def _sentence_vectors(self, passage: PassageText) -> np.ndarray:
        if passage.vectors is not None and len(passage.vectors):
            return passage.vectors
        texts = list(passage.sentences) or [s.text for s in split_sentences(passage.text)]
        if not texts:
            return np.zeros((0, self.embedder.dims), dtype=np.float32)
        return self.embedder.embed_documents(texts, dim=self.embedder.dims)

    def feed(self, text: str) -> list[SentenceCheck]:
        """The checks of sentences completed since the last call (the answer so far)."""
        spans = answer_sentences(text)
        return self._check_up_to(text, spans[:-1])

    def finish(self, text: str) -> list[SentenceCheck]:
        """Checks every sentence not yet checked; returns all of them, in order."""
        self._check_up_to(text, answer_sentences(text))
        return list(self.checks)

    def _check_up_to(self, text: str, spans: Sequence[Span]) -> list[SentenceCheck]:
        new = [(i, s) for i, s in enumerate(spans) if i >= len(self.checks)]
        if not new:
            return []
        bodies = [_MARKER.sub("", s.text).strip() for _i, s in new]
        checkable = [b for b in bodies
                     if _content_words(b) >= MIN_WORDS and not _DECLINES.search(b)]
        vectors = self.embedder.embed_queries(checkable, dim=self.embedder.dims) \
            if checkable else np.zeros((0, 0), dtype=np.float32)
        by_body = dict(zip(checkable, vectors, strict=True))
        done = []
        for (index, span), body in zip(new, bodies, strict=True):
            check = self._check(index, span, body, by_body.get(body))
            self.checks.append(check)
            done.append(check)
        return done

    def _check(self, index: int, span: Span, body: str,
               vector: np.ndarray | None) -> SentenceCheck:
        numbers = tuple(n for n in cited_numbers(span.text, max(self.passages, default=0))
                        if n in self.passages)
        if vector is None:
            return SentenceCheck(index, span.start, span.end, body, numbers, "not_checked")
        wanted = facts(body)

        def judge(candidates: Sequence[int]) -> tuple[float, list[str], list[int]]:
            best = max((float(np.max(self._vectors[n] @ vector)) for n in candidates
                        if len(self._vectors[n])), default=0.0)
            missing = [f for f in wanted
                       if not any(_present(f, self._normalised[n]) for n in candidates)]
            supporting = [n for n in candidates if len(self._vectors[n])
                          and float(np.max(self._vectors[n] @ vector)) >= self.support_below]
            return best, missing, supporting

        if numbers:
            similarity, missing, supporting = judge(numbers)
            if similarity >= self.support_below and not missing:
                return SentenceCheck(index, span.start, span.end, body, numbers, "supported",
                                     tuple(supporting), similarity)
            elsewhere = [n for n in self.passages if n not in numbers
                         and _supports(judge([n]), self.support_below)]
            reason = "not found in the cited passage"
            if missing:
                reason += ": " + ", ".join(missing)
            if elsewhere:
                reason += f" (passage [{elsewhere[0]}] supports it)"
            return SentenceCheck(index, span.start, span.end, body, numbers, "unsupported",
                                 tuple(elsewhere), similarity, tuple(missing), reason)
        everything = list(self.passages)
        similarity, missing, supporting = judge(everything)
        fine = [n for n in supporting if _supports(judge([n]), self.support_below)]
        if fine:
            return SentenceCheck(index, span.start, span.end, body, (), "supported",
                                 tuple(fine), similarity)
        reason = "not found in any passage" + (": " + ", ".join(missing) if missing else "")
        return SentenceCheck(index, span.start, span.end, body, (), "unsupported", (),
                             similarity, tuple(missing), reason)


def _supports(judged: tuple[float, list[str], list[int]], support_below: float) -> bool:
    """A passage supports a sentence: close enough in meaning, and no fact missing."""
    similarity, missing, _supporting = judged
    return similarity >= support_below and not missing


def answer_sentences(text: str) -> list[Span]:
    """The answer's sentences, each keeping the citation markers that follow it (models
    write both "… 10 days [1]." and "… 10 days. [1]")."""
    spans = split_sentences(text, min_chars=1)  # an answer's short sentence is a claim too
    out: list[Span] = []
    for span in spans:
        lead = _MARKER.match(span.text)
        if lead and out:
            previous = out.pop()
            end = span.start + lead.end()
            out.append(Span(previous.start, end, text[previous.start:end].strip()))
            rest = span.text[lead.end():].strip()
            if rest:
                start = text.index(rest, end)
                out.append(Span(start, start + len(rest), rest))
            continue
        out.append(span)
    return out


def _content_words(text: str) -> int:
    return len(_WORDY.findall(text)) + len(_CJK.findall(text)) // 2
