"""Which parts of a text are prose worth embedding, and which are machine-made data.

A file can hold megabytes that no one will ever ask a question about: a base64 image
pasted into Markdown, a minified script, a hex dump, random characters. Embedding them
costs an hour and finds nothing, so the chunker drops them (``prose_spans``) and a file
with nothing else is skipped as NOT_PROSE.

The text is judged in pieces of about ``PIECE_CHARS`` characters, cut at line ends, so
a data line is judged apart from the paragraphs around it. Each piece is measured by
character classes only, in linear time (no dictionary, no language model):

* unbroken runs: most of it in runs of 40+ characters with no space or word-separating
  punctuation (base64, hex, a long random string);
* no spaces: long lines with almost no whitespace (minified code);
* randomness: a character entropy that text never reaches (random printable characters),
  or hardly a character seen twice (random code points, which fall mostly in the CJK
  and Hangul blocks);
* ids: letter-digit-letter triples everywhere (hex dumps, UUID lists, hashes);
* mixed case: lower-to-upper flips inside words, with digits mixed in or a random
  letters' entropy (base64, random letters; camelCase code flips but has neither).

A piece left out is neither embedded nor found by keywords: it is not in any chunk.

Scripts written without spaces (Chinese, Japanese, Korean, Thai, ...) count as word
breaks and are left out of the whitespace and entropy measures: a page of Chinese is one
long "word" to a space-based measure, yet it is prose. The thresholds were set on real
documents (a Debian documentation folder in English and Chinese, /usr/share/doc), Python,
JavaScript, C headers, shell, JSON and CSS files, minified bundles and synthetic noise:
ordinary source code passes whole.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable
from enum import StrEnum

PIECE_CHARS = 2048

# Scripts that do not separate words with spaces, and their full-width punctuation:
# Thai, Lao, Myanmar, Khmer, CJK radicals/symbols/punctuation, kana, bopomofo, Hangul,
# CJK ideographs (with extension A, compatibility and the supplementary planes), and
# half/full-width forms.
_NO_SPACE_SCRIPTS = (
    "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u2e80-\u2fdf\u3000-\u30ff\u3100-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
    "\U00020000-\U0003134f"
)
_NO_SPACE_CHAR = re.compile(f"[{_NO_SPACE_SCRIPTS}]")
# Word-separating punctuation of code, paths and URLs: a long identifier chain or a URL
# is many short words, while base64 and hex have none of these inside.
_UNBROKEN_RUN = re.compile(f"[^\\s{_NO_SPACE_SCRIPTS}/\\\\=,;:(){{}}\\[\\]<>\"'|_.\\-]{{40,}}")
# "*****", "~~~~~" and "─────" rules in tables and headings are decoration, not data
# (symbols only: the class test fails fast on letters, where a back-reference is slow).
_REPEATED = re.compile(r"([^\w\s])\1{2,}")
_CASE_FLIP = re.compile(r"[a-z][A-Z]")
_LETTER_DIGIT = re.compile(r"[A-Za-z][0-9]|[0-9][A-Za-z]")
_ALTERNATING = re.compile(r"[A-Za-z][0-9][A-Za-z]|[0-9][A-Za-z][0-9]")
_ASCII_LETTERS = frozenset(string.ascii_letters)
_ASCII_DIGITS = frozenset(string.digits)
_HEX_DIGITS = frozenset(string.hexdigits)

# Thresholds (see the module docstring for where they come from). In the measured
# corpus ordinary text and code stayed inside each one: unbroken share <= 0.46 (p99.9 of
# Python), whitespace >= 0.058 (Python's minimum; prose ~0.16), entropy <= 5.9 bits
# (random printable: 6.5), letter-digit-letter triples <= 0.065 per letter or digit in
# Python and C headers (hex: 0.14, UUIDs: 0.11, hex dumps: 0.085). Entropy is corrected
# for the sample's size (Miller-Madow), so a short piece of random text is not let
# through. Case flips reach 0.15 per letter in camelCase enums as in base64 and random
# letters, so they count only with letter-digit mixing or a random letters' entropy.
_MAX_UNBROKEN_SHARE = 0.5
_MIN_WHITESPACE_SHARE = 0.05
_LONG_LINE = 100  # characters: a piece of minified code has a line break in thousands
_MAX_ENTROPY_BITS = 6.2
_MAX_ALTERNATING = 0.08
_HEX_ONLY = 0.95  # letters only from a-f: half the alternation is enough
_MAX_CASE_FLIPS = 0.15
_MIN_LETTER_DIGIT = 0.05
_RANDOM_LETTERS_BITS = 5.5
# Random code points hardly repeat: in a few hundred characters of real Chinese, at most
# about half are distinct (0.52 was the most seen); in random ones, over 0.95.
_MAX_VARIETY = 0.8
# Fewer characters than these say too little about the measures that need them.
_ENOUGH_FOR_SPACING = 400
_ENOUGH_FOR_MIXING = 200
_ENOUGH_FOR_VARIETY = 300


class NotProse(StrEnum):
    """Why a piece of text is not prose (for the log's detail)."""

    UNBROKEN = "long unbroken runs of characters"
    NO_SPACES = "almost no spaces (minified code or packed data)"
    RANDOM = "random characters"
    IDS = "hexadecimal data or identifiers"
    ENCODED = "encoded data (base64-like)"


def judge(piece: str) -> NotProse | None:
    """Why ``piece`` (up to a few thousand characters) is not prose, or None if it is."""
    piece = _REPEATED.sub(r"\1", piece)
    counts = Counter(piece)  # one pass in C; every share below is read off it
    spaces = sum(n for ch, n in counts.items() if ch.isspace())
    visible = len(piece) - spaces
    if visible <= 0:
        return None
    unbroken = sum(map(len, _UNBROKEN_RUN.findall(piece)))
    if unbroken >= _MAX_UNBROKEN_SHARE * visible:
        return NotProse.UNBROKEN
    distinct = sum(1 for ch in counts if not ch.isspace())
    if visible >= _ENOUGH_FOR_VARIETY and distinct >= _MAX_VARIETY * visible:
        return NotProse.RANDOM  # hardly a character twice: random code points
    # The measures below are about space-separated writing: leave other scripts out.
    spaced = {ch: n for ch, n in counts.items()
              if not ch.isspace() and not (ch >= "\u0e00" and _NO_SPACE_CHAR.match(ch))}
    spaced_total = sum(spaced.values())
    entropy = _entropy_bits(spaced.values(), spaced_total) if spaced_total else 0.0
    if spaced_total >= _ENOUGH_FOR_SPACING:
        # Long lines with hardly a space: minified code. (A list of one identifier a
        # line has no spaces either, but short lines: an index, kept for its words.)
        if (spaces < _MIN_WHITESPACE_SHARE * (spaces + spaced_total)
                and visible >= _LONG_LINE * (counts["\n"] + 1)):
            return NotProse.NO_SPACES
        if entropy >= _MAX_ENTROPY_BITS:
            return NotProse.RANDOM
    if spaced_total >= _ENOUGH_FOR_MIXING:
        letters = sum(n for ch, n in spaced.items() if ch in _ASCII_LETTERS)
        alnum = letters + sum(n for ch, n in spaced.items() if ch in _ASCII_DIGITS)
        if not alnum:
            return None
        hexadecimal = sum(n for ch, n in spaced.items() if ch in _HEX_DIGITS)
        # Letter, digit, letter (or digit, letter, digit): hashes and hex dumps are full
        # of them, code has "utf8" or "X1" but seldom three in a row.
        alternating = len(_ALTERNATING.findall(piece))
        if alternating >= _MAX_ALTERNATING * alnum or (
                hexadecimal >= _HEX_ONLY * alnum and alternating >= _MAX_ALTERNATING / 2 * alnum):
            return NotProse.IDS
        # Case flipping inside words: base64 and random letters. camelCase code can flip
        # as often, but with few digits among its letters and an ordinary entropy.
        if (letters and len(_CASE_FLIP.findall(piece)) >= _MAX_CASE_FLIPS * letters
                and (len(_LETTER_DIGIT.findall(piece)) >= _MIN_LETTER_DIGIT * alnum
                     or entropy >= _RANDOM_LETTERS_BITS)):
            return NotProse.ENCODED
    return None


def _entropy_bits(counts: Iterable[int], total: int) -> float:
    """Shannon entropy per character of a text with these character counts, with the
    Miller-Madow correction: counted on a few hundred characters, the plain estimate of
    random text falls short of its true entropy by a good part of a bit."""
    counts = list(counts)
    plain = -sum(n / total * math.log2(n / total) for n in counts)
    return plain + (len(counts) - 1) / (2 * total * math.log(2))


def piece_end(text: str, start: int, end: int, size: int = PIECE_CHARS) -> int:
    """Where the piece of ``text[start:end]`` that starts at ``start`` ends: at most
    ``size`` characters on (half as many again to take in a stub), at a line end so that
    lines are judged whole, and the rest of a long line apart from the lines after it. A
    line longer than ``size`` is cut at a space in its second half, else exactly at
    ``size``, never leaving a stub too short to judge. Scans at most ``1.5 * size``
    characters, so cutting a whole text is linear in its length."""
    limit = start + size
    if end - limit <= size // 2:
        return end
    if start > 0 and text[start - 1] != "\n":
        newline = text.find("\n", start, limit)  # the tail of a line cut before
    else:
        newline = text.rfind("\n", start, limit)
    if newline >= 0:
        return newline + 1
    # A line longer than a piece: if what is left of it is short, it goes with this piece.
    stub_end = text.find("\n", limit, limit + size // 2)
    if stub_end >= 0:
        return stub_end + 1
    space = text.rfind(" ", start + size // 2, limit)
    return space + 1 if space >= 0 else limit


def prose_spans(text: str, start: int = 0, end: int | None = None,
                dropped: Counter[NotProse] | None = None) -> list[tuple[int, int]]:
    """The ``(start, end)`` spans of ``text[start:end]`` that are prose, in order: the
    text with its non-prose pieces taken out, offsets unchanged. ``dropped`` (if given)
    counts the characters left out, by reason."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    position = start
    while position < end:
        stop = piece_end(text, position, end)
        for part_start, part_stop, reason in _judged_parts(text, position, stop):
            if reason is None:
                if spans and spans[-1][1] == part_start:
                    spans[-1] = (spans[-1][0], part_stop)
                else:
                    spans.append((part_start, part_stop))
            elif dropped is not None:
                dropped[reason] += part_stop - part_start
        position = stop
    return spans


def _judged_parts(text: str, start: int, stop: int) -> list[tuple[int, int, NotProse | None]]:
    """The piece ``text[start:stop]`` judged; if it is not prose and has several lines,
    its longest line (usually the culprit: a data line, a log line) is judged apart from
    the lines before and after it, so a paragraph next to a blob is not lost with it.
    A part too short to measure for randomness goes with the piece: in noise with line
    breaks, a few random lines must not pass for prose. One level only: a piece costs
    at most two judgements' time."""
    reason = judge(text[start:stop])
    if reason is None:
        return [(start, stop, None)]
    longest_start, longest_stop = _longest_line(text, start, stop)
    if (longest_start, longest_stop) == (start, stop):
        return [(start, stop, reason)]
    parts = [(start, longest_start), (longest_start, longest_stop), (longest_stop, stop)]
    return [(part_start, part_stop, _salvaged(text[part_start:part_stop], reason))
            for part_start, part_stop in parts if part_stop > part_start]


def _salvaged(part: str, reason: NotProse) -> NotProse | None:
    if len("".join(part.split())) < _ENOUGH_FOR_SPACING:
        return reason
    return judge(part)


def _longest_line(text: str, start: int, stop: int) -> tuple[int, int]:
    """``(start, stop)`` of the longest line in ``text[start:stop]``, its newline included."""
    best = (start, start)
    line = start
    while line < stop:
        newline = text.find("\n", line, stop)
        line_stop = stop if newline < 0 else newline + 1
        if line_stop - line > best[1] - best[0]:
            best = (line, line_stop)
        line = line_stop
    return best
