"""Token-aware chunking with the embedder's own tokenizer, in time linear in the text.

Chunks never cross a section (a PDF page, a slide, a sheet, a heading's body), so every
chunk cites exactly one place. Within a section, semantic-text-splitter cuts at the
largest boundary that fits (headings and paragraphs, then sentences, then words), with
a small overlap so a sentence cut at a boundary is still found whole from one side.

Two things stand between a section and the splitter:

* Pieces that are not prose (base64, minified code, random characters; see
  ``ingest/prose.py``) are left out, so they are never embedded. A document with no
  prose at all is skipped as NOT_PROSE.
* The splitter's time grows with the square of an unbroken run (measured: 25k
  characters 0.76 s, 100k 12 s, a 20 MB line never ends), so it only ever sees a window
  of ``window_chars`` characters. The window slides: every chunk but the window's last
  is kept, and the next window starts where that last chunk started. The splitter thus
  sees the same text at every kept chunk's start as it would on the whole section, and
  the chunks come out as they would without windows, at a cost linear in the length.

Offsets are character offsets into ``document_text(doc)``: the sections' texts joined by
blank lines, which is also what the preview shows around a passage.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop_app.core.ingest.document import ParsedDocument
from desktop_app.core.ingest.errors import SkipReason, UnreadableFile
from desktop_app.core.ingest.prose import NotProse, prose_spans

SECTION_SEPARATOR = "\n\n"

# A window holds this many characters per token of the chunk budget, and at least
# MIN_WINDOW_CHARS: about six chunks of English (four characters a token), so the chunk
# redone at each window's end costs about a sixth more splitting, while a window of
# Chinese without punctuation (the splitter's worst case: 20 s for 100k characters in
# one call) takes a few tens of milliseconds. Measured on 100k characters with Gemma's
# tokenizer and 320-token chunks: 7,680-character windows split unpunctuated Chinese in
# 1-2 s, and a single line of words, many tiny lines and paragraphs as fast as the
# unwindowed splitter, into the same chunks.
WINDOW_CHARS_PER_TOKEN = 24
MIN_WINDOW_CHARS = 4096


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    text: str
    title: str  # goes into the document prompt: "title: {title} | text: "
    location: str | None
    page: int | None
    start_char: int
    end_char: int


def document_text(doc: ParsedDocument) -> str:
    return SECTION_SEPARATOR.join(section.text for section in doc.sections)


def chunk_title(doc: ParsedDocument, heading: str | None, fallback: str) -> str:
    """The document title, with the section's heading when it adds something."""
    title = (doc.title or "").strip() or fallback
    heading = (heading or "").strip()
    if heading and heading.casefold() != title.casefold():
        return f"{title} > {heading}"
    return title


@dataclass(frozen=True)
class ChunkerSpec:
    """What a ``Chunker`` is built from, picklable: a reading worker process builds its
    own chunker from it once (``core/reading.py``)."""

    tokenizer: str  # the path of a tokenizer.json, or that file's JSON text
    max_tokens: int
    overlap: int

    def build(self) -> Chunker:
        return Chunker(self.tokenizer, self.max_tokens, self.overlap)


class Chunker:
    def __init__(self, tokenizer: Any, max_tokens: int, overlap: int) -> None:
        """``tokenizer``: a ``tokenizers.Tokenizer``, the path of its tokenizer.json, or
        that file's JSON text (a string starting with "{"); ``max_tokens`` and
        ``overlap``: ``LibrarySettings.chunk_tokens``/``chunk_overlap``.

        Prefer the path (or the JSON text): the splitters then parse it in Rust with the
        GIL released (~0.8 s for Gemma's 262k vocabulary), where passing the object
        serializes it to JSON with the GIL held (~0.3 s per splitter), freezing a GUI
        thread meanwhile.
        """
        from semantic_text_splitter import MarkdownSplitter, TextSplitter

        self.window_chars = max(MIN_WINDOW_CHARS, WINDOW_CHARS_PER_TOKEN * max_tokens)
        # The token counts include <bos>/<eos>: a chunk plus its prompt stays in budget.
        if isinstance(tokenizer, str) and tokenizer.lstrip().startswith("{"):
            self._text = TextSplitter.from_huggingface_tokenizer_str(tokenizer, max_tokens,
                                                                     overlap)
            self._markdown = MarkdownSplitter.from_huggingface_tokenizer_str(
                tokenizer, max_tokens, overlap)
        elif isinstance(tokenizer, str | Path):
            path = str(tokenizer)
            self._text = TextSplitter.from_huggingface_tokenizer_file(path, max_tokens,
                                                                      overlap)
            self._markdown = MarkdownSplitter.from_huggingface_tokenizer_file(
                path, max_tokens, overlap)
        else:
            self._text = TextSplitter.from_huggingface_tokenizer(tokenizer, max_tokens,
                                                                 overlap)
            self._markdown = MarkdownSplitter.from_huggingface_tokenizer(
                tokenizer, max_tokens, overlap)

    def chunk(self, doc: ParsedDocument) -> list[Chunk]:
        """The document's chunks; raise UnreadableFile(NOT_PROSE) if it has text but
        none of it is prose."""
        splitter = self._markdown if doc.kind == "markdown" else self._text
        fallback = doc.path.stem
        chunks: list[Chunk] = []
        dropped: Counter[NotProse] = Counter()
        base = 0
        for section in doc.sections:
            title = chunk_title(doc, section.heading, fallback)
            for start, end in prose_spans(section.text, dropped=dropped):
                for offset, piece in self._split(splitter, section.text, start, end):
                    chunks.append(Chunk(
                        ordinal=len(chunks),
                        text=piece,
                        title=title,
                        location=section.location,
                        page=section.page,
                        start_char=base + offset,
                        end_char=base + offset + len(piece),
                    ))
            base += len(section.text) + len(SECTION_SEPARATOR)
        if not chunks and dropped:
            reasons = ", ".join(str(reason) for reason, _ in dropped.most_common())
            raise UnreadableFile(doc.path, SkipReason.NOT_PROSE,
                                 f"{dropped.total():,} characters of {reasons}")
        return chunks

    def _split(self, splitter: Any, text: str, start: int,
               end: int) -> Iterator[tuple[int, str]]:
        """``(offset in text, chunk)`` for ``text[start:end]``, a sliding window at a time."""
        position = start
        while position < end:
            stop = window_end(text, position, end, self.window_chars)
            pieces = _char_indices(splitter, text[position:stop])
            if stop < end and len(pieces) > 1 and pieces[-1][0] > 0:
                # The last chunk may be cut short by the window: the next window starts
                # where it starts, and makes it whole.
                *pieces, (restart, _last) = pieces
                stop = position + restart
            for offset, piece in pieces:
                if piece.strip():
                    yield position + offset, piece
            position = stop


def window_end(text: str, start: int, end: int, size: int) -> int:
    """Where a window of at most ``size`` characters from ``start`` ends: at a paragraph
    break, else a line break, else a space in its second half; else exactly at ``size``.
    Each search looks at most ``size`` characters."""
    limit = start + size
    if limit >= end:
        return end
    floor = start + size // 2
    for mark in ("\n\n", "\n", " "):
        found = text.rfind(mark, floor, limit)
        if found >= 0:
            return found + len(mark)
    return limit


def _char_indices(splitter: Any, text: str) -> list[tuple[int, str]]:
    """``(character offset, chunk)`` pairs. semantic-text-splitter 0.33 reports character
    offsets (older releases reported bytes): each is checked where it points, in the time
    of the chunk's own length, and only a chunk found elsewhere is searched for, from
    the previous chunk on, within this one window."""
    out: list[tuple[int, str]] = []
    cursor = 0
    for reported, piece in splitter.chunk_indices(text):
        if text.startswith(piece, reported):
            found = reported
        else:
            found = text.find(piece, cursor)
            if found < 0:
                found = max(text.find(piece), 0)
        out.append((found, piece))
        cursor = found + 1
    return out
