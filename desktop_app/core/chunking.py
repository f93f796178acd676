"""Token-aware chunking with the embedder's own tokenizer.

Chunks never cross a section (a PDF page, a slide, a sheet, a heading's body), so every
chunk cites exactly one place. Within a section, semantic-text-splitter cuts at the
largest boundary that fits (headings and paragraphs, then sentences, then words), with
a small overlap so a sentence cut at a boundary is still found whole from one side.

Offsets are character offsets into ``document_text(doc)``: the sections' texts joined by
blank lines, which is also what the preview shows around a passage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop_app.core.ingest.document import ParsedDocument

SECTION_SEPARATOR = "\n\n"


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


class Chunker:
    def __init__(self, tokenizer: Any, max_tokens: int, overlap: int) -> None:
        """``tokenizer``: a ``tokenizers.Tokenizer``, or the path of its tokenizer.json;
        ``max_tokens`` and ``overlap``: ``LibrarySettings.chunk_tokens``/``chunk_overlap``.

        Prefer the path: the splitters then parse the file in Rust with the GIL released
        (~0.8 s for Gemma's 262k vocabulary), where passing the object serializes it to
        JSON with the GIL held (~0.3 s per splitter), freezing a GUI thread meanwhile.
        """
        from semantic_text_splitter import MarkdownSplitter, TextSplitter

        # The token counts include <bos>/<eos>: a chunk plus its prompt stays in budget.
        if isinstance(tokenizer, str | Path):
            path = str(tokenizer)
            self._text = TextSplitter.from_huggingface_tokenizer_file(path, max_tokens,
                                                                      overlap)
            self._markdown = MarkdownSplitter.from_huggingface_tokenizer_file(
                path, max_tokens, overlap)
            return
        self._text = TextSplitter.from_huggingface_tokenizer(tokenizer, max_tokens, overlap)
        self._markdown = MarkdownSplitter.from_huggingface_tokenizer(
            tokenizer, max_tokens, overlap
        )

    def chunk(self, doc: ParsedDocument) -> list[Chunk]:
        splitter = self._markdown if doc.kind == "markdown" else self._text
        fallback = doc.path.stem
        chunks: list[Chunk] = []
        base = 0
        for section in doc.sections:
            title = chunk_title(doc, section.heading, fallback)
            for offset, piece in _char_indices(splitter, section.text):
                if not piece.strip():
                    continue
                start = base + offset
                chunks.append(Chunk(
                    ordinal=len(chunks),
                    text=piece,
                    title=title,
                    location=section.location,
                    page=section.page,
                    start_char=start,
                    end_char=start + len(piece),
                ))
            base += len(section.text) + len(SECTION_SEPARATOR)
        return chunks


def _char_indices(splitter: Any, text: str) -> list[tuple[int, str]]:
    """semantic-text-splitter reports *byte* offsets in older releases and character
    offsets in newer ones; find each chunk in the text to be sure of characters."""
    out: list[tuple[int, str]] = []
    cursor = 0
    for _reported, piece in splitter.chunk_indices(text):
        found = text.find(piece, cursor)
        if found < 0:  # should not happen; fall back to a search from the start
            found = max(text.find(piece), 0)
        out.append((found, piece))
        cursor = found + 1
    return out
