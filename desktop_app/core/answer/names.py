"""The names a question asks about: words that must appear in a document that answers it.

The embedder places "How do I set up WireGuard?" next to the OpenVPN pages, and "如何用
SQLCipher 打开加密的 SQLite 数据库?" next to SQLite's own encryption notes: meaning is
close, the subject is not there. On the labelled questions (``benchmarks/decline.py``)
most of the unanswerable questions the sentence scores still answered named a product,
a tool or a place that no passage of the library contains. A document that answers a
question about Flatpak says "Flatpak"; so a name the searched collections never mention
is strong evidence that they do not hold the answer (``decline.decide`` weighs it).

What counts as a name is kept narrow, so that ordinary words never do (an answer may
use other words than the question):

- in a question written in Chinese, Japanese or Korean, every Latin-script word of two
  or more characters (``Git``, ``rusqlite``, ``VPN``): these are names or codes;
- in other questions, words with a digit (``ext4``), a capital after the first letter
  (``SQLCipher``, ``iPhone``), an inner ``.``/``-``/``_``/``+``/``#`` (``systemd-boot``,
  ``C++``), or a capital that does not start a sentence (``Flathub``, ``Teams``).

A name is looked up as the library's keyword index sees it (``Library.mentions``), so
case and the tokenizer's splitting do not matter.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

# A word of letters and digits, with inner joiners kept (systemd-boot, node.js, C++, C#).
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+#_-]*[A-Za-z0-9+#]|[A-Za-z0-9]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_SENTENCE_END = ".?!:;。？！：；"
MAX_NAMES = 8  # a pasted paragraph is not a question about eight products


def name_terms(question: str) -> list[str]:
    """The names in ``question`` (see the module docstring), in order, without repeats."""
    text = unicodedata.normalize("NFKC", question)
    cjk = bool(_CJK.search(text))
    found: list[str] = []
    for match in _WORD.finditer(text):
        word = match.group()
        if len(word) < 2 or word.isdigit():
            continue  # "I", "a", a bare number (a count, a year) is not a name
        before = text[: match.start()].rstrip()
        starts_sentence = not before or before[-1] in _SENTENCE_END
        if cjk or _looks_like_name(word, starts_sentence):
            found.append(word)
    return list(dict.fromkeys(found))[:MAX_NAMES]


def _looks_like_name(word: str, starts_sentence: bool) -> bool:
    return (any(ch.isdigit() for ch in word)
            or any(ch.isupper() for ch in word[1:])
            or any(ch in ".+#_-" for ch in word)
            or (word[0].isupper() and not starts_sentence))


def absent_names(question: str, mentions: Callable[[str], bool]) -> list[str]:
    """The names in ``question`` that ``mentions`` (``Library.mentions`` for the searched
    collections) does not find."""
    return [term for term in name_terms(question) if not mentions(term)]
