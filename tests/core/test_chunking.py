"""Chunking: token budgets, offsets, sections, and time linear in the text's length."""

from __future__ import annotations

import base64
import itertools
import pickle
import random
import string
import time
from pathlib import Path
from typing import Any

import pytest

from desktop_app.core.chunking import (
    Chunker,
    ChunkerSpec,
    _char_indices,
    chunk_title,
    document_text,
)
from desktop_app.core.ingest import ParsedDocument, Section, SkipReason, UnreadableFile


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


# -- linear time, whatever the text ---------------------------------------------------
# These run on a word-level tokenizer (no model): the splitter's cost grows with the
# square of what it is handed, whatever the tokenizer, so what is checked is that it is
# only ever handed a window, and that the whole chunker scales linearly. The same
# checks on Gemma's tokenizer at the shipped sizes are the slow tests further down.

SENTENCE = ("the policy explains how travel expenses are paid and approved by managers "
            "before every trip employees should check the rules with their team lead")
WORDS = SENTENCE.split(" ")
CJK = ("如忘记密码或账户被锁定请使用自助重置门户员工每年享有十五天带薪年假所有正式员工入职满"
       "五年后增加到二十天请在休假前至少两周通过人力资源系统提交申请")


def word_tokenizer() -> str:
    """The JSON of a tokenizer whose tokens are whitespace/punctuation-separated words."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    tokenizer = Tokenizer(WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    return tokenizer.to_str()


@pytest.fixture(scope="module")
def word_chunker() -> Chunker:
    return ChunkerSpec(word_tokenizer(), max_tokens=64, overlap=16).build()


def minified(n: int) -> str:
    parts, size, i = [], 0, 0
    while size < n:
        i += 1
        part = (f"function f{i}(a,b){{var c=a.map(function(d){{return d*{i}+b}});"
                f"if(c.length>{i % 7}){{return c.join(\",\")}}return null}};")
        parts.append(part)
        size += len(part)
    return "".join(parts)[:n]


def shape(name: str, n: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    if name == "unbroken":  # a long run of letters: no space, no line break
        return "".join(rng.choices(string.ascii_letters, k=n))
    if name == "minified":
        return minified(n)
    if name == "base64":
        return base64.b64encode(rng.randbytes(n * 3 // 4 + 3)).decode()[:n]
    if name == "cjk_without_punctuation":
        return "".join(rng.choices(CJK, k=n))
    if name == "one_line_of_words":
        return " ".join(rng.choices(WORDS, k=n // 5))[:n]
    if name == "tiny_lines":
        return "\n".join(rng.choices(WORDS, k=n // 6))[:n]
    if name == "paragraphs":
        paragraphs = [" ".join(rng.choices(WORDS, k=60)) + "." for _ in range(n // 400 + 1)]
        return "\n\n".join(paragraphs)[:n]
    raise AssertionError(name)


PROSE_SHAPES = ["cjk_without_punctuation", "one_line_of_words", "tiny_lines", "paragraphs"]
DATA_SHAPES = ["unbroken", "minified", "base64"]


def text_doc(text: str, kind: str = "text") -> ParsedDocument:
    return ParsedDocument(path=Path("/docs/shape.txt"), kind=kind, title=None,
                          sections=[Section(text, None)])


def chunk_count(chunker: Chunker, text: str, kind: str = "text") -> int:
    try:
        return len(chunker.chunk(text_doc(text, kind)))
    except UnreadableFile as error:
        assert error.reason is SkipReason.NOT_PROSE
        return 0


def scaling(chunker: Chunker, name: str, n: int, kind: str = "text") -> float:
    """time(4n) / time(n) for chunking shape ``name``, best of three runs of each
    (interleaved, so that a busy machine slows both alike)."""
    small, large = shape(name, n), shape(name, 4 * n, seed=1)
    best = [float("inf"), float("inf")]
    for _ in range(3):
        for i, text in enumerate((small, large)):
            start = time.perf_counter()
            chunk_count(chunker, text, kind)
            best[i] = min(best[i], time.perf_counter() - start)
    return best[1] / best[0]


class RecordingSplitter:
    """Wraps a splitter and notes the length of every text it is handed."""

    def __init__(self, splitter: Any) -> None:
        self.splitter = splitter
        self.lengths: list[int] = []

    def chunk_indices(self, text: str) -> list[tuple[int, str]]:
        self.lengths.append(len(text))
        return self.splitter.chunk_indices(text)


@pytest.mark.parametrize("name", PROSE_SHAPES + DATA_SHAPES)
@pytest.mark.parametrize("kind", ["text", "markdown"])
def test_the_splitter_only_ever_sees_a_window(name: str, kind: str) -> None:
    chunker = ChunkerSpec(word_tokenizer(), max_tokens=64, overlap=16).build()
    recorder = RecordingSplitter(chunker._markdown if kind == "markdown" else chunker._text)
    chunker._markdown = chunker._text = recorder
    text = shape(name, 200_000)
    try:
        chunks = chunker.chunk(text_doc(text, kind))
    except UnreadableFile:
        chunks = []
    assert recorder.lengths == [] or max(recorder.lengths) <= chunker.window_chars
    whole = document_text(text_doc(text))
    assert all(whole[c.start_char:c.end_char] == c.text for c in chunks)
    assert bool(chunks) == (name in PROSE_SHAPES)


@pytest.mark.parametrize(("name", "n"), [
    ("unbroken", 400_000), ("minified", 200_000), ("base64", 400_000),
    ("cjk_without_punctuation", 50_000), ("one_line_of_words", 50_000),
    ("tiny_lines", 50_000), ("paragraphs", 50_000),
])
def test_chunking_time_is_linear_in_the_length(word_chunker: Chunker, name: str,
                                               n: int) -> None:
    assert scaling(word_chunker, name, n) < 6


def test_a_markdown_line_of_words_scales_linearly(word_chunker: Chunker) -> None:
    assert scaling(word_chunker, "one_line_of_words", 50_000, kind="markdown") < 6


@pytest.mark.parametrize("name", ["one_line_of_words", "tiny_lines", "paragraphs"])
def test_windows_give_the_chunks_the_whole_text_would(word_chunker: Chunker,
                                                      name: str) -> None:
    """The window slides from the start of its last chunk, so the splitter sees the same
    text at every chunk it keeps: the chunks are those of the unwindowed splitter."""
    text = shape(name, 60_000)
    whole = [(offset, piece) for offset, piece in word_chunker._text.chunk_indices(text)]
    windowed = [(c.start_char, c.text) for c in word_chunker.chunk(text_doc(text))]
    assert len(text) > 5 * word_chunker.window_chars
    assert windowed == whole


def test_data_is_not_prose_and_is_not_chunked(word_chunker: Chunker) -> None:
    for name in DATA_SHAPES:
        with pytest.raises(UnreadableFile) as caught:
            word_chunker.chunk(text_doc(shape(name, 100_000)))
        assert caught.value.reason is SkipReason.NOT_PROSE
        assert "characters of" in caught.value.detail


def test_prose_around_a_blob_keeps_its_offsets(word_chunker: Chunker) -> None:
    """A base64 image pasted into Markdown: the paragraphs around it are chunked at their
    own offsets in the document text, the blob is not chunked at all."""
    before = shape("paragraphs", 6_000)
    blob = "![](data:image/png;base64," + shape("base64", 300_000) + ")"
    after = shape("paragraphs", 6_000, seed=3)
    doc = ParsedDocument(path=Path("/docs/page.md"), kind="markdown", title="Page",
                         sections=[Section("Intro text.", "Intro"),
                                   Section(f"{before}\n{blob}\n{after}", "Body")])
    chunks = word_chunker.chunk(doc)
    text = document_text(doc)
    assert all(text[c.start_char:c.end_char] == c.text for c in chunks)
    assert not any("base64," in c.text or len(c.text) > 5_000 for c in chunks)
    covered = "".join(c.text for c in chunks)
    assert before[-200:] in covered and after[-200:] in covered


def test_offsets_are_checked_and_found_when_a_splitter_reports_bytes() -> None:
    """Older semantic-text-splitter releases reported byte offsets: each chunk is still
    found at its character offset (after the previous one, not from the start)."""
    text = "".join(f"年假 policy {i}. " for i in range(50))

    class ByteOffsets:
        def chunk_indices(self, text: str) -> list[tuple[int, str]]:
            pieces, position = [], 0
            while position < len(text):
                piece = text[position:position + 24]
                pieces.append((len(text[:position].encode()), piece))
                position += 24
            return pieces

    found = _char_indices(ByteOffsets(), text)
    assert [offset for offset, _ in found] == list(range(0, len(text), 24))
    assert all(text[o:o + len(p)] == p for o, p in found)


def test_chunker_spec_is_picklable_and_builds_the_same_chunker(tmp_path: Path) -> None:
    json_text = word_tokenizer()
    path = tmp_path / "tokenizer.json"
    path.write_text(json_text, encoding="utf-8")
    from tokenizers import Tokenizer

    doc = text_doc(shape("paragraphs", 20_000))
    expected = Chunker(Tokenizer.from_str(json_text), 64, 16).chunk(doc)
    for spec in (ChunkerSpec(json_text, 64, 16), ChunkerSpec(str(path), 64, 16)):
        copy = pickle.loads(pickle.dumps(spec))
        assert copy == spec
        assert copy.build().chunk(doc) == expected
    assert len(expected) > 10


# -- the same on Gemma's tokenizer at the shipped sizes (slow: needs the built model) --


@pytest.fixture(scope="module")
def shipped_chunker(embedder_dir: Path) -> Chunker:
    from desktop_app.core.embedder import ModelFiles
    from desktop_app.core.settings import LibrarySettings

    settings = LibrarySettings()
    tokenizer = str(ModelFiles.locate(embedder_dir).tokenizer)
    return ChunkerSpec(tokenizer, settings.chunk_tokens, settings.chunk_overlap).build()


@pytest.mark.parametrize(("name", "n"), [
    ("cjk_without_punctuation", 10_000), ("one_line_of_words", 25_000),
    ("tiny_lines", 25_000), ("unbroken", 400_000),
])
def test_shipped_chunking_time_is_linear_in_the_length(shipped_chunker: Chunker, name: str,
                                                       n: int) -> None:
    assert scaling(shipped_chunker, name, n) < 6


def test_shipped_windows_give_the_chunks_of_the_whole_text(shipped_chunker: Chunker) -> None:
    text = "\n\n".join([LONG] * 12)
    whole = [(o, p) for o, p in shipped_chunker._text.chunk_indices(text)]
    assert len(text) > 4 * shipped_chunker.window_chars
    assert [(c.start_char, c.text) for c in shipped_chunker.chunk(text_doc(text))] == whole
