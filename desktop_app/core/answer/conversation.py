"""Multi-turn: a conversation keeps its turns so a follow-up finds what it refers to.

"And for the VPN?" or "年假呢?" retrieved alone finds nothing useful: the subject is in
the previous question. The choice here is deliberately simple and deterministic (no model
call, so it costs nothing and a test can pin it down):

1. A question is a follow-up when it opens with a follow-up cue ("and", "what about",
   "那", "还有", "それ", "그럼"...), ends with Chinese "呢", contains a word that points
   back ("it", "that", "它", "这个", "その"...), or has no key term of its own.
2. A follow-up is retrieved with the previous turn's key terms appended (from that turn's
   retrieval query, so a chain of follow-ups keeps the topic), at most
   ``MAX_CARRIED_TERMS`` of them, skipping terms the question already has. Hybrid search
   sees them twice over: as keywords, and in the embedded query.
3. The model sees the earlier questions (not the earlier answers: those are model output,
   possibly wrong, and cost context) in a short list before the question, for follow-ups
   only. The passages are retrieved afresh for every turn.

Known limits: a new topic that happens to trip rule 1 ("Is it possible to...") gets a
few extra terms, though its own still dominate; and "what about X?" swaps the subject, so
the carried noun it replaces pulls toward the earlier topic ("And sick leave?" after an
annual-leave question carries "annual"). Rewriting with the model itself would handle
these but costs a generation per turn before anything can be shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from desktop_app.core.answer.answerer import Answer, Answerer, AnswerStream

MAX_CARRIED_TERMS = 8

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_KATAKANA = r"\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_JA_CONTENT = re.compile(f"[{_HAN}]{{2,}}|[{_KATAKANA}ー]{{2,}}")
_HAN_RUN = re.compile(f"[{_HAN}]+")
_HANGUL = re.compile(r"[\uac00-\ud7af]")

_EN_STOP = frozenset({
    "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are",
    "as", "at", "be", "been", "before", "being", "below", "between", "both", "but", "by", "can",
    "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from",
    "further", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how",
    "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my",
    "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "out",
    "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the",
    "their", "them", "then", "there", "these", "they", "this", "those", "through", "to", "too",
    "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which",
    "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "please",
    "tell", "know", "want", "need", "much", "many", "get", "got", "way", "ways",
})

# Chinese words that ask rather than say, and conjunctions; removed from a run, which
# splits it.
_ZH_STOP = sorted([
    "如何", "怎么样", "怎么", "怎样", "什么", "为什么", "哪些", "哪个",
    "哪里", "哪儿", "是否", "可以", "能否", "能不能", "请问", "需要",
    "应该", "还有", "那么", "另外", "如果", "的话", "我们", "你们",
    "他们", "我的", "你的", "这个", "那个", "这些", "那些", "一下",
    "多少", "有没有", "是不是", "和", "与", "及", "或",
], key=len, reverse=True)
_ZH_EDGE = "吗呢吧啊呀了的么我你他她它那这请是要"  # particles and pronouns at a run's ends
_KO_STOP = frozenset({
    "어떻게", "무엇", "무엇을", "뭐", "왜", "언제", "어디", "그럼", "그러면",
    "그리고", "또", "그것", "그거", "이것", "거기", "있나요", "있어요",
    "하나요", "해요", "합니까", "입니까",
})

_CUES_START = (
    "and ", "and?", "what about", "how about", "also", "then ", "but ", "same for",
    "那", "还有", "另外", "如果", "而且", "それ", "では", "じゃあ", "なら", "그럼", "그러면",
    "그리고", "또",
)
_POINTERS_EN = frozenset({"it", "its", "that", "this", "they", "them", "those", "these"})
_POINTERS_CJK = ("它", "这个", "那个", "这些", "那些", "这样", "那样", "上述", "其中", "その",
                 "それ", "これ", "この", "あれ", "그것", "그거", "이것", "거기")


def key_terms(text: str) -> list[str]:
    """The words of a question that carry its subject, in order."""
    terms: list[str] = []
    for word in _WORD.findall(text):
        if _KANA.search(word):  # Japanese: kanji and katakana runs carry the content
            terms += _JA_CONTENT.findall(word)
        elif _HAN_RUN.search(word):
            terms += _zh_terms(word)
        elif _HANGUL.search(word):
            if len(word) >= 2 and word not in _KO_STOP:
                terms.append(word)
        elif word.casefold() not in _EN_STOP and (len(word) > 1 or word.isdigit()):
            terms.append(word)
    return list(dict.fromkeys(terms))


def _zh_terms(run: str) -> list[str]:
    for stop in _ZH_STOP:
        run = run.replace(stop, " ")
    out = []
    for piece in run.split():
        piece = piece.strip(_ZH_EDGE)
        if len(piece) >= 2 or (piece and not _HAN_RUN.fullmatch(piece)):
            out.append(piece)
    return out


def is_follow_up(question: str) -> bool:
    text = question.strip()
    lowered = text.casefold()
    if lowered.startswith(_CUES_START):
        return True
    if text.rstrip("?？!！.。 ").endswith("呢"):
        return True
    words = {w.casefold() for w in _WORD.findall(text)}
    if words & _POINTERS_EN or any(p in text for p in _POINTERS_CJK):
        return True
    return not key_terms(text)


def follow_up_query(question: str, previous_query: str) -> str:
    """The retrieval query of a follow-up: the question plus the earlier key terms."""
    own = set(key_terms(question))
    carried = [t for t in key_terms(previous_query) if t not in own and t not in question]
    carried = carried[:MAX_CARRIED_TERMS]
    return f"{question.strip()} {' '.join(carried)}".strip()


@dataclass(frozen=True)
class Turn:
    question: str
    query: str  # what retrieval searched
    follow_up: bool
    answer: Answer


class Conversation:
    """Questions asked in a row, each able to refer to the ones before."""

    def __init__(self, answerer: Answerer, collections: Sequence[str] | None = None) -> None:
        self.answerer = answerer
        self.collections = list(collections) if collections else None
        self.turns: list[Turn] = []

    def plan(self, question: str) -> tuple[str, bool]:
        """(retrieval query, whether it is a follow-up) for the next question."""
        if self.turns and is_follow_up(question):
            return follow_up_query(question, self.turns[-1].query), True
        return question.strip(), False

    def ask(self, question: str, should_stop: Callable[[], bool] | None = None) -> AnswerStream:
        query, follow_up = self.plan(question)
        keep = self.answerer.settings.history_questions
        earlier = [t.question for t in self.turns[-keep:]] if follow_up and keep else []

        def record(answer: Answer) -> None:
            self.turns.append(Turn(question.strip(), query, follow_up, answer))

        return self.answerer.ask(question, self.collections, should_stop, query=query,
                                 earlier=earlier, on_done=record)

    def answer(self, question: str) -> Answer:
        return self.ask(question).result()
