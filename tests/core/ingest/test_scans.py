"""Scanned pages in the readers: a PDF page without a text layer and an image file are read
by OCR (real models, marked slow), page by page through ``scans.recognise``; OCR off, a
page read before, and a page OCR is not sure of each take their own way."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from desktop_app.core.ingest import SkipReason, UnreadableFile, parse, scans
from desktop_app.core.ingest.scans import PageRead, ocr_session
from desktop_app.core.ocr.page import OcrLine, OcrPage
from desktop_app.core.ocr.recognised import RecognisedPage
from tests.support.scans import (
    CHINESE,
    ENGLISH,
    blank_page,
    character_error_rate,
    render_pages,
    save_pdf,
    save_png,
    save_tiff,
)

slow = pytest.mark.slow  # these load the OCR models


def mixed_pdf(path: Path, scanned: Path) -> Path:
    """Page 1 typed (a real text layer), page 2 the scanned page ``scanned`` with three
    stray characters over it, as scanners' "searchable PDF" stamps leave."""
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.drawString(72, 760, "Typed cover page: the quarterly facilities report.")
    pdf.showPage()
    width, height = A4
    pdf.drawImage(str(scanned), 0, 0, width, height)
    pdf.drawString(20, 20, "p.2")
    pdf.showPage()
    pdf.save()
    return path


@slow
def test_a_scanned_pdf_is_read_page_by_page_in_both_languages(tmp_path: Path) -> None:
    pages = render_pages(ENGLISH[:2], dpi=200, max_lines=8) + \
        render_pages(CHINESE[:2], dpi=200, max_lines=8)
    heard: list[PageRead] = []
    with ocr_session(True, on_page=heard.append):
        doc = parse(save_pdf(pages[:2], tmp_path / "scan.pdf"))
    assert [s.page for s in doc.sections] == [1, 2] and doc.kind == "pdf"
    assert [s.location for s in doc.sections] == ["page 1", "page 2"]
    for section, page in zip(doc.sections, pages, strict=False):
        assert character_error_rate(page.text, section.text) < 0.03
    assert [(n.page.page, n.of_pages, n.reused) for n in heard] == [(1, 2, False),
                                                                    (2, 2, False)]


@slow
def test_typed_pages_keep_their_text_and_only_the_scan_is_recognised(tmp_path: Path) -> None:
    scan = render_pages(CHINESE[2:3], dpi=200, max_lines=6)[0]
    path = mixed_pdf(tmp_path / "mixed.pdf", save_png(scan, tmp_path / "p2.png"))
    heard: list[PageRead] = []
    with ocr_session(True, on_page=heard.append):
        doc = parse(path)
    assert doc.sections[0].text == "Typed cover page: the quarterly facilities report."
    assert [n.page.page for n in heard] == [2]  # page 1 was never rendered for OCR
    assert "报销申请必须在购买后三十天内提交" in "".join(doc.sections[1].text.split())


@slow
def test_images_are_read_and_a_multi_page_tiff_is_cited_by_page(tmp_path: Path) -> None:
    pages = render_pages(CHINESE[:2], dpi=200, max_lines=5)
    png = parse(save_png(pages[0], tmp_path / "photo.png"))
    assert png.kind == "image" and [s.page for s in png.sections] == [1]
    assert png.sections[0].location is None  # one picture: no "page 1"
    tiff = parse(save_tiff([pages[0], blank_page()], tmp_path / "batch.tiff"))
    assert [(s.page, s.location) for s in tiff.sections] == [(1, "page 1")]  # blank: none


def test_with_ocr_off_a_scan_is_skipped_and_says_why(tmp_path: Path) -> None:
    page = render_pages(ENGLISH[:1], dpi=150, max_lines=3)[0]
    pdf = save_pdf([page], tmp_path / "scan.pdf")
    png = save_png(page, tmp_path / "scan.png")
    with ocr_session(False):
        for path in (pdf, png):
            with pytest.raises(UnreadableFile) as caught:
                parse(path)
            assert caught.value.reason is SkipReason.SCANNED
            assert "OCR" in caught.value.message


def test_a_page_read_before_is_not_read_again(tmp_path: Path) -> None:
    """A resumed scan: the saved page is used as it is; the engine is never asked."""
    pdf = save_pdf(render_pages(ENGLISH[:1], dpi=150, max_lines=3), tmp_path / "scan.pdf")
    saved = RecognisedPage(1, "engine", OcrPage((OcrLine("Saved words of page one.",
                                                         (0.1, 0.1, 0.5, 0.12), 0.97),),
                                                0, 1240, 1754), 2.0)
    heard: list[PageRead] = []
    with ocr_session(True, known={1: saved}, on_page=heard.append):
        if not scans.ocr_enabled():
            pytest.skip("this installation has no OCR models")
        doc = parse(pdf)
    assert doc.sections[0].text == "Saved words of page one."
    assert heard == [PageRead(saved, 1, reused=True)]


def test_a_page_ocr_is_not_sure_of_is_left_out(tmp_path: Path) -> None:
    unsure = RecognisedPage(1, "engine", OcrPage((OcrLine("~#r%q ;;l1", (0.1, 0.1, 0.3, 0.12),
                                                          0.31),), 0, 100, 100), 1.0)
    sure = RecognisedPage(2, "engine", OcrPage((OcrLine("A clear line.", (0.1, 0.1, 0.3, 0.12),
                                                        0.96),), 0, 100, 100), 1.0)
    assert scans.page_section(unsure, "page 1") is None
    section = scans.page_section(sure, "page 2")
    assert section is not None and (section.text, section.page) == ("A clear line.", 2)


def test_a_broken_image_is_corrupt_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with ocr_session(True), pytest.raises(UnreadableFile) as caught:
        if not scans.ocr_enabled():
            pytest.skip("this installation has no OCR models")
        parse(path)
    assert caught.value.reason is SkipReason.CORRUPT


def test_a_huge_photo_is_read_scaled_down(tmp_path: Path) -> None:
    """Past Pillow's decompression-bomb limit: scaled under MAX_PIXELS, not refused."""
    from desktop_app.core.ingest import image_reader

    big = Image.new("L", (9000, 9000), 255)
    shown = image_reader._upright(big)
    assert shown.width * shown.height <= image_reader.MAX_PIXELS and shown.mode == "RGB"


@slow
def test_a_phones_heic_photo_is_read_and_previewed(tmp_path: Path) -> None:
    """iPhones save photos as HEIC: opened through pillow-heif, read like any image."""
    from pillow_heif import register_heif_opener

    from desktop_app.core.preview import PagePreview, render_image_page

    register_heif_opener()  # to write one; Kura registers it when it meets one
    page = render_pages(CHINESE[2:3], dpi=200, max_lines=4)[0]
    path = tmp_path / "IMG_0412.HEIC"
    page.image.convert("RGB").save(path, format="HEIF", quality=90)
    doc = parse(path)
    assert doc.kind == "image" and [s.page for s in doc.sections] == [1]
    assert character_error_rate(page.text, doc.sections[0].text) < 0.03
    shown = render_image_page(path, 1, "报销", ())
    assert isinstance(shown, PagePreview) and shown.width > 0 and shown.page_count == 1
