"""Keyword segmentation for FTS5, so that Chinese, Japanese and Korean are searchable.

SQLite's ``unicode61`` tokenizer splits on spaces and punctuation only, so a Chinese
sentence would be one giant token. We therefore index a *segmented* copy of the text:
every run of CJK characters becomes its overlapping bigrams ("重置密码" -> "重置 置密 密码"),
which is how Lucene's CJK analyzer works and needs no dictionary. Other text is left to
unicode61 (case folding, ``remove_diacritics 2``).

Each run also contributes its last character as a unigram ("... 密码 码"). Then every CJK
character is the first character of some token, so a one-character query ("码") can be a
prefix query and still find the character at the end of a run. A one-character run is
just that unigram.

Both sides pass through NFKC first so that full-width Latin ("ＰＤＦ") and half-width
katakana match their ordinary forms.
"""

from __future__ import annotations

import re
import unicodedata

# Bump when segment() changes: Database then re-segments the whole FTS table on open,
# because old rows would no longer match the tokens new queries produce.
SEGMENTER_VERSION = "1"

# Scripts written without spaces between words (plus Hangul, which Korean search also
# bigrams). Punctuation such as 、。・「」 is deliberately absent: it ends a run.
_CJK_RANGES = (
    "\u1100-\u11ff"  # Hangul Jamo
    "\u2e80-\u2fdf"  # CJK and Kangxi radicals
    "\u3005-\u3007"  # 々 〆 〇
    "\u3041-\u309f"  # Hiragana
    "\u30a1-\u30fa\u30fc-\u30ff"  # Katakana without ゠ and the ・ separator
    "\u3130-\u318f"  # Hangul compatibility Jamo
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\ua960-\ua97f"  # Hangul Jamo extended A
    "\uac00-\ud7ff"  # Hangul syllables, Jamo extended B
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # half-width katakana (NFKC maps most of them away)
    "\U0001b000-\U0001b16f"  # kana supplement
    "\U00020000-\U0003134f"  # CJK extensions B-G and compatibility supplement
)
_CJK_RUN = re.compile(f"[{_CJK_RANGES}]+")

# A query made of a pasted paragraph would otherwise become hundreds of OR-ed terms;
# the first ones carry the meaning and keep FTS5 fast.
MAX_QUERY_TERMS = 64


def _bigrams(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


def _pieces(text: str) -> list[tuple[bool, str]]:
    """Split into (is_cjk_run, piece) in order."""
    pieces: list[tuple[bool, str]] = []
    pos = 0
    for match in _CJK_RUN.finditer(text):
        if match.start() > pos:
            pieces.append((False, text[pos : match.start()]))
        pieces.append((True, match.group()))
        pos = match.end()
    if pos < len(text):
        pieces.append((False, text[pos:]))
    return pieces


def segment(text: str) -> str:
    """The copy of ``text`` that goes into the FTS index (never shown to anyone)."""
    out: list[str] = []
    for is_cjk, piece in _pieces(unicodedata.normalize("NFKC", text)):
        if is_cjk:
            out.extend(_bigrams(piece))
            out.append(piece[-1])
        else:
            out.append(piece)
    # Whitespace is a separator for unicode61 either way; collapsing it keeps the
    # stored copy small and the output predictable.
    return " ".join(" ".join(out).split())


def _quote(term: str) -> str:
    # Inside an FTS5 string only the double quote is special, and it is escaped by
    # doubling: quoting every term means no user input is ever parsed as FTS5 syntax
    # (AND, NEAR, column filters, stray parentheses...).
    return '"' + term.replace('"', '""') + '"'


def fts_query(user_query: str) -> str | None:
    """An FTS5 MATCH expression for what a person typed, or None if it has no terms.

    Terms are OR-ed so a chunk matching some words still ranks (BM25 rewards chunks that
    match more and rarer terms); AND would drop every chunk missing a single bigram.
    """
    terms: list[str] = []
    for word in unicodedata.normalize("NFKC", user_query).split():
        for is_cjk, piece in _pieces(word):
            if is_cjk and len(piece) == 1:
                terms.append(_quote(piece) + "*")  # matches "码" and every "码?" bigram
            elif is_cjk:
                terms.extend(_quote(gram) for gram in _bigrams(piece))
            elif any(ch.isalnum() for ch in piece):
                # unicode61 tokenizes inside the quotes exactly as it did the document,
                # so "e-mail" becomes the phrase "e mail" on both sides.
                terms.append(_quote(piece))
    unique = list(dict.fromkeys(terms))[:MAX_QUERY_TERMS]
    return " OR ".join(unique) if unique else None


def phrase_query(term: str) -> str | None:
    """An FTS5 MATCH expression for ``term`` as one phrase (its CJK runs as consecutive
    bigrams, as ``segment`` indexed them), or None if it has nothing to match."""
    parts: list[str] = []
    for is_cjk, piece in _pieces(unicodedata.normalize("NFKC", term)):
        if is_cjk:
            parts.extend(_bigrams(piece) if len(piece) > 1 else [piece])
        else:
            parts.extend(w for w in re.split(r"[^\w]+", piece) if w)
    return _quote(" ".join(parts)) if parts else None
