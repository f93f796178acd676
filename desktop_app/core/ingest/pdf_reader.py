"""PDF text, page by page, through PDFium (pypdfium2).

Each page is its own section so an answer can cite "page 3". A page whose text layer is
empty or a few stray characters but which holds an image is a scan: it is rendered and
read by OCR (``scans.recognise``), when OCR is on; pages with real text keep PDFium's.
Pages with neither are dropped; if no page has text and OCR is off, the user is told the
PDF is most likely a scan.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

if TYPE_CHECKING:
    from PIL import Image

from desktop_app.core.ingest import scans
from desktop_app.core.ingest.decoding import clean_lines
from desktop_app.core.ingest.document import ParsedDocument, Section
from desktop_app.core.ingest.errors import SkipReason, UnreadableFile

# PDFium is not thread-safe; the app may read files from a worker thread while another
# thread (a preview, say) also touches a PDF.
_PDFIUM = threading.Lock()

# PDFium marks soft hyphens and unmappable glyphs with these; they are not text.
_JUNK = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\ufffe\uffff]")


# Scans are rendered at this resolution for OCR: what the recognizer needs for body text
# (benchmarks/ocr.py), and an A4 page stays a ~25 MB bitmap.
OCR_DPI = 200
SCAN_DPI_RANGE = (150, 400)  # a scan at a resolution in here is read at its own
MAX_OCR_SIDE = 6000  # pixels


def read(path: Path) -> ParsedDocument:
    with _PDFIUM:
        pdf = _open(path)
        try:
            title = _title(pdf)
            pages = _pages(pdf)
        finally:
            pdf.close()
    if not pages.sections and pages.failed:
        raise UnreadableFile(path, SkipReason.CORRUPT,
                             f"{pages.failed} page(s) could not be read")
    if not pages.sections and pages.scanned and not pages.recognised:
        raise UnreadableFile(path, SkipReason.SCANNED,
                             f"{pages.scanned} scanned page(s); OCR is off")
    if not pages.sections and pages.recognised:
        raise UnreadableFile(path, SkipReason.OCR_UNSURE,
                             f"OCR found no text it is sure of on {pages.recognised} "
                             f"scanned page(s)")
    if not pages.sections:
        raise UnreadableFile(path, SkipReason.EMPTY, "no text on any page")
    return ParsedDocument(path=path, kind="pdf", title=title, sections=pages.sections)


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


@dataclass
class _Pages:
    sections: list[Section] = field(default_factory=list)
    failed: int = 0  # pages PDFium could not read
    scanned: int = 0  # pages that are images without a text layer
    recognised: int = 0  # of those, read by OCR


def _pages(pdf: pdfium.PdfDocument) -> _Pages:
    out = _Pages()
    count = len(pdf)
    for index in range(count):
        number = index + 1
        try:
            text = _page_text(pdf, index)
            scanned = len("".join(text.split())) < scans.THIN_TEXT_CHARS \
                and _has_image(pdf, index)
        except pdfium.PdfiumError:
            out.failed += 1  # one broken page should not cost the reader the other 300
            continue
        if scanned:
            out.scanned += 1
            recognised = scans.recognise(number, count, partial(_render, pdf, index))
            if recognised is not None:
                out.recognised += 1
                section = scans.page_section(recognised, f"page {number}")
                if section is not None:
                    out.sections.append(section)
                continue
        if text:
            out.sections.append(Section(text=text, location=f"page {number}", page=number))
    return out


def _has_image(pdf: pdfium.PdfDocument, index: int) -> bool:
    page = pdf[index]
    try:
        return next(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2),
                    None) is not None
    finally:
        page.close()


def _render(pdf: pdfium.PdfDocument, index: int) -> Image.Image:
    """The page as OCR reads it. A scan is rendered at its own image's resolution when
    that is within reason (resampling a scan to another size blurs the gaps between
    words: "filed within 30" read as "filed within30" at 200 dpi from a 200 dpi scan), at
    ``OCR_DPI`` otherwise; without PDFium's image smoothing, which blurs them too."""
    page = pdf[index]
    try:
        width, height = page.get_size()
        dpi = _scan_dpi(page, width) or OCR_DPI
        # A poster-sized page is rendered smaller rather than as a gigabyte bitmap.
        scale = min(dpi / 72, MAX_OCR_SIDE / max(width, height, 1))
        bitmap = page.render(scale=scale, grayscale=False, no_smoothimage=True)
        try:
            return bitmap.to_pil().convert("RGB")
        finally:
            bitmap.close()
    finally:
        page.close()


def _scan_dpi(page: pdfium.PdfPage, width_pt: float) -> float | None:
    """The resolution of the image that covers the page (a scan), if it is one OCR reads
    well at (``SCAN_DPI_RANGE``); None otherwise."""
    widest, dpi = 0.0, 0.0
    for image in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        try:
            left, _bottom, right, _top = image.get_bounds()
            px_width, _px_height = image.get_px_size()
        except pdfium.PdfiumError:
            continue
        placed = right - left
        if placed >= 0.8 * width_pt and placed > widest:
            widest, dpi = placed, px_width * 72 / placed  # its dots per inch as placed
    low, high = SCAN_DPI_RANGE
    return dpi if low <= dpi <= high else None


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
