from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.core.ingest import SkipReason, UnreadableFile, parse, pdf_reader
from tests.support.documents import encrypted_pdf, pdf, pdf_without_text


def test_pages_keep_their_numbers_and_the_title(tmp_path: Path) -> None:
    path = pdf(tmp_path / "report.pdf",
               ["Alpha page talks about apples.", "Beta page\nsecond line", "Gamma page ends."],
               title="Annual Report")
    document = parse(path)
    assert document.kind == "pdf"
    assert document.title == "Annual Report"
    assert [(s.page, s.location) for s in document.sections] == [
        (1, "page 1"), (2, "page 2"), (3, "page 3")]
    assert document.sections[0].text == "Alpha page talks about apples."
    assert document.sections[1].text == "Beta page\nsecond line"
    assert "Gamma" in document.sections[2].text and "Alpha" not in document.sections[2].text


def test_chinese_text(tmp_path: Path) -> None:
    path = pdf(tmp_path / "政策.pdf", ["员工每年享有十五天带薪年假。"], title="年假政策",
               chinese=True)
    document = parse(path)
    assert document.title == "年假政策"
    assert document.sections[0].text == "员工每年享有十五天带薪年假。"


def test_blank_pages_are_dropped_but_numbering_is_kept(tmp_path: Path) -> None:
    path = pdf(tmp_path / "gap.pdf", ["first", "", "third"])
    assert [s.page for s in parse(path).sections] == [1, 3]


def test_no_title_metadata_means_none(tmp_path: Path) -> None:
    assert parse(pdf(tmp_path / "a.pdf", ["text"])).title is None


def test_password_protected(tmp_path: Path) -> None:
    source = pdf(tmp_path / "plain.pdf", ["secret salary table"])
    with pytest.raises(UnreadableFile) as caught:
        parse(encrypted_pdf(tmp_path / "locked.pdf", source))
    assert caught.value.reason is SkipReason.ENCRYPTED
    assert caught.value.message == "This PDF is password-protected."


def test_scanned_looking_pdf_is_empty(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile) as caught:
        pdf_reader.read(pdf_without_text(tmp_path / "scan.pdf"))
    assert caught.value.reason is SkipReason.EMPTY
    assert caught.value.message == "The file has no text — it may be a scanned image."


@pytest.mark.parametrize("data", [b"just some text, not a PDF\n", b"%PDF-1.7\n% truncated"])
def test_not_a_pdf(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fake.pdf"
    path.write_bytes(data)
    with pytest.raises(UnreadableFile) as caught:
        pdf_reader.read(path)
    assert caught.value.reason is SkipReason.CORRUPT
    assert caught.value.message == "The file is damaged or is not a real PDF."


def test_truncated_pdf_is_reported_not_raised(tmp_path: Path) -> None:
    source = pdf(tmp_path / "whole.pdf", ["one", "two"])
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(source.read_bytes()[: source.stat().st_size // 3])
    try:
        document = parse(cut)  # PDFium may recover part of it...
    except UnreadableFile as error:  # ...or give up: either way, no other exception
        assert error.reason in (SkipReason.CORRUPT, SkipReason.EMPTY)
    else:
        assert document.sections


def test_placeholder_titles_are_dropped() -> None:
    useful = pdf_reader.useful_title
    assert [useful(t) for t in ("untitled", "Document1", "  ", "PowerPoint Presentation")] == [
        None, None, None, None]
    assert useful("Microsoft Word - Annual Report 2024.docx") == "Annual Report 2024"
    assert useful("  Annual\n Report ") == "Annual Report"


def paged_pdf(path: Path, bodies: list[str], *, header: str | None, footer: str,
              footer_first: bool = False, chinese: bool = False) -> Path:
    """A PDF as word processors print them: a running header at the top of each page,
    the body, and a footer with the page number at the bottom (drawn first or last)."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    font = "Helvetica"
    if chinese:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        font = "STSong-Light"
    total = len(bodies)
    for number, body in enumerate(bodies, start=1):
        c.setFont(font, 9)
        if footer_first:
            c.drawCentredString(300, 30, footer.format(n=number, total=total))
        if header:
            c.drawString(72, 800, header)
        c.setFont(font, 12)
        y = 740
        for line in body.splitlines():
            c.drawString(72, y, line)
            y -= 18
        c.setFont(font, 9)
        if not footer_first:
            c.drawCentredString(300, 30, footer.format(n=number, total=total))
        c.showPage()
    c.save()
    return path


TOPICS = ["apples", "pears", "plums", "cherries", "grapes", "melons", "lemons", "figs"]


def fruit_pages(count: int) -> list[str]:
    return [f"The {fruit} chapter starts here.\nStore {fruit} in a cool place.\n"
            f"Most {fruit} keep for a week." for fruit in TOPICS[:count]]


@pytest.mark.parametrize("footer_first", [False, True])
def test_running_headers_footers_and_page_numbers_are_dropped(tmp_path: Path,
                                                              footer_first: bool) -> None:
    bodies = fruit_pages(6)
    path = paged_pdf(tmp_path / "fruit.pdf", bodies, header="Fruit Storage Handbook",
                     footer="Page {n} of {total}", footer_first=footer_first)
    document = parse(path)
    assert [s.text for s in document.sections] == bodies
    assert [s.page for s in document.sections] == [1, 2, 3, 4, 5, 6]


def test_bare_page_numbers_are_dropped_from_short_documents_too(tmp_path: Path) -> None:
    bodies = fruit_pages(2)
    path = paged_pdf(tmp_path / "two.pdf", bodies, header=None, footer="- {n} -")
    assert [s.text for s in parse(path).sections] == bodies


def test_chinese_headers_and_page_numbers_are_dropped(tmp_path: Path) -> None:
    bodies = ["员工每年享有十五天带薪年假。", "请在休假前至少两周提交申请。",
              "未使用的年假最多可以结转五天。", "病假需要提供医生证明。"]
    path = paged_pdf(tmp_path / "手册.pdf", bodies, header="员工手册 2024",
                     footer="第 {n} 页 共 {total} 页", chinese=True)
    assert [s.text for s in parse(path).sections] == bodies
