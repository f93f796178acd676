"""Chunking with the embedder's real tokenizer."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from desktop_app.core.chunking import Chunker, chunk_title, document_text
from desktop_app.core.ingest import ParsedDocument, Section


@pytest.fixture(scope="module")
def chunker(embedder) -> Chunker:
    return Chunker(embedder.tokenizer, max_tokens=64, overlap=16)


def make_doc(*sections: Section, kind: str = "text",
             title: str | None = "Handbook") -> ParsedDocument:
    return ParsedDocument(path=Path("/docs/handbook.txt"), kind=kind, title=title,
                          sections=list(sections))


LONG = " ".join(f"Sentence {i} explains the travel policy in plain words." for i in range(60))


def test_chunks_fit_the_token_budget_and_cover_the_text(chunker: Chunker, embedder) -> None:
    doc = make_doc(Section(LONG, "page 1", page=1))
    chunks = chunker.chunk(doc)
    assert len(chunks) > 5
    text = document_text(doc)
    for c in chunks:
        assert len(embedder.tokenizer.encode(c.text).ids) <= 64
        assert text[c.start_char : c.end_char] == c.text  # offsets point at the passage
    assert "Sentence 0 " in chunks[0].text and "Sentence 59 " in chunks[-1].text + " "
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_chunks_never_cross_a_page(chunker: Chunker) -> None:
    doc = make_doc(Section("First page text. " * 5, "page 1", page=1),
                   Section("Second page text. " * 5, "page 2", page=2))
    chunks = chunker.chunk(doc)
    assert {c.page for c in chunks} == {1, 2}
    for c in chunks:
        assert ("First" in c.text) != ("Second" in c.text)
    text = document_text(doc)
    assert all(text[c.start_char : c.end_char] == c.text for c in chunks)


def test_neighbouring_chunks_overlap(chunker: Chunker) -> None:
    chunks = chunker.chunk(make_doc(Section(LONG, None)))
    overlaps = [a.end_char > b.start_char for a, b in itertools.pairwise(chunks)]
    assert any(overlaps)


def test_chinese_text_is_chunked_by_tokens(chunker: Chunker) -> None:
    text = "如忘记密码或账户被锁定，请使用自助重置门户。" * 40
    chunks = chunker.chunk(make_doc(Section(text, "账户密码管理", heading="账户密码管理")))
    assert len(chunks) > 1
    assert all(c.title == "Handbook > 账户密码管理" for c in chunks)


def test_whitespace_only_sections_make_no_chunks(chunker: Chunker) -> None:
    assert chunker.chunk(make_doc(Section("   \n\n  ", None))) == []


def test_title_combines_document_and_heading() -> None:
    doc = make_doc(Section("x", None))
    assert chunk_title(doc, "Setup", "file") == "Handbook > Setup"
    assert chunk_title(doc, "handbook", "file") == "Handbook"
    assert chunk_title(make_doc(title=None), None, "file") == "file"
