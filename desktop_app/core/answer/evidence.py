"""Evidence: which sentences of the retrieved passages answer the question, and the
excerpts of them that go to the model.

Retrieval ranks whole chunks (up to 320 tokens) by a fusion of keyword and meaning ranks.
That order is good for a list of results and poor for a prompt: on a real library the 8
passages a question retrieves make a prompt of ~2,500 tokens, which a 4B model on a
2-core laptop reads in ~35 s before its first word, and most of those tokens are
sentences next to the answer, not the answer. So the embedder that indexed the library
scores every sentence of the retrieved passages against the question (EmbeddingGemma's
query and document prompts, the same as search; ~100 short sentences, well under a
second), and then:

- **drop near-duplicates**: the same text from the HTML, the PDF and the plain-text copy
  of a book is given once (shingle containment of the excerpts, ``store.shingles``).
  Dropping copies before scoring would save embedding time, but copies are chunked at
  different places and the answer may sit in only one copy's chunk: on the labelled
  questions it lost 6% of the answers;
- **rerank**: a passage counts by its best sentence and its own cosine, half each
  (``passage_score``), so the one that states the answer comes first;
- **trim**: each passage is cut to its best sentence, its neighbours and any other
  sentence nearly as good, up to ``PASSAGE_TOKENS``, gaps marked with "…";
- **stop**: passages much weaker than the best (``WEAK_MARGIN``) are left out, and the
  excerpts stop at ``PROMPT_TOKENS`` and ``MAX_PASSAGES``.

The budgets come from ``benchmarks/answer_speed.py`` and ``benchmarks/passages.py`` (the
figures are in the README): the 4B-shaped model reads a prompt at ~70 tokens/s on this
2-core machine, so a first token within 15 s leaves room for ~700 new prompt tokens, and
on the labelled questions the trimmed excerpts keep the answer as often as today's 8
whole passages.

The same scores give the **extract**: the best sentences, with the passage number they
will be cited by, shown before the model has written anything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from desktop_app.core.answer.sentences import Span, split_sentences
from desktop_app.core.embedder import TextEmbedder
from desktop_app.core.search import SearchResult
from desktop_app.core.store.shingles import overlap, shingle_hashes

PROMPT_TOKENS = 640  # all excerpts together
PASSAGE_TOKENS = 180  # one excerpt
MAX_PASSAGES = 5
WEAK_MARGIN = 0.15  # a passage whose best sentence is this far below the best is left out
NEIGHBOUR_MARGIN = 0.08  # a sentence this close to its passage's best joins the excerpt
DUPLICATE_CONTAINMENT = 0.6  # this much of an excerpt already given: a copy
EXTRACT_SENTENCES = 3
EXTRACT_MARGIN = 0.05  # extract sentences this close to the best one
EXTRACT_PER_PASSAGE = 2
# The extract is shown once this many passages (the nearest by meaning) are scored, the
# rest scored after: ~half the sentences, so it is on screen ~0.6 s after retrieval
# instead of ~1.3 s on the real folder. On the labelled questions the extract of the
# first four was the final one 82% of the time (else the final one replaces it).
EXTRACT_FIRST = 4
GAP = " … "

TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class ScoredSentence:
    span: Span
    score: float  # cosine between the question and the sentence


@dataclass(frozen=True)
class PassageEvidence:
    """One retrieved passage and its sentences, scored against the question."""

    result: SearchResult
    sentences: list[ScoredSentence]
    rank: int  # its place in the search results (0 = first)
    # The sentences' vectors (rows in order; document prompt): the answer checks reuse them.
    vectors: np.ndarray | None = field(default=None, compare=False, repr=False)

    def vectors_of(self, spans: Sequence[Span]) -> np.ndarray | None:
        if self.vectors is None:
            return None
        rows = {s.span: i for i, s in enumerate(self.sentences)}
        return self.vectors[[rows[span] for span in spans if span in rows]]

    @property
    def best(self) -> float:
        return max((s.score for s in self.sentences), default=-1.0)

    @property
    def passage_score(self) -> float:
        """What reranks passages: its best sentence and its own cosine, half each. The
        best sentence finds the passage that states the answer; the cosine keeps a
        passage whose answer spans several sentences (on the labelled questions, the mix
        put a passage holding the answer first 0.53 of the time, the best sentence alone
        0.45, the fused search order 0.49: ``benchmarks/passages.py``)."""
        cosine = self.result.cosine
        return self.best if cosine is None else 0.5 * self.best + 0.5 * cosine


@dataclass(frozen=True)
class Excerpt:
    """What of a passage goes to the model: its text, whole or trimmed."""

    result: SearchResult
    text: str
    trimmed: bool = False
    score: float | None = None  # its passage score (None: not scored)
    spans: tuple[Span, ...] = ()  # the sentences kept, as spans of the chunk's text

    @classmethod
    def whole(cls, result: SearchResult) -> Excerpt:
        return cls(result, result.chunk.text.strip())


@dataclass(frozen=True)
class ExtractSentence:
    """A sentence of a passage that answers the question, shown before the model writes."""

    text: str
    excerpt: int  # index into the excerpts: the passage is cited as [excerpt + 1]
    score: float
    start_char: int | None  # in the document, when the chunk knows where it is
    end_char: int | None

    @property
    def number(self) -> int:
        """The passage number it is cited by."""
        return self.excerpt + 1


def score_passages(embedder: TextEmbedder, question: str,
                   results: Sequence[SearchResult],
                   ranks: Sequence[int] | None = None) -> list[PassageEvidence]:
    """Every sentence of every result, scored against ``question`` in one embedder run.
    ``ranks``: the results' places in the search results, when they are not all of them
    in order (``split_first``)."""
    ranks = list(range(len(results))) if ranks is None else list(ranks)
    split = [split_sentences(r.chunk.text) for r in results]
    texts = [s.text for spans in split for s in spans]
    titles = [r.chunk.title for r, spans in zip(results, split, strict=True) for _ in spans]
    if not texts:
        return [PassageEvidence(r, [], rank) for r, rank in zip(results, ranks, strict=True)]
    query = embedder.embed_queries([question], dim=embedder.dims)[0]
    vectors = embedder.embed_documents(texts, titles, dim=embedder.dims)
    scores = np.asarray(vectors @ query, dtype=np.float64).tolist()
    out: list[PassageEvidence] = []
    position = 0
    for rank, result, spans in zip(ranks, results, split, strict=True):
        scored = [ScoredSentence(s, scores[position + i]) for i, s in enumerate(spans)]
        out.append(PassageEvidence(result, scored, rank,
                                   vectors[position:position + len(spans)]))
        position += len(spans)
    return out


def split_first(results: Sequence[SearchResult], first: int = EXTRACT_FIRST
                ) -> tuple[list[int], list[int]]:
    """The places of the results to score before the extract is shown (the ``first``
    nearest by meaning; keyword-only hits, which have no cosine, after them) and of the
    rest, each in search order."""
    by_meaning = sorted(range(len(results)),
                        key=lambda i: (results[i].cosine is None, -(results[i].cosine or 0.0), i))
    chosen = sorted(by_meaning[:first])
    return chosen, [i for i in range(len(results)) if i not in chosen]


def select_excerpts(
    evidence: Sequence[PassageEvidence],
    count_tokens: TokenCounter,
    prompt_tokens: int = PROMPT_TOKENS,
    passage_tokens: int = PASSAGE_TOKENS,
    max_passages: int = MAX_PASSAGES,
) -> list[Excerpt]:
    """The excerpts to give the model, best first (see the module docstring)."""
    ranked = sorted((e for e in evidence if e.sentences),
                    key=lambda e: (-e.passage_score, e.rank))
    if not ranked:
        return []
    top = ranked[0].passage_score
    chosen: list[Excerpt] = []
    given: list[np.ndarray] = []
    used = 0
    for passage in ranked:
        if len(chosen) >= max_passages:
            break
        if chosen and passage.passage_score < top - WEAK_MARGIN:
            break  # the rest are weaker still
        excerpt = trim(passage, count_tokens, passage_tokens)
        hashes = shingle_hashes(excerpt.text)
        if any(_contained(hashes, other) for other in given):
            continue
        cost = count_tokens(excerpt.text)
        if chosen and used + cost > prompt_tokens:
            continue  # a shorter, later one may still fit
        chosen.append(excerpt)
        given.append(hashes)
        used += cost
    return chosen


def trim(passage: PassageEvidence, count_tokens: TokenCounter,
         passage_tokens: int = PASSAGE_TOKENS) -> Excerpt:
    """The passage cut to the sentences that matter, within ``passage_tokens``: its best
    sentence, then the sentences nearly as good, then the best one's neighbours (a
    heading or the sentence that names the subject), each only while it fits."""
    sentences = passage.sentences
    result = passage.result
    whole = result.chunk.text.strip()
    score = passage.passage_score
    if count_tokens(whole) <= passage_tokens:
        return Excerpt(result, whole, False, score, tuple(s.span for s in sentences))
    best = max(range(len(sentences)), key=lambda i: sentences[i].score)
    order = [best]
    order += sorted((i for i, s in enumerate(sentences)
                     if i != best and s.score >= sentences[best].score - NEIGHBOUR_MARGIN),
                    key=lambda i: -sentences[i].score)
    for step in (1, 2):
        order += [i for i in (best - step, best + step) if 0 <= i < len(sentences)]
    kept: set[int] = set()
    used = 0
    for i in dict.fromkeys(order):
        cost = count_tokens(sentences[i].span.text) + 1
        if kept and used + cost > passage_tokens:
            continue
        kept.add(i)
        used += cost
    text = _join(result.chunk.text, [sentences[i].span for i in sorted(kept)])
    if not kept or (len(kept) == 1 and used > passage_tokens):
        text = _cut(sentences[best].span.text, count_tokens, passage_tokens)
    return Excerpt(result, text, True, score,
                   tuple(sentences[i].span for i in sorted(kept)))


def extract(evidence: Sequence[PassageEvidence], excerpts: Sequence[Excerpt],
            count: int = EXTRACT_SENTENCES) -> list[ExtractSentence]:
    """The best sentences among those given to the model (within ``EXTRACT_MARGIN`` of
    the best, at most ``EXTRACT_PER_PASSAGE`` of a passage, ``count`` in all), grouped by
    passage, best passage first, each passage's in reading order: an answer to read
    while the model writes its own."""
    by_chunk = {e.result.chunk.id: e for e in evidence}
    candidates: list[ExtractSentence] = []
    for index, excerpt in enumerate(excerpts):
        passage = by_chunk.get(excerpt.result.chunk.id)
        if passage is None or not passage.sentences:
            continue
        kept = set(excerpt.spans) or {s.span for s in passage.sentences}
        chunk = excerpt.result.chunk
        for sentence in passage.sentences:
            if sentence.span not in kept:
                continue
            start = None if chunk.start_char is None else chunk.start_char + sentence.span.start
            end = None if chunk.start_char is None else chunk.start_char + sentence.span.end
            candidates.append(ExtractSentence(sentence.span.text, index, sentence.score,
                                              start, end))
    if not candidates:
        return []
    top = max(c.score for c in candidates)
    chosen: list[ExtractSentence] = []
    per_passage: dict[int, int] = {}
    for c in sorted(candidates, key=lambda c: -c.score):
        if c.score < top - EXTRACT_MARGIN or len(chosen) >= count:
            break
        if per_passage.get(c.excerpt, 0) >= EXTRACT_PER_PASSAGE:
            continue
        per_passage[c.excerpt] = per_passage.get(c.excerpt, 0) + 1
        chosen.append(c)
    first_seen = {c.excerpt: i for i, c in reversed(list(enumerate(chosen)))}
    return sorted(chosen, key=lambda c: (first_seen[c.excerpt], c.start_char or 0,
                                         candidates.index(c)))


def _contained(hashes: np.ndarray, other: np.ndarray) -> bool:
    if not len(hashes) or not len(other):
        return False
    first, second = overlap(hashes, other)
    return max(first, second) >= DUPLICATE_CONTAINMENT


def _join(text: str, spans: Sequence[Span]) -> str:
    parts: list[str] = []
    previous_end: int | None = None
    for span in spans:
        if previous_end is not None:
            between = text[previous_end:span.start]
            parts.append("\n" if between.strip() == "" and "\n" in between
                         else " " if between.strip() == "" else GAP)
        parts.append(span.text)
        previous_end = span.end
    return "".join(parts).strip()


def _cut(text: str, count_tokens: TokenCounter, limit: int) -> str:
    """One sentence longer than the whole budget, cut at a word."""
    while text and count_tokens(text) > limit:
        text = text[: max(1, int(len(text) * 0.85))].rsplit(" ", 1)[0]
    return text.rstrip() + "…"
