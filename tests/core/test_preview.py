"""Previews of cited passages: real PDFs rendered by PDFium, real documents re-parsed."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.core.chunking import Chunker, document_text
from desktop_app.core.ingest import SkipReason, parse
from desktop_app.core.preview import (
    CONTEXT_CHARS,
    NOTE_CHANGED,
    NoteCode,
    PageNotFound,
    PagePreview,
    TextPreview,
    preview,
    render_pdf_page,
    text_preview,
)
from tests.support.documents import CHINESE_SIMPLIFIED, pdf
from tests.support.samples import FIXTURES

PAGE_ONE = "Travel policy\nBook flights through the portal.\nKeep every receipt."
PAGE_TWO = ("Leave policy\nStaff get fifteen days of paid leave each year.\n"
            "Unused days expire at the end of March.")
PASSWORD_MD = FIXTURES / "corp_kb" / "IT 与安全" / "账户密码管理.md"


@pytest.fixture
def two_pages(tmp_path: Path) -> Path:
    return pdf(tmp_path / "handbook.pdf", [PAGE_ONE, PAGE_TWO])


def indexed_page(path: Path, page: int) -> str:
    """The page's text as the library indexed it."""
    return next(s.text for s in parse(path).sections if s.page == page)


def dark_pixels(shown: PagePreview, box: tuple[float, float, float, float]) -> int:
    x, y, w, h = (int(v) for v in box)
    count = 0
    for row in range(y, y + h):
        line = shown.pixels[row * shown.stride:(row + 1) * shown.stride]
        for col in range(x, x + w):
            r, g, b, _ = line[col * 4:col * 4 + 4]
            count += (r + g + b) < 300
    return count


def test_a_pdf_passage_is_highlighted_where_it_is_drawn(two_pages: Path) -> None:
    passage = indexed_page(two_pages, 2)
    shown = render_pdf_page(two_pages, 2, passage)
    assert (shown.page, shown.page_count) == (2, 2)
    assert len(shown.pixels) == shown.stride * shown.height
    assert shown.stride >= shown.width * 4
    # A4 at 1.5x
    assert (shown.width, shown.height) == pytest.approx((893, 1263), abs=1)
    assert len(shown.highlights) == 3  # one rectangle per line
    for x, y, w, h in shown.highlights:
        assert x >= 0 and y >= 0
        assert x + w <= shown.width and y + h <= shown.height
        assert w > 0 and h > 0
        assert y + h < shown.height / 4  # the builder draws from the top of the page
        assert dark_pixels(shown, (x, y, w, h)) > 20  # there is text under the box
    tops = [y for _, y, _, _ in shown.highlights]
    assert tops == sorted(tops)
    assert shown.highlights[1][2] > shown.highlights[0][2]  # the longer line is wider


def test_only_the_cited_part_of_the_page_is_highlighted(two_pages: Path) -> None:
    whole = render_pdf_page(two_pages, 2, indexed_page(two_pages, 2))
    part = render_pdf_page(two_pages, 2, "Unused days expire at the end of March.")
    assert len(part.highlights) == 1
    assert part.highlights[0] == pytest.approx(whole.highlights[2], abs=1)


def test_whitespace_differences_do_not_hide_the_passage(two_pages: Path) -> None:
    passage = "fifteen   days of paid leave each year. Unused\n\ndays"
    shown = render_pdf_page(two_pages, 2, passage)
    assert len(shown.highlights) == 2


def test_a_passage_not_on_the_page_gives_the_page_without_highlights(two_pages: Path) -> None:
    shown = render_pdf_page(two_pages, 2, indexed_page(two_pages, 1))
    assert shown.page == 2 and shown.highlights == ()
    assert dark_pixels(shown, (0, 0, shown.width, shown.height // 4)) > 100  # still drawn


def test_pixels_are_rgba(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    path = tmp_path / "red.pdf"
    c = canvas.Canvas(str(path), pagesize=(200, 100))
    c.setFillColorRGB(1, 0, 0)
    c.rect(0, 0, 100, 100, stroke=0, fill=1)  # left half red, right half white
    c.showPage()
    c.save()
    shown = render_pdf_page(path, 1, "", scale=1.0)
    assert (shown.width, shown.height) == (200, 100)
    row = shown.pixels[50 * shown.stride:51 * shown.stride]
    assert tuple(row[50 * 4:50 * 4 + 4]) == (255, 0, 0, 255)
    assert tuple(row[150 * 4:150 * 4 + 4]) == (255, 255, 255, 255)


def test_a_chinese_pdf_passage_is_found(tmp_path: Path) -> None:
    path = pdf(tmp_path / "年假.pdf", ["封面", CHINESE_SIMPLIFIED], chinese=True)
    passage = indexed_page(path, 2).splitlines()[1]
    shown = render_pdf_page(path, 2, passage)
    assert len(shown.highlights) == 1


def test_a_page_that_is_gone(two_pages: Path) -> None:
    with pytest.raises(PageNotFound):
        render_pdf_page(two_pages, 3, "x")
    passage = indexed_page(two_pages, 2)
    shown = preview(two_pages, passage, page=3, start_char=None, end_char=None)
    assert isinstance(shown, TextPreview)  # the passage in the document's text instead
    assert shown.text[shown.start:shown.end] == passage and shown.note


def test_preview_picks_the_page_for_pdfs_and_the_text_otherwise(two_pages: Path,
                                                               tmp_path: Path) -> None:
    shown = preview(two_pages, "Keep every receipt.", page=1, start_char=None, end_char=None)
    assert isinstance(shown, PagePreview) and shown.page == 1 and len(shown.highlights) == 1
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nKeep every receipt.\n", "utf-8")
    shown_text = preview(notes, "Keep every receipt.", page=None, start_char=None,
                         end_char=None, location="Notes")
    assert isinstance(shown_text, TextPreview) and shown_text.location == "Notes"
    assert shown_text.text[shown_text.start:shown_text.end] == "Keep every receipt."


def markdown_handbook(path: Path, lines: int = 200) -> Path:
    body = "\n".join(f"Rule {i}: travellers keep receipt number {i}." for i in range(lines))
    path.write_text(f"# Handbook\n\n## Travel\n\n{body}\n\n## Leave\n\nFifteen days.\n", "utf-8")
    return path


def test_text_preview_shows_the_passage_at_its_offsets(tmp_path: Path) -> None:
    path = markdown_handbook(tmp_path / "handbook.md")
    text = document_text(parse(path))
    passage = "Rule 100: travellers keep receipt number 100."
    start = text.index(passage)
    shown = text_preview(path, passage, start, start + len(passage), "Handbook > Travel")
    assert shown.text[shown.start:shown.end] == passage and shown.note == ""
    assert shown.location == "Handbook > Travel"
    # about CONTEXT_CHARS of context each side, cut at line breaks
    assert CONTEXT_CHARS - 60 < shown.start <= CONTEXT_CHARS
    assert CONTEXT_CHARS - 60 < len(shown.text) - shown.end <= CONTEXT_CHARS
    assert shown.text.startswith("Rule ") and shown.text.endswith(".")
    assert text[start - shown.start - 1] == "\n"


def test_a_moved_passage_is_found_again(tmp_path: Path) -> None:
    path = markdown_handbook(tmp_path / "handbook.md")
    passage = "Rule 3: travellers keep receipt number 3."
    start = document_text(parse(path)).index(passage)
    path.write_text("# Handbook\n\nA new first paragraph.\n\n" + path.read_text("utf-8"),
                    "utf-8")
    shown = text_preview(path, passage, start, start + len(passage))
    assert shown.text[shown.start:shown.end] == passage and shown.note == ""


def test_a_changed_file_shows_the_indexed_passage_with_a_note(tmp_path: Path) -> None:
    path = markdown_handbook(tmp_path / "handbook.md")
    passage = "Rule 3: travellers keep receipt number 3."
    start = document_text(parse(path)).index(passage)
    path.write_text("# Handbook\n\nEverything was rewritten.\n", "utf-8")
    shown = text_preview(path, passage, start, start + len(passage), "Travel")
    assert shown.note == NOTE_CHANGED and shown.note_code is NoteCode.CHANGED
    assert (shown.text, shown.start, shown.end) == (passage, 0, len(passage))


def test_a_missing_file_shows_the_passage_with_a_note(tmp_path: Path) -> None:
    for path, page in ((tmp_path / "gone.md", None), (tmp_path / "gone.pdf", 2)):
        shown = preview(path, "The passage.", page=page, start_char=0, end_char=12)
        assert isinstance(shown, TextPreview)
        assert shown.text == "The passage." and "moved or deleted" in shown.note
        assert shown.note_code is NoteCode.MOVED


def test_an_unreadable_file_shows_the_passage_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4 this is not really a PDF")
    shown = preview(path, "The passage.", page=1, start_char=0, end_char=12)
    assert isinstance(shown, TextPreview)
    assert shown.text == "The passage." and "damaged" in shown.note
    # The window words the note from its code and the reason's wording, not the sentence.
    assert shown.note_code is NoteCode.UNREADABLE and shown.unreadable is not None
    assert shown.unreadable.code == "corrupt_format" and shown.unreadable.kind == "pdf"
    assert str(SkipReason.CORRUPT) == "corrupt"


def test_every_chunk_of_a_chinese_document_previews_in_place(embedder) -> None:
    doc = parse(PASSWORD_MD)
    chunks = Chunker(embedder.tokenizer, max_tokens=24, overlap=4).chunk(doc)
    assert len(chunks) > 2
    for chunk in chunks:
        shown = text_preview(PASSWORD_MD, chunk.text, chunk.start_char, chunk.end_char,
                             chunk.location)
        assert shown.note == ""
        assert shown.text[shown.start:shown.end] == chunk.text
        assert shown.text in document_text(doc)
