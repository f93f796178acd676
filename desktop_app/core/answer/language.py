"""Which language a question is in, by its script, and "I don't know" in that language.

Only what the decline needs (it is written by Kura, not by the model): Chinese, Japanese,
Korean, or anything else (answered in English). A script count is enough to tell these
apart and never fails on a short question, where statistical detectors are least sure:

- any kana means Japanese (Chinese never uses kana; Japanese mixes kana with kanji);
- otherwise Hangul means Korean and Han characters mean Chinese;
- a CJK character counts as much as three Latin letters (about a word), so "How do I use
  飞书?" stays English while "飞书怎么用 VPN?" is Chinese.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Literal

Language = Literal["zh", "ja", "ko", "other"]

_CJK_WEIGHT = 3


def _script(ch: str) -> str | None:
    code = ord(ch)
    if 0x3040 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF or 0xFF66 <= code <= 0xFF9F:
        return "kana"
    if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
        return "hangul"
    if (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF
            or 0x20000 <= code <= 0x2FFFF):
        return "han"
    if ch.isalpha():
        return "other"
    return None


def detect_language(text: str) -> Language:
    counts = {"kana": 0, "hangul": 0, "han": 0, "other": 0}
    for ch in text:
        script = _script(ch)
        if script:
            counts[script] += 1
    cjk = counts["kana"] + counts["hangul"] + counts["han"]
    if cjk == 0 or counts["other"] > cjk * _CJK_WEIGHT:
        return "other"
    if counts["kana"]:
        return "ja"
    if counts["hangul"] >= counts["han"]:
        return "ko"
    return "zh"


def script_shares(text: str) -> dict[str, float]:
    """How much of ``text`` is written in each script (Latin, Han, kana, Hangul, Cyrillic,
    Arabic...), as shares summing to 1, a CJK character weighing as much as a word (as in
    ``detect_language``); empty for a text without letters."""
    counts: dict[str, float] = {}
    for ch in text:
        script = _script(ch)
        if script is None:
            continue
        if script == "other":  # an alphabet: which one is the first word of its name
            script = unicodedata.name(ch, "OTHER").split(" ", 1)[0]
            weight = 1
        else:
            weight = _CJK_WEIGHT
        counts[script] = counts.get(script, 0) + weight
    total = sum(counts.values())
    return {script: n / total for script, n in counts.items()} if total else {}


def script_mismatch(question: str, passage: str) -> float:
    """0 when the question and the passage are written in the same scripts in the same
    proportions, 1 when they share none (an English question, a Chinese passage); in
    between for mixed text ("如何用 Flatpak 安装?" against an English page: about 0.7,
    since its product name matches as written). One minus the overlap of their
    ``script_shares``. A script, not a language: English against German is 0."""
    a, b = script_shares(question), script_shares(passage)
    if not a or not b:
        return 0.0
    return max(0.0, 1.0 - sum(min(share, b.get(script, 0.0)) for script, share in a.items()))


_DECLINE = {
    "zh": ("我不知道。在所搜索的资料集（{names}）中没有找到能回答这个问题的内容。",
           "我不知道：资料库里还没有任何资料集。", "、"),
    "ja": ("わかりません。検索したコレクション（{names}）には、この質問に答える内容が"
           "見つかりませんでした。",
           "わかりません。ライブラリにまだコレクションがありません。", "、"),
    "ko": ("모르겠습니다. 검색한 컬렉션({names})에서 이 질문에 답하는 내용을 찾지 못했습니다.",
           "모르겠습니다. 라이브러리에 아직 컬렉션이 없습니다.", ", "),
    "other": ("I don't know. Nothing in the collections searched ({names}) answers this "
              "question.",
              "I don't know: the library has no collections yet.", ", "),
}


def decline_message(question: str, collections: Sequence[str]) -> str:
    """Kura's own "I don't know", in the question's language, naming what was searched."""
    found, empty, sep = _DECLINE[detect_language(question)]
    if not collections:
        return empty
    return found.format(names=sep.join(collections))
