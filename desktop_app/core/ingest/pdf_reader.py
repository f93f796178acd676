"""PDF text, page by page, through PDFium (pypdfium2).

Each page is its own section so an answer can cite "page 3". Pages without text are
dropped; if none has text the PDF is most likely a scan, and the user is told so.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from desktop_app.core.ingest.decoding import clean_lines
from desktop_app.core.ingest.document import ParsedDocument, Section
from desktop_app.core.ingest.errors import SkipReason, UnreadableFile

# PDFium is not thread-safe; the app may read files from a worker thread while another
# thread (a preview, say) also touches a PDF.
_PDFIUM = threading.Lock()

# PDFium marks soft hyphens and unmappable glyphs with these; they are not text.
_JUNK = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\ufffe\uffff]")


def read(path: Path) -> ParsedDocument:
    with _PDFIUM:
        pdf = _open(path)
        try:
            title = _title(pdf)
            sections, failed = _pages(pdf)
        finally:
            pdf.close()
    if not sections and failed:
        raise UnreadableFile(path, SkipReason.CORRUPT, f"{failed} page(s) could not be read")
    if not sections:
        raise UnreadableFile(path, SkipReason.EMPTY, "no text on any page")
    return ParsedDocument(path=path, kind="pdf", title=title, sections=sections)


def _open(path: Path) -> pdfium.PdfDocument:
    # A Python file object rather than the path: PDFium opens paths with the narrow C API,
    # which on Windows fails for names outside the ANSI code page (e.g. Chinese folders).
    # It also makes a missing or forbidden file raise the usual Python errors.
    file = path.open("rb")
    try:
        return pdfium.PdfDocument(file, autoclose=True)
    except pdfium.PdfiumError as exc:
        file.close()
        code = getattr(exc, "err_code", None)
        if code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise UnreadableFile(path, SkipReason.ENCRYPTED, str(exc)) from exc
        raise UnreadableFile(path, SkipReason.CORRUPT, str(exc)) from exc
    except BaseException:
        file.close()
        raise


# Titles that producers write when the author gave none; a file name says more.
_PLACEHOLDER_TITLE = re.compile(
    r"^(untitled( document)?|no title|title|anonymous|\(anonymous\)|document\d*|"
    r"powerpoint presentation|presentation\d*|slide \d+|book\d*)$", re.IGNORECASE)
_OFFICE_PREFIX = re.compile(r"^microsoft (word|powerpoint|excel) - ", re.IGNORECASE)
_OFFICE_SUFFIX = re.compile(r"\.(docx?|pptx?|xlsx?|rtf)$", re.IGNORECASE)


def _title(pdf: pdfium.PdfDocument) -> str | None:
    try:
        title = pdf.get_metadata_value("Title")
    except pdfium.PdfiumError:
        return None
    return useful_title(title)


def useful_title(title: str) -> str | None:
    """``title`` without producer noise ("Microsoft Word - x.docx" -> "x"), or None."""
    title = " ".join(title.split())
    if _OFFICE_PREFIX.match(title):
        title = _OFFICE_SUFFIX.sub("", _OFFICE_PREFIX.sub("", title))
    if not title or _PLACEHOLDER_TITLE.match(title):
        return None
    return title


def _pages(pdf: pdfium.PdfDocument) -> tuple[list[Section], int]:
    sections: list[Section] = []
    failed = 0
    for index in range(len(pdf)):
        try:
            text = _page_text(pdf, index)
        except pdfium.PdfiumError:
            failed += 1  # one broken page should not cost the reader the other 300
            continue
        if text:
            number = index + 1
            sections.append(Section(text=text, location=f"page {number}", page=number))
    return sections, failed


def _page_text(pdf: pdfium.PdfDocument, index: int) -> str:
    page = pdf[index]
    try:
        textpage = page.get_textpage()
        try:
            raw = textpage.get_text_range()
        finally:
            textpage.close()
    finally:
        page.close()
    return clean_lines(_JUNK.sub("", raw))
