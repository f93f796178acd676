"""The decline decision: per pair of scripts on synthetic scores, and end to end on the
seed's knowledge base with the real embedder (``kb_library``, marked slow)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from desktop_app.core.answer import decline
from desktop_app.core.answer.decline import decide, signals
from desktop_app.core.answer.evidence import PassageEvidence, ScoredSentence, score_passages
from desktop_app.core.answer.names import absent_names
from desktop_app.core.answer.sentences import Span
from desktop_app.core.answer.settings import AnswerSettings
from desktop_app.core.library import Library
from desktop_app.core.search import SearchResponse, SearchResult
from desktop_app.core.store import Chunk

# -- synthetic passages ---------------------------------------------------------------------

ZH_ANSWER = "如因生病无法工作，请通知直接上级和人力资源部门。"
ZH_OTHERS = ["会议室可通过日历应用预订。", "差旅费用按实际成本报销。", "所有软件许可须经批准。"]
EN_ANSWER = "If you are sick, tell your manager and HR by email."
EN_OTHERS = ["Meeting rooms are booked in the calendar.", "Travel is paid at actual cost.",
             "Software licences need approval."]


def result(i: int, text: str, cosine: float | None = 0.3) -> SearchResult:
    chunk = Chunk(i, i, 1, f"/docs/{i}.md", 0, text, None, None, None, 0, len(text), f"k{i}")
    return SearchResult(chunk, "docs", 1.0 / (i + 1), cosine, None, text[:40])


def passages(texts: Sequence[str], scores: Sequence[float]) -> tuple[SearchResponse,
                                                                     list[PassageEvidence]]:
    """One sentence per passage, scored as given."""
    results = [result(i, t) for i, t in enumerate(texts)]
    evidence = [PassageEvidence(r, [ScoredSentence(Span(0, len(t), t), s)], i)
                for i, (r, t, s) in enumerate(zip(results, texts, scores, strict=True))]
    return SearchResponse("q", results, ["docs"]), evidence


def test_the_same_scores_answer_across_languages_and_decline_within_one() -> None:
    """EmbeddingGemma scores a question against a passage in another script about 0.1
    lower: a stand-out answer at 0.42 is an answer from English to Chinese, and too weak
    from Chinese to Chinese."""
    scores = [0.42, 0.15, 0.14, 0.13]
    response, evidence = passages([ZH_ANSWER, *ZH_OTHERS], scores)

    across = decide("Who do I tell when I am sick?", response, evidence)
    within = decide("生病了找谁?", response, evidence)

    assert across.signals is not None and within.signals is not None
    assert across.signals.mismatch == pytest.approx(1.0)
    assert within.signals.mismatch == pytest.approx(0.0)
    assert across.signals.best == pytest.approx(0.42 + decline.CROSS_LANGUAGE)
    assert within.signals.best == pytest.approx(0.42)
    assert not across.declined and within.declined
    assert across.confidence > within.confidence


def test_a_mixed_question_gets_part_of_the_offset() -> None:
    """A Chinese question naming an English product matches English text through the name."""
    response, evidence = passages([EN_ANSWER], [0.5])
    s = signals("如何用 Flatpak 安装应用?", response, evidence)
    assert s is not None and 0.3 < s.mismatch < 0.9
    assert s.best == pytest.approx(0.5 + decline.CROSS_LANGUAGE * s.mismatch)


def test_a_passage_that_stands_out_answers_and_a_crowd_declines() -> None:
    question = "Who do I tell when I am sick?"
    stands_out = decide(question, *passages([EN_ANSWER, *EN_OTHERS], [0.58, 0.30, 0.28, 0.25]))
    crowd = decide(question, *passages([EN_ANSWER, *EN_OTHERS], [0.58, 0.57, 0.56, 0.56]))
    assert not stands_out.declined
    assert crowd.declined and "stands out" in crowd.reason
    assert crowd.signals is not None
    assert crowd.signals.margin == pytest.approx(0.58 - (0.57 + 0.56 + 0.56) / 3)
    weak = decide(question, *passages([EN_ANSWER, *EN_OTHERS], [0.30, 0.10, 0.10, 0.10]))
    assert weak.declined and "close enough" in weak.reason


def test_copies_of_the_best_passage_are_not_rivals() -> None:
    """The same text from the HTML, the PDF and the TXT copy of a page is one answer."""
    texts = [EN_ANSWER, "  if you are SICK, tell your manager and HR by email. ", *EN_OTHERS]
    s = signals("Who do I tell?", *passages(texts, [0.62, 0.61, 0.30, 0.28, 0.25]))
    assert s is not None and s.rivals == 3
    assert s.margin == pytest.approx(0.62 - (0.30 + 0.28 + 0.25) / 3)


def test_only_the_next_rivals_count() -> None:
    texts = [EN_ANSWER, *EN_OTHERS, "One more.", "And another one."]
    s = signals("Who do I tell?", *passages(texts, [0.6, 0.5, 0.4, 0.3, 0.0, 0.0]))
    assert s is not None and s.rivals == decline.RIVALS == 3
    assert s.margin == pytest.approx(0.6 - 0.4)


def test_a_single_passage_is_judged_by_its_score_alone() -> None:
    s = signals("Who do I tell?", *passages([EN_ANSWER], [0.6]))
    assert s is not None and s.rivals == 0 and s.margin == decline.NEUTRAL_MARGIN


def test_nothing_retrieved_declines() -> None:
    d = decide("anything?", SearchResponse("anything?", [], ["docs"]), [])
    assert d.declined and d.confidence == 0.0 and d.signals is None
    d = decide("anything?", SearchResponse("anything?", [], ["docs"]))
    assert d.declined


def test_the_threshold_is_the_users() -> None:
    response, evidence = passages([EN_ANSWER, *EN_OTHERS], [0.55, 0.45, 0.44, 0.43])
    d = decide("Who do I tell?", response, evidence)
    assert decide("Who do I tell?", response, evidence, threshold=0.0).declined is False
    assert decide("Who do I tell?", response, evidence, threshold=1.0).declined is True
    assert 0.0 < d.confidence < 1.0
    assert set(d.as_dict()) == {"declined", "confidence", "reason", "best", "margin",
                                "mismatch", "absent"}


def test_a_name_the_documents_never_mention_declines_and_is_named() -> None:
    """Passages on the topic (the OpenVPN pages for a WireGuard question) answer by their
    scores alone; that "WireGuard" is nowhere in the documents says they do not."""
    texts = ["Configure OpenVPN with a static key on the server.", *EN_OTHERS]
    response, evidence = passages(texts, [0.62, 0.40, 0.38, 0.37])
    question = "How do I set up WireGuard?"
    assert not decide(question, response, evidence).declined
    d = decide(question, response, evidence, absent=["WireGuard"])
    assert d.declined and '"WireGuard"' in d.reason
    assert d.as_dict()["absent"] == ["WireGuard"]


def test_a_latin_name_missing_from_chinese_passages_is_no_evidence() -> None:
    """A Chinese handbook may call the product by its Chinese name: "Feishu" being absent
    from passages written only in Chinese says nothing."""
    response, evidence = passages([ZH_ANSWER, *ZH_OTHERS], [0.42, 0.15, 0.14, 0.13])
    d = decide("Who do I tell in Feishu when I am sick?", response, evidence,
               absent=["Feishu"])
    assert d.signals is not None and d.signals.absent == ()
    assert not d.declined


def test_without_evidence_the_passage_cosines_stand_in() -> None:
    """Keyword-only hits (no cosine) are left out."""
    results = [result(0, ZH_ANSWER, 0.42), result(1, ZH_OTHERS[0], 0.15),
               result(2, ZH_OTHERS[1], None)]
    response = SearchResponse("q", results, ["docs"])
    s = signals("Who do I tell when I am sick?", response)
    assert s is not None and s.rivals == 1
    assert s.best == pytest.approx(0.42 + decline.CROSS_LANGUAGE)
    assert s.passage is results[0]


# -- the seed's knowledge base, real embedder ------------------------------------------------

def decided(library: Library, question: str) -> tuple[SearchResponse, decline.Decision]:
    """As the answerer decides: its number of passages, every one scored."""
    response = library.search(question, k=AnswerSettings().passages_k)
    evidence = score_passages(library.embedder, question, response.results)
    absent = absent_names(question, library.mentions)
    return response, decide(question, response, evidence, absent=absent)


@pytest.mark.slow
@pytest.mark.parametrize(("question", "document"), [
    ("Who do I tell when I am sick?", "非计划缺勤流程.md"),
    ("How do I reset my password?", "账户密码管理.md"),
    ("生病不能上班时要通知谁?", "非计划缺勤流程.md"),
    ("パスワードをリセットするには?", "账户密码管理.md"),
])
def test_questions_the_knowledge_base_answers_are_answered_from_the_right_file(
        kb_library: Library, question: str, document: str) -> None:
    response, d = decided(kb_library, question)
    assert not d.declined, d.reason
    assert response.results[0].path.endswith(document)
    assert d.signals is not None and d.signals.passage is not None
    assert d.signals.passage.path.endswith(document)


@pytest.mark.slow
@pytest.mark.parametrize("question", [
    "When does the staff canteen open?",
    "员工食堂几点开门?",
    "How do I deploy a Kubernetes cluster?",
    "如何用 Kubernetes 部署服务?",
])
def test_questions_no_document_answers_are_declined(kb_library: Library,
                                                     question: str) -> None:
    _response, d = decided(kb_library, question)
    assert d.declined, d.reason
