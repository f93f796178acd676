"""Sentences of a passage or an answer, with their character spans, in any language.

Evidence (which sentences answer the question), trimming (which to give the model) and
the answer checks (which of the answer's sentences a passage supports) all work on
sentences. The split is rules, not a model: it must be instant, deterministic, and good
enough on documentation, where a "sentence" is as often a heading, a list item, a table
row or a command line as prose:

- a blank line ends a sentence, and so does a line break before a list item, heading,
  table row or quote, or after a heading, a row, or a line ending in a terminator or a
  colon; any other line break is a hard wrap inside a sentence (Markdown, plain text and
  PDF text wrap lines mid-sentence);
- ``.``, ``!``, ``?`` followed by white space end one, unless what follows is lower case
  ("e.g. the", "see fig. 3" stay whole);
- the CJK terminators ``。！？；`` and their full-width forms end one, with nothing after;
- a piece shorter than ``MIN_CHARS`` (a list number, "Note:") joins the next;
- a piece longer than ``MAX_CHARS`` (a run-on line of a table or log) is cut at white
  space, so one sentence never dominates a budget.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_CHARS = 12
MAX_CHARS = 400

# Inside a line: a Latin terminator then not lower case; a CJK terminator.
_INLINE_BREAK = re.compile(
    r"(?<=[.!?])[\"'”’)\]]*[ \t]+(?=[^\sa-z])"
    r"|(?<=[。！？；!?])[ \t]*(?=[^\s\"'”’)\]])"
)
_BLOCK_START = re.compile(r"[ \t]*(?:[-*•+>|#]|\d{1,3}[.)](?:\s|$))")
_LINE_END = re.compile(r"[.!?。！？;；:：|]$")
SHORT_LINE = 50  # a line this short, not ending a sentence, before a capital: a heading


def _line_breaks(text: str) -> list[tuple[int, int]]:
    """Spans of white space holding a line break that ends a sentence."""
    breaks: list[tuple[int, int]] = []
    for match in re.finditer(r"[ \t]*\n\s*", text):
        start, end = match.span()
        line_start = text.rfind("\n", 0, start) + 1
        line = text[line_start:start].strip()
        following = text[end:text.find("\n", end) if "\n" in text[end:] else len(text)]
        if (match.group(0).count("\n") > 1  # a blank line
                or not line or line.startswith(("#", "|"))
                or _LINE_END.search(line)
                or _BLOCK_START.match(following)
                or (len(line) < SHORT_LINE and following[:1].isupper())):
            breaks.append((start, end))
    return breaks


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str  # text[start:end] of the source, stripped


def split_sentences(text: str, min_chars: int = MIN_CHARS) -> list[Span]:
    """The sentences of ``text`` in order, as spans of it (white space trimmed). A piece
    shorter than ``min_chars`` joins the next; a short last piece stays alone (while an
    answer streams, it is the sentence being written)."""
    breaks = sorted(_line_breaks(text) + [m.span() for m in _INLINE_BREAK.finditer(text)])
    pieces: list[tuple[int, int]] = []
    position = 0
    for start, end in breaks:
        if start < position:
            continue  # overlaps the previous break
        pieces.append((position, start))
        position = end
    pieces.append((position, len(text)))
    spans = [s for start, end in pieces if (s := _trimmed(text, start, end)) is not None]
    merged: list[Span] = []
    pending: Span | None = None
    for span in spans:
        if pending is not None:
            span = Span(pending.start, span.end, text[pending.start:span.end].strip())
            pending = None
        if len(span.text) < min_chars:
            pending = span
            continue
        merged.extend(_cut_long(text, span))
    if pending is not None:
        merged.append(pending)
    return merged


def _trimmed(text: str, start: int, end: int) -> Span | None:
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return None
    start += len(piece) - len(piece.lstrip())
    return Span(start, start + len(stripped), stripped)


def _cut_long(text: str, span: Span) -> list[Span]:
    out: list[Span] = []
    start = span.start
    while span.end - start > MAX_CHARS:
        cut = text.rfind(" ", start + MAX_CHARS // 2, start + MAX_CHARS)
        if cut <= start:
            cut = start + MAX_CHARS
        piece = _trimmed(text, start, cut)
        if piece is not None:
            out.append(piece)
        start = cut
    last = _trimmed(text, start, span.end)
    if last is not None:
        out.append(last)
    return out
