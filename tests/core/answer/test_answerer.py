"""The answerer end to end on the seed's knowledge base: the real embedder, the real
library and the real llama.cpp path (270M base model: its prose is not judged, the
retrieval, the prompt, the sources and the decline are)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from desktop_app.core.answer import (
    GEMMA,
    LLM,
    Answerer,
    AnswerSettings,
    Checked,
    Conversation,
    Extract,
    Generation,
    LlamaEngine,
    LLMSettings,
    cited,
    fixed_prefix,
)
from desktop_app.core.answer.evidence import EXTRACT_FIRST
from desktop_app.core.library import Library


class SpyLLM(LLM):
    """The real engine, counting every use: the decline path must make none."""

    def __init__(self, real: LlamaEngine) -> None:
        self.real = real
        self.n_ctx = real.n_ctx
        self.calls: list[str] = []

    def tokenize(self, text: str, bos: bool = False) -> list[int]:
        self.calls.append("tokenize")
        return self.real.tokenize(text, bos)

    def detokenize(self, tokens: Sequence[int]) -> str:
        self.calls.append("detokenize")
        return self.real.detokenize(tokens)

    def generate(self, prompt: str, max_tokens: int, temperature: float = 0.0,
                 should_stop: Callable[[], bool] | None = None) -> Generation:
        self.calls.append("generate")
        return self.real.generate(prompt, max_tokens, temperature, should_stop)


@pytest.fixture
def spy(engine: LlamaEngine) -> SpyLLM:
    return SpyLLM(engine)


@pytest.fixture
def answerer(kb_library: Library, spy: SpyLLM, short_answers: AnswerSettings) -> Answerer:
    return Answerer(kb_library, llm=spy, settings=short_answers)


def test_seed_question_retrieves_and_puts_the_password_document_first(
        answerer: Answerer, spy: SpyLLM) -> None:
    stream = answerer.ask("如何重置密码?")
    pieces = list(stream)
    answer = stream.answer
    assert answer is not None and not answer.declined and not answer.cancelled
    assert pieces and answer.text == "".join(pieces).strip()
    assert stream.prompt is not None
    assert "[1] 账户密码管理.md, 账户密码管理\n如忘记密码" in stream.prompt.text
    assert stream.prompt.text.endswith("Question: 如何重置密码?<end_of_turn>\n"
                                       "<start_of_turn>model\n")
    first = answer.passages[0]
    assert first.number == 1 and first.path.endswith("IT 与安全/账户密码管理.md")
    assert first.collection == "IT 与安全" and first.relevance and first.relevance > 0.5
    # cited sources are exactly the passages the text names, a subset of those given
    assert answer.sources == cited(answer.text, answer.passages)
    assert set(answer.sources) <= set(answer.passages)
    assert sorted(answer.collections) == sorted(["IT 与安全", "人力资源与请假政策",
                                                 "办公与设施", "财务与报销"])
    t = answer.timings
    assert t.retrieval_s > 0 and t.first_token_s is not None and t.prompt_tokens > 100
    assert 0 < t.completion_tokens <= 24 and "generate" in spy.calls


def test_unrelated_passages_are_not_given_to_the_model(kb_library: Library,
                                                        spy: SpyLLM) -> None:
    settings = AnswerSettings(max_answer_tokens=2, temperature=0.0)
    focused = Answerer(kb_library, llm=spy, settings=settings).answer("如何重置密码?")
    assert focused.passages[0].path.endswith("账户密码管理.md")
    assert all(p.relevance is None or p.relevance >= settings.min_relevance
               for p in focused.passages)
    assert len(focused.passages) < 8  # corp_kb's other seven documents are unrelated
    everything = Answerer(kb_library, llm=spy, settings=AnswerSettings(
        max_answer_tokens=2, min_relevance=0.0, trim_passages=False)).answer("如何重置密码?")
    assert len(everything.passages) == 8
    assert focused.timings.prompt_tokens < everything.timings.prompt_tokens


def test_a_question_the_base_cannot_answer_declines_without_the_model(
        kb_library: Library, spy: SpyLLM, short_answers: AnswerSettings) -> None:
    answerer = Answerer(kb_library, llm=spy, settings=short_answers)
    answer = answerer.answer("公司的股票期权怎么行权?")
    assert answer.declined and spy.calls == []
    assert answer.text.startswith("我不知道")
    for name in answer.collections:
        assert name in answer.text
    assert answer.sources == [] and answer.passages == []
    assert answer.timings.first_token_s is None


def test_a_decline_never_even_loads_the_model(kb_library: Library, tmp_path: Path,
                                              short_answers: AnswerSettings) -> None:
    answerer = Answerer(kb_library, settings=short_answers,
                        llm_settings=LLMSettings(model_path=tmp_path / "absent.gguf"))
    answer = answerer.answer("What is the capital of France?")
    assert answer.declined and not answerer.llm_loaded
    assert answer.text.startswith("I don't know.")


def test_a_scoped_question_declines_naming_only_that_collection(answerer: Answerer,
                                                                spy: SpyLLM) -> None:
    answer = answerer.answer("如何重置密码?", collections=["财务与报销"])
    assert answer.declined and answer.collections == ["财务与报销"]
    assert "财务与报销" in answer.text and "IT 与安全" not in answer.text
    assert spy.calls == []


def test_cancel_mid_answer_keeps_what_was_written_and_the_next_question_works(
        kb_library: Library, engine: LlamaEngine) -> None:
    answerer = Answerer(kb_library, llm=engine,
                        settings=AnswerSettings(max_answer_tokens=200, temperature=0.0))
    stream = answerer.ask("How do I reset my password?")
    written = []
    for piece in stream:
        written.append(piece)
        if len(written) == 2:
            stream.cancel()
    answer = stream.answer
    assert answer is not None and answer.cancelled
    assert len(written) == 2 and answer.timings.completion_tokens <= 3
    assert answer.text == "".join(written).strip() and answer.passages
    follow = answerer.ask("会议室怎么预订?")
    follow_answer = follow.result()
    assert not follow_answer.cancelled and follow_answer.text
    assert follow_answer.passages[0].path.endswith("会议室预订指南.md")
    # the instructions were not evaluated again: read from the KV cache
    prefix_tokens = engine.count_tokens(fixed_prefix(GEMMA), bos=True)
    assert follow_answer.timings.cached_prompt_tokens >= prefix_tokens


def test_closing_the_stream_early_still_gives_an_answer(answerer: Answerer) -> None:
    stream = answerer.ask("年假有多少天?")
    iterator = iter(stream)
    next(iterator)
    stream.close()
    assert stream.answer is not None and stream.answer.cancelled


def test_a_follow_up_carries_the_topic_into_retrieval(answerer: Answerer, spy: SpyLLM) -> None:
    conversation = Conversation(answerer)
    first = conversation.answer("年假有多少天?")
    assert not first.declined and first.passages[0].path.endswith("年假政策.md")
    stream = conversation.ask("那病假要通知谁?")
    second = stream.result()
    assert second.query.startswith("那病假要通知谁?") and "年假" in second.query
    assert stream.prompt is not None and "- 年假有多少天?" in stream.prompt.text
    assert [t.follow_up for t in conversation.turns] == [False, True]
    assert conversation.turns[1].answer is second
    # a new topic is not rewritten and shows no earlier questions
    third = conversation.ask("会议室怎么预订?")
    third.result()
    assert third.query == "会议室怎么预订?" and "Earlier questions" not in (
        third.prompt.text if third.prompt else "")


def test_answer_as_dict_is_json_ready(answerer: Answerer) -> None:
    import json

    data = answerer.answer("如何重置密码?").as_dict()
    assert {"answer", "sources", "declined", "collections", "timings"} <= data.keys()
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data


def test_asking_opens_no_network_connection(kb_library: Library, engine: LlamaEngine) -> None:
    """Offline for good: retrieval, the decline path and a streamed answer on the real
    models, under a guard that blocks (and records) any non-loopback connection."""
    from desktop_app.core.model_files import socket_guard

    answerer = Answerer(kb_library, llm=engine,
                        settings=AnswerSettings(max_answer_tokens=8, temperature=0.0))
    with socket_guard() as guard:
        answered = answerer.answer("如何重置密码?")
        declined = answerer.answer("公司的股票期权怎么行权?")
    assert answered.passages and not answered.declined
    assert declined.declined
    assert guard.attempts == []


def test_sources_carry_where_the_passage_sits_in_its_document(answerer: Answerer) -> None:
    """A viewer shows the passage in place, and a saved chat can show it even after the
    library re-indexed the file: the source keeps the chunk's offsets and text."""
    answer = answerer.answer("如何重置密码?")
    source = answer.passages[0]
    assert source.chunk_id is not None and source.text
    assert source.start_char is not None and source.end_char is not None
    document = Path(source.path).read_text(encoding="utf-8")
    assert source.text.strip() in document
    assert source.as_dict()["text"] == source.text


def test_the_extract_comes_before_the_model_is_asked_and_sentences_are_checked(
        answerer: Answerer, spy: SpyLLM) -> None:
    stream = answerer.ask("如何重置密码?")
    events = stream.events()
    first = next(events)
    assert isinstance(first, Extract)  # before any text, before the model is asked
    assert "generate" not in spy.calls
    assert "reset.ourcompany" in first.sentences[0].text and first.sentences[0].number == 1
    assert first.passages[0].path.endswith("账户密码管理.md")
    rest = list(events)
    assert any(isinstance(e, str) for e in rest) and "generate" in spy.calls
    answer = stream.answer
    extracts = [first, *(e for e in rest if isinstance(e, Extract))]
    assert answer is not None and answer.extract == extracts[-1].sentences
    assert answer.timings.extract_s is not None
    assert answer.timings.extract_s <= answer.timings.retrieval_s + answer.timings.prompt_s
    checked = [e.check for e in rest if isinstance(e, Checked)]
    assert checked == answer.checks  # every sentence of the answer, as it was completed
    assert {c.index for c in answer.checks} == set(range(len(answer.checks)))
    data = answer.as_dict()
    assert data["extract"][0]["number"] == 1 and "checks" in data
    assert data["written_by"] == "this computer"


def test_the_excerpts_are_smaller_than_the_whole_passages(kb_library: Library,
                                                          spy: SpyLLM) -> None:
    long_question = "忘记密码怎么办？年假有多少天？"
    settings = AnswerSettings(max_answer_tokens=2, min_relevance=0.0, decline_below=0.0)
    trimmed = Answerer(kb_library, llm=spy, settings=settings).answer(long_question)
    whole = Answerer(kb_library, llm=spy, settings=AnswerSettings(
        max_answer_tokens=2, min_relevance=0.0, decline_below=0.0, trim_passages=False)
    ).answer(long_question)
    assert trimmed.timings.prompt_tokens < whole.timings.prompt_tokens
    assert trimmed.passages[0].path.endswith(("账户密码管理.md", "年假政策.md"))


@pytest.mark.parametrize(("question", "document"), [
    ("Who do I tell when I am sick?", "非计划缺勤流程.md"),
    ("How do I reset my password?", "账户密码管理.md"),
])
def test_english_questions_over_the_chinese_knowledge_base_answer_from_the_right_document(
        answerer: Answerer, question: str, document: str) -> None:
    answer = answerer.answer(question)
    assert not answer.declined, answer.decision
    assert answer.passages[0].path.endswith(document)
    assert answer.extract and answer.extract[0].path.endswith(document)
    assert answer.decision is not None and answer.decision.confidence >= 0.5


def test_the_extract_is_shown_from_the_nearest_passages_before_the_rest_are_scored(
        answerer: Answerer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Half the sentences are scored when the extract appears; all of them before the
    model is asked; a replacing extract, if any, is the answer's."""
    embedder = answerer.library.embedder
    embedded: list[int] = []
    real = embedder.embed_documents

    def counting(texts: Any, *args: Any, **kwargs: Any) -> Any:
        embedded.append(len(texts))
        return real(texts, *args, **kwargs)

    monkeypatch.setattr(embedder, "embed_documents", counting)
    stream = answerer.ask("How do I reset my password?")
    events = stream.events()
    first = next(events)
    assert isinstance(first, Extract) and first.sentences
    assert len(embedded) == 1  # only the first passages' sentences so far
    assert first.passages[first.sentences[0].number - 1].path.endswith("账户密码管理.md")
    rest = list(events)
    retrieved = stream.retrieved
    assert retrieved is not None and len(retrieved.results) > EXTRACT_FIRST
    assert len(embedded) == 2
    assert sorted(e.rank for e in stream.evidence) == list(range(len(retrieved.results)))
    assert all(e.result is r for e, r in zip(stream.evidence, retrieved.results, strict=True))
    answer = stream.answer
    extracts = [first, *(e for e in rest if isinstance(e, Extract))]
    assert answer is not None and answer.extract == extracts[-1].sentences
    assert [p.path for p in extracts[-1].passages] == [p.path for p in answer.passages]
