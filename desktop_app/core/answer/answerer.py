"""Answering a question from the library: retrieve, decline or prompt, stream, cite.

    answerer = Answerer(library)
    stream = answerer.ask("如何重置密码?")
    for piece in stream:           # text as it is written; stream.cancel() from any thread
        print(piece, end="")
    answer = stream.answer         # text, cited sources, timings, declined or not

    for event in answerer.ask(question).events():   # what the window shows, in order:
        ...  # Extract (before the model writes), str pieces, Checked (each sentence)

The order of work: retrieve; score the sentences of the passages nearest by meaning
against the question (``evidence``) and show the best of them at once (the extract, cited
like the answer will be); score the other passages' sentences; decline or go on; choose
the excerpts the model gets (an extract that a later passage improved on is replaced);
write; check every sentence of the answer against the passages it cites (``checks``) as
it is completed.

The decline is Kura's, not the model's: when the passages' sentences do not answer the
question (``decline.decide``: the best sentence's score, adjusted for the pair of
languages, and how far its passage stands out from the rest) the documents do not hold
the answer, and asking a model anyway invites a fluent invention. So Kura says it does
not know, in the question's language, naming the collections it searched, without
loading or calling the model.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from desktop_app.core.answer.checks import AnswerChecker, PassageText, SentenceCheck
from desktop_app.core.answer.citations import cited
from desktop_app.core.answer.decline import Decision, decide
from desktop_app.core.answer.evidence import (
    Excerpt,
    ExtractSentence,
    PassageEvidence,
    extract,
    score_passages,
    select_excerpts,
    split_first,
)
from desktop_app.core.answer.language import decline_message
from desktop_app.core.answer.llm import LLM, GenerationStats, make_llm
from desktop_app.core.answer.names import absent_names
from desktop_app.core.answer.prompt import Passage, Prompt, build_prompt
from desktop_app.core.answer.settings import AnswerSettings, LLMSettings
from desktop_app.core.library import Library
from desktop_app.core.search import SearchResponse, SearchResult


@dataclass(frozen=True)
class Source:
    """A passage given to the model as ``[number]``, with what is needed to check it."""

    number: int
    path: str
    collection: str
    title: str | None
    location: str | None  # section, "page 3", "slide 2"...
    page: int | None
    snippet: str
    score: float  # the fused search score (orders results)
    relevance: float | None  # calibrated probability that it answers the question
    truncated: bool = False  # cut to fit the context
    # Where the passage sits in its document, so a viewer can show it in place (and a
    # saved chat can still show it after the library has re-indexed the file).
    chunk_id: int | None = None
    start_char: int | None = None
    end_char: int | None = None
    text: str = ""

    @classmethod
    def from_passage(cls, passage: Passage) -> Source:
        return cls.from_result(passage.result, passage.number,
                               passage.truncated or passage.trimmed)

    @classmethod
    def from_result(cls, r: SearchResult, number: int, truncated: bool = False) -> Source:
        """Any search result as a numbered source (a library search lists them too)."""
        c = r.chunk
        return cls(number, r.path, r.collection, c.title, c.location, c.page, r.snippet,
                   r.score, r.relevance, truncated, c.id, c.start_char, c.end_char, c.text)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["score"] = round(self.score, 6)
        data["relevance"] = None if self.relevance is None else round(self.relevance, 4)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Source:
        """A source as ``as_dict`` wrote it (a saved chat). Saved chats outlive versions
        of this class: keys it does not know are dropped, missing ones are left empty."""
        known = {f.name for f in fields(cls)}
        empty: dict[str, Any] = {"number": 0, "path": "", "collection": "", "title": None,
                                 "location": None, "page": None, "snippet": "",
                                 "score": 0.0, "relevance": None}
        return cls(**{**empty, **{k: v for k, v in data.items() if k in known}})


@dataclass(frozen=True)
class Timings:
    """Seconds, and the model's speed. The wait a person sees before the first word is
    ``retrieval_s + prompt_s + first_token_s``."""

    retrieval_s: float = 0.0
    prompt_s: float = 0.0  # scoring the passages' sentences, choosing, packing
    extract_s: float | None = None  # from Enter to the extract
    first_token_s: float | None = None  # from the model's request to its first text
    generation_s: float | None = None  # the model's whole run
    tokens_per_s: float | None = None  # decode speed after the first token
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0  # reused from the KV cache (the fixed prefix)
    completion_tokens: int = 0

    @classmethod
    def of(cls, retrieval_s: float, prompt_s: float, extract_s: float | None,
           stats: GenerationStats) -> Timings:
        return cls(retrieval_s, prompt_s, extract_s, stats.first_token_s, stats.total_s,
                   stats.tokens_per_s, stats.prompt_tokens, stats.reused_tokens,
                   stats.completion_tokens)

    def as_dict(self) -> dict[str, Any]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class ExtractItem:
    """A sentence of a passage that answers the question, shown before the model writes;
    ``number`` is the passage's citation number ([number]) in the answer."""

    text: str
    number: int
    path: str
    location: str | None
    page: int | None
    score: float
    start_char: int | None = None
    end_char: int | None = None

    @classmethod
    def of(cls, sentence: ExtractSentence, excerpts: Sequence[Excerpt]) -> ExtractItem:
        chunk = excerpts[sentence.excerpt].result.chunk
        return cls(sentence.text, sentence.number, chunk.path, chunk.location, chunk.page,
                   sentence.score, sentence.start_char, sentence.end_char)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["score"] = round(self.score, 4)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExtractItem:
        """As ``as_dict`` wrote it (a saved chat); unknown keys dropped."""
        known = {f.name for f in fields(cls)}
        empty: dict[str, Any] = {"text": "", "number": 0, "path": "", "location": None,
                                 "page": None, "score": 0.0}
        return cls(**{**empty, **{k: v for k, v in data.items() if k in known}})


@dataclass(frozen=True)
class Extract:
    """Event: the extract is ready (before the first written token). A later one replaces
    it: the extract of every passage, when it differs from the first passages' (then its
    numbers are the answer's), or an empty one when Kura declines after all."""

    sentences: list[ExtractItem]
    passages: list[Source]  # what [n] points at


@dataclass(frozen=True)
class Checked:
    """Event: a sentence of the answer has been checked."""

    check: SentenceCheck


AnswerEvent = str | Extract | Checked


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    sources: list[Source]  # the passages the text cites, in order of first citation
    declined: bool
    collections: list[str]  # what was searched
    timings: Timings
    passages: list[Source] = field(default_factory=list)  # all given to the model
    query: str = ""  # what retrieval searched (a follow-up carries earlier terms)
    cancelled: bool = False
    extract: list[ExtractItem] = field(default_factory=list)
    checks: list[SentenceCheck] = field(default_factory=list)
    written_by: str = ""  # which machine wrote the text ("" when no model was asked)
    decision: Decision | None = None  # why Kura answered or declined

    @property
    def flagged(self) -> list[SentenceCheck]:
        """The sentences no cited passage supports."""
        return [c for c in self.checks if c.flagged]

    def as_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "query": self.query,
            "answer": self.text,
            "extract": [e.as_dict() for e in self.extract],
            "checks": [c.as_dict() for c in self.checks],
            "written_by": self.written_by,
            "decision": self.decision.as_dict() if self.decision else None,
            "sources": [s.as_dict() for s in self.sources],
            "passages": [s.as_dict() for s in self.passages],
            "declined": self.declined,
            "cancelled": self.cancelled,
            "collections": self.collections,
            "timings": self.timings.as_dict(),
        }


class AnswerStream:
    """One answer being written. Iterate for text pieces (the decline arrives as one
    piece); ``answer`` is set when iteration ends, also when cancelled or closed early."""

    def __init__(
        self,
        answerer: Answerer,
        question: str,
        query: str,
        collections: Sequence[str] | None,
        earlier: Sequence[str] = (),
        should_stop: Callable[[], bool] | None = None,
        on_done: Callable[[Answer], None] | None = None,
    ) -> None:
        self.question = question
        self.query = query
        self.collections = list(collections) if collections else None
        self.earlier = list(earlier)
        self.retrieved: SearchResponse | None = None
        self.evidence: list[PassageEvidence] = []
        self.decision: Decision | None = None
        self.excerpts: list[Excerpt] = []
        self.extract: list[ExtractItem] = []  # known before the model is asked
        self.prompt: Prompt | None = None
        self.passages: list[Source] = []  # known once retrieval and packing are done
        self.checks: list[SentenceCheck] = []
        self.answer: Answer | None = None
        self._answerer = answerer
        self._should_stop = should_stop
        self._on_done = on_done
        self._cancel = threading.Event()
        self._iterator: Iterator[AnswerEvent] | None = None

    def cancel(self) -> None:
        """Stop at the next token (safe from any thread); the answer keeps what was
        written and is marked cancelled."""
        self._cancel.set()

    def stop_requested(self) -> bool:
        return self._cancel.is_set() or bool(self._should_stop and self._should_stop())

    def __iter__(self) -> Iterator[str]:
        """The text as it is written (the other events are kept on the stream)."""
        return (event for event in self.events() if isinstance(event, str))

    def events(self) -> Iterator[AnswerEvent]:
        """Everything in order: ``Extract``, text pieces, ``Checked`` sentences."""
        if self._iterator is None:
            self._iterator = self._run()
        return self._iterator

    def close(self) -> None:
        if self._iterator is not None and hasattr(self._iterator, "close"):
            self._iterator.close()

    def result(self) -> Answer:
        """Run to the end and return the answer."""
        for _ in self:
            pass
        if self.answer is None:  # only if iteration was started elsewhere and abandoned
            raise RuntimeError("this answer stream was closed before it finished")
        return self.answer

    def _finish(self, answer: Answer) -> None:
        self.answer = answer
        if self._on_done:
            self._on_done(answer)

    def _run(self) -> Iterator[AnswerEvent]:
        answerer = self._answerer
        settings = answerer.settings
        start = time.perf_counter()
        response = answerer.library.search(self.query, k=settings.passages_k,
                                           collections=self.collections)
        self.retrieved = response
        retrieval_s = time.perf_counter() - start
        extract_s: float | None = None

        def finish(text: str, declined: bool = False, cancelled: bool = False,
                   timings: Timings | None = None, written_by: str = "") -> None:
            self._finish(Answer(
                question=self.question, text=text,
                sources=cited(text, self.passages) if not declined else [],
                declined=declined, collections=response.collections,
                timings=timings or Timings(retrieval_s, extract_s=extract_s),
                passages=self.passages, query=self.query, cancelled=cancelled,
                extract=self.extract, checks=list(self.checks), written_by=written_by,
                decision=self.decision))

        packing = time.perf_counter()
        embedder = answerer.library.embedder
        absent = absent_names(
            self.query, lambda term: answerer.library.mentions(term, self.collections))
        # The passages nearest by meaning are scored first and the extract shown from them;
        # then the rest (every retrieved passage is scored: the decision weighs the best
        # against the rest, and a later one may hold a better sentence).
        results = response.results
        first, rest = split_first(results)
        self.evidence = score_passages(embedder, self.query, [results[i] for i in first],
                                       first)
        shown: Extract | None = None
        if rest:
            early = decide(self.query, response, self.evidence, settings.decline_below,
                           absent)
            if not early.declined:
                shown = Extract(*self._choose(early)[1:])
                if shown.sentences:
                    extract_s = time.perf_counter() - start
                    yield shown
            if self.stop_requested():
                finish("", cancelled=True)
                return
            later = score_passages(embedder, self.query, [results[i] for i in rest], rest)
            self.evidence = sorted(self.evidence + later, key=lambda e: e.rank)
        self.decision = decide(self.query, response, self.evidence, settings.decline_below,
                               absent)
        if self.decision.declined:
            if shown is not None and shown.sentences:
                yield Extract([], [])  # what was shown does not answer after all
            text = decline_message(self.question, response.collections)
            finish(text, declined=True)
            yield text
            return
        if self.stop_requested():
            finish("", cancelled=True)
            return

        self.excerpts, self.extract, self.passages = self._choose(self.decision)
        if shown is None or (shown.sentences, shown.passages) != (self.extract, self.passages):
            # The final extract replaces the early one (or is the first one shown).
            if self.extract and extract_s is None:
                extract_s = time.perf_counter() - start
            if self.extract or (shown is not None and shown.sentences):
                yield Extract(self.extract, self.passages)
        if self.stop_requested():
            finish("", cancelled=True)
            return

        llm = answerer.llm
        prompt = build_prompt(llm, self.question, self.excerpts,
                              llm.n_ctx - settings.max_answer_tokens, self.earlier)
        prompt_s = time.perf_counter() - packing
        self.prompt = prompt
        self.passages = [Source.from_passage(p) for p in prompt.passages]
        checker = AnswerChecker(embedder, [self._passage_text(p) for p in prompt.passages])

        generation = llm.generate(prompt.text, settings.max_answer_tokens,
                                  settings.temperature, should_stop=self.stop_requested)
        pieces: list[str] = []
        try:
            for piece in generation:
                pieces.append(piece)
                yield piece
                if _may_end_sentence(piece):
                    for check in checker.feed("".join(pieces)):
                        self.checks.append(check)
                        yield Checked(check)
            for check in checker.finish("".join(pieces))[len(self.checks):]:
                self.checks.append(check)
                yield Checked(check)
        finally:
            # Also on close() or an exception in the consumer: the answer so far counts.
            generation.close()
            cancelled = generation.cancelled or self.stop_requested() \
                or generation.stats.finish_reason is None
            finish("".join(pieces).strip(), cancelled=cancelled,
                   timings=Timings.of(retrieval_s, prompt_s, extract_s, generation.stats),
                   written_by=llm.origin)

    def _choose(self, decision: Decision) -> tuple[list[Excerpt], list[ExtractItem],
                                                   list[Source]]:
        """From the passages scored so far: the excerpts for the model, the extract, and
        the passages its numbers point at."""
        settings = self._answerer.settings
        assert self.retrieved is not None
        decisive = decision.signals.passage if decision.signals else None
        scored = {e.result.chunk.id for e in self.evidence}
        candidates = [r for r in self.retrieved.results if r.chunk.id in scored and (
            r.relevance is None or r.relevance >= settings.min_relevance
            or r is decisive)]  # a passage in another language scores lower
        if settings.trim_passages:
            kept = {r.chunk.id for r in candidates}
            excerpts = select_excerpts(
                [e for e in self.evidence if e.result.chunk.id in kept],
                _token_counter(self._answerer.library.embedder), settings.prompt_tokens,
                max_passages=settings.max_passages)
        else:
            excerpts = [Excerpt.whole(r) for r in candidates]
        sentences = [ExtractItem.of(s, excerpts) for s in extract(self.evidence, excerpts)]
        passages = [Source.from_result(e.result, i, e.trimmed)
                    for i, e in enumerate(excerpts, 1)]
        return excerpts, sentences, passages

    def _passage_text(self, passage: Passage) -> PassageText:
        """The passage as the model saw it, with the sentence vectors scoring computed."""
        scored = next((e for e in self.evidence if e.result.chunk.id == passage.result.chunk.id),
                      None)
        excerpt = next((e for e in self.excerpts if e.result is passage.result), None)
        if scored is None or excerpt is None or passage.truncated:
            return PassageText(passage.number, passage.text)
        spans = excerpt.spans or tuple(s.span for s in scored.sentences)
        vectors = scored.vectors_of(spans)
        return PassageText(passage.number, passage.text, tuple(s.text for s in spans), vectors)


def _may_end_sentence(piece: str) -> bool:
    return any(c in piece for c in ".!?。！？；\n]］】")


def _token_counter(embedder: object) -> Callable[[str], int]:
    """Tokens of a text for the excerpts' budget, before the answer model is loaded (the
    extract must not wait for it): the embedder's tokenizer is Gemma 3's, which the
    answer model shares; the prompt's final count is the model's own. An embedder
    without one (a test's) counts a token per three characters."""
    count = getattr(embedder, "count_tokens", None)
    return count if callable(count) else (lambda text: len(text) // 3 + 1)


class Answerer:
    """Answers questions from a ``Library`` with a language model loaded once.

    The model (``make_llm``'s engine) is loaded on the first question that needs it (a
    declined question does not), unless one is given (tests, or an app that loads it
    ahead)."""

    def __init__(
        self,
        library: Library,
        llm: LLM | None = None,
        settings: AnswerSettings | None = None,
        llm_settings: LLMSettings | None = None,
    ) -> None:
        self.library = library
        self.settings = settings or AnswerSettings()
        self.llm_settings = llm_settings or LLMSettings()
        self._llm = llm
        self._loading = threading.Lock()

    @property
    def llm(self) -> LLM:
        with self._loading:
            if self._llm is None:
                self._llm = make_llm(self.llm_settings)
            return self._llm

    @property
    def llm_loaded(self) -> bool:
        return self._llm is not None

    def ask(
        self,
        question: str,
        collections: Sequence[str] | None = None,
        should_stop: Callable[[], bool] | None = None,
        *,
        query: str | None = None,
        earlier: Sequence[str] = (),
        on_done: Callable[[Answer], None] | None = None,
    ) -> AnswerStream:
        """A stream of the answer to ``question``. Nothing runs until it is iterated.

        ``query`` replaces the question for retrieval and ``earlier`` lists earlier
        questions shown to the model (``Conversation`` sets both for follow-ups)."""
        return AnswerStream(self, question.strip(), (query or question).strip(), collections,
                            earlier, should_stop, on_done)

    def answer(self, question: str, collections: Sequence[str] | None = None) -> Answer:
        return self.ask(question, collections).result()
