"""Show a cited passage where it came from: the PDF page with the passage highlighted, or
the document's text around it.

A scanned page (a PDF page without a text layer, an image file) is shown the same way,
its passage's lines boxed from what OCR saved of them (``ocr_lines``: each line's text
and box as fractions of the page, ``store/ocr_repo.py``); the page must be rendered as
OCR saw it, which is how PDFium renders it and how Pillow opens an image.

A preview is asked for long after indexing, so the file may have changed, moved or
become unreadable. None of that raises: the preview then shows the passage as it was
indexed, with a note that says why: a ``NoteCode`` the window words in the user's
language, and ``note``, the same in English. A PDF passage is found on its page by comparing
text with whitespace and case removed, because the indexed text (``pdf_reader`` joins
and trims PDFium's lines) and the page's characters differ exactly there.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from desktop_app.core.chunking import document_text
from desktop_app.core.errors import KuraError
from desktop_app.core.ingest import SkipReason, UnreadableFile, kind_of, parse, pdf_reader
from desktop_app.core.ingest.errors import SkipWording
from desktop_app.core.ocr.page import OcrLine

CONTEXT_CHARS = 1500  # shown on each side of a text passage
MAX_SIDE_PX = 6000  # a poster-sized page is rendered smaller rather than as a 1 GB bitmap
FRAGMENT_CHARS = 30  # when the whole passage is not on the page, look for pieces of it



class NoteCode(StrEnum):
    """Why a preview shows the passage alone or in the text instead of on its page. The
    window has a text for each (``preview.note.<code>``): a new code needs one there."""

    CHANGED = "changed"
    NOT_PAGE = "not_page"
    MOVED = "moved"
    UNREADABLE = "unreadable"  # with the SkipWording of why


NOTE_CHANGED = "The file has changed since it was indexed; showing the indexed passage."
NOTE_NOT_PAGE = "The page could not be shown; showing the passage in the document's text."
NOTES = {  # in English, for ``TextPreview.note``
    NoteCode.CHANGED: NOTE_CHANGED,
    NoteCode.NOT_PAGE: NOTE_NOT_PAGE,
    NoteCode.MOVED: "The file was moved or deleted; showing the indexed passage.",
    NoteCode.UNREADABLE: "{reason} Showing the indexed passage.",
}

Rect = tuple[float, float, float, float]  # x, y, width, height in pixels, origin top-left


class PageNotFound(KuraError):
    """The PDF has no such page (any more)."""


@dataclass(frozen=True)
class PagePreview:
    """A PDF page rendered with the passage highlighted.

    ``pixels`` are RGBA8888: four bytes per pixel in the order R, G, B, A (alpha is
    always 255), ``stride`` bytes per row, rows top to bottom; Qt reads them as
    ``QImage(pixels, width, height, stride, QImage.Format_RGBA8888)``.
    """

    path: Path
    page: int  # 1-based, as chunks store it
    page_count: int
    width: int
    height: int
    stride: int
    pixels: bytes
    highlights: tuple[Rect, ...]  # one rectangle per line of the passage


@dataclass(frozen=True)
class TextPreview:
    path: Path
    text: str  # the passage with up to CONTEXT_CHARS around it, cut at line breaks
    start: int  # text[start:end] is the passage
    end: int
    location: str | None
    note_code: NoteCode | None = None  # why the passage is shown alone or may not match
    unreadable: SkipWording | None = None  # why the file cannot be read (UNREADABLE)

    @property
    def note(self) -> str:
        """The note in English; empty when there is none."""
        if self.note_code is None:
            return ""
        reason = self.unreadable.english() if self.unreadable else ""
        return NOTES[self.note_code].format(reason=reason)


def preview(path: Path, passage: str, *, page: int | None, start_char: int | None,
            end_char: int | None, location: str | None = None,
            scale: float = 1.5,
            ocr_lines: Sequence[OcrLine] | None = None) -> PagePreview | TextPreview:
    """The page of a PDF or image passage, else the passage in its document's text.
    ``ocr_lines``: what OCR read on that page, when it was a scan."""
    path = Path(path)
    kind = kind_of(path)
    if page is not None and kind in ("pdf", "image"):
        try:
            if kind == "image":
                return render_image_page(path, page, passage, ocr_lines or ())
            return render_pdf_page(path, page, passage, scale, ocr_lines)
        except (OSError, KuraError, pdfium.PdfiumError, ValueError, EOFError):
            shown = text_preview(path, passage, start_char, end_char, location)
            return shown if shown.note_code else replace(shown, note_code=NoteCode.NOT_PAGE)
    return text_preview(path, passage, start_char, end_char, location)


# --- PDF pages ---------------------------------------------------------------------------


def render_pdf_page(path: Path, page: int, passage: str, scale: float = 1.5,
                    ocr_lines: Sequence[OcrLine] | None = None) -> PagePreview:
    """Render ``page`` (1-based) of the PDF with the lines of ``passage`` boxed (from
    PDFium's text, or from ``ocr_lines`` for a scanned page).

    Raises OSError or UnreadableFile if the file cannot be opened, PageNotFound if the
    page is not in it; a passage not found on the page just gives no highlights.
    """
    path = Path(path)
    with pdf_reader._PDFIUM:  # the reader's lock: PDFium is not thread-safe
        pdf = pdf_reader._open(path)  # opened as the reader does (non-ANSI Windows paths)
        try:
            page_count = len(pdf)
            if not 1 <= page <= page_count:
                raise PageNotFound(f"{path}: no page {page} (the file has {page_count})")
            pdf_page = pdf[page - 1]
            try:
                return _render(path, pdf_page, page, page_count, passage, scale, ocr_lines)
            finally:
                pdf_page.close()
        finally:
            pdf.close()


def _render(path: Path, pdf_page: pdfium.PdfPage, page: int, page_count: int, passage: str,
            scale: float, ocr_lines: Sequence[OcrLine] | None = None) -> PagePreview:
    width_pt, height_pt = pdf_page.get_size()
    scale = min(max(scale, 0.1), MAX_SIDE_PX / max(width_pt, height_pt, 1.0))
    bitmap = pdf_page.render(scale=scale, force_bitmap_format=pdfium_c.FPDFBitmap_BGRA,
                             rev_byteorder=True)  # BGRA reversed: RGBA
    try:
        boxes = _passage_boxes(pdf_page, passage)
        to_pixels = bitmap.get_posconv(pdf_page)
        pixel_boxes = [_pixel_rect(to_pixels, box) for box in boxes]
        if not pixel_boxes and ocr_lines:  # a scan: its text is OCR's
            return PagePreview(path=path, page=page, page_count=page_count,
                               width=bitmap.width, height=bitmap.height, stride=bitmap.stride,
                               pixels=bytes(bitmap.buffer),
                               highlights=ocr_boxes(ocr_lines, passage, bitmap.width,
                                                    bitmap.height))
        return PagePreview(path=path, page=page, page_count=page_count,
                           width=bitmap.width, height=bitmap.height, stride=bitmap.stride,
                           pixels=bytes(bitmap.buffer), highlights=_merge_lines(pixel_boxes))
    finally:
        bitmap.close()


def _passage_boxes(pdf_page: pdfium.PdfPage, passage: str) -> list[Rect]:
    """Page-space boxes (left, bottom, right, top) of the passage's characters."""
    textpage = pdf_page.get_textpage()
    try:
        chars = _page_chars(textpage)
        indices = _find(chars, passage)
        boxes = []
        for index in indices:
            try:
                boxes.append(textpage.get_charbox(index, loose=True))
            except pdfium.PdfiumError:
                continue
        return [b for b in boxes if b[2] > b[0] and b[3] > b[1]]
    finally:
        textpage.close()


def _page_chars(textpage: pdfium.PdfTextPage) -> list[tuple[str, int]]:
    """The page's characters with their PDFium indices (surrogate pairs joined)."""
    chars: list[tuple[str, int]] = []
    count = textpage.count_chars()
    index = 0
    while index < count:
        code = pdfium_c.FPDFText_GetUnicode(textpage, index)
        if 0xD800 <= code < 0xDC00 and index + 1 < count:
            low = pdfium_c.FPDFText_GetUnicode(textpage, index + 1)
            if 0xDC00 <= low < 0xE000:
                chars.append((chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)), index))
                index += 2
                continue
        chars.append((chr(code), index))
        index += 1
    return chars


def _pixel_rect(to_pixels: pdfium.PdfPosConv, box: Rect) -> Rect:
    left, bottom, right, top = box
    x1, y1 = to_pixels.to_bitmap(left, top)
    x2, y2 = to_pixels.to_bitmap(right, bottom)
    x, y = min(x1, x2), min(y1, y2)  # min/max: a rotated page swaps the corners
    return (float(x), float(y), float(abs(x2 - x1)), float(abs(y2 - y1)))


def _merge_lines(boxes: list[Rect]) -> tuple[Rect, ...]:
    """Character boxes in reading order to one rectangle per line: a box starts a new
    line when its middle is outside the current line's height or it jumps back left."""
    lines: list[list[float]] = []  # left, top, right, bottom
    for x, y, w, h in boxes:
        middle = y + h / 2
        if lines:
            line = lines[-1]
            same_line = line[1] <= middle <= line[3] and x >= line[0] - h
            if same_line:
                line[:] = [min(line[0], x), min(line[1], y), max(line[2], x + w),
                           max(line[3], y + h)]
                continue
        lines.append([x, y, x + w, y + h])
    return tuple((left, top, right - left, bottom - top) for left, top, right, bottom in lines)


# --- finding a passage despite whitespace --------------------------------------------------


def _normalized(chars: list[tuple[str, int]]) -> tuple[str, list[int]]:
    """The characters without whitespace or PDFium's junk, NFKC-folded and casefolded
    (ligatures, full-width forms), and for each character kept, the index it came from."""
    out: list[str] = []
    origin: list[int] = []
    for char, index in chars:
        for piece in _fold(char):
            if piece.isspace() or pdf_reader._JUNK.match(piece):
                continue
            out.append(piece)
            origin.append(index)
    return "".join(out), origin


def _fold(char: str) -> str:
    if char.isascii():
        return char.lower()  # the common case, without a Unicode table lookup
    return unicodedata.normalize("NFKC", char).casefold()


def _find(chars: list[tuple[str, int]], passage: str) -> list[int]:
    """Indices (from ``chars``) of the passage's characters; empty if it is not there.

    The whole passage first; failing that, its first, middle and last pieces, so a page
    that extracts a little differently still shows where the passage is."""
    haystack, origin = _normalized(chars)
    needle, _ = _normalized([(c, i) for i, c in enumerate(passage)])
    if not needle or not haystack:
        return []
    found = haystack.find(needle)
    if found >= 0:
        return sorted(set(origin[found:found + len(needle)]))
    spans = []
    size = FRAGMENT_CHARS
    middle = max(0, len(needle) // 2 - size // 2)
    for start in (0, middle, max(0, len(needle) - size)):
        at = haystack.find(needle[start:start + size])
        if at >= 0:
            spans.append((at, at + len(needle[start:start + size])))
    if not spans:
        return []
    first, last = spans[0], spans[-1]
    if len(spans) >= 2 and first[0] < last[1] and last[1] - first[0] <= 2 * len(needle):
        spans = [(first[0], last[1])]  # the ends agree: everything between them
    return sorted({origin[i] for a, b in spans for i in range(a, b)})


# --- scans ------------------------------------------------------------------------------


IMAGE_SIDE_PX = 2400  # an image page is shown at most this large (a 300 dpi A4 is 3508)


def render_image_page(path: Path, page: int, passage: str,
                      ocr_lines: Sequence[OcrLine]) -> PagePreview:
    """Frame ``page`` (1-based) of an image file, with the OCR'd lines of ``passage``
    boxed. Raises OSError (Pillow's UnidentifiedImageError is one) if it cannot be
    opened, PageNotFound if it has no such frame."""
    from desktop_app.core.ingest.image_reader import open_image

    with open_image(path) as image:
        count = getattr(image, "n_frames", 1)
        if not 1 <= page <= count:
            raise PageNotFound(f"{path}: no page {page} (the file has {count})")
        image.seek(page - 1)
        frame = image.convert("RGBA")
    factor = min(1.0, IMAGE_SIDE_PX / max(frame.width, frame.height, 1))
    if factor < 1.0:
        frame = frame.resize((max(1, round(frame.width * factor)),
                              max(1, round(frame.height * factor))))
    return PagePreview(path=path, page=page, page_count=count, width=frame.width,
                       height=frame.height, stride=frame.width * 4, pixels=frame.tobytes(),
                       highlights=ocr_boxes(ocr_lines, passage, frame.width, frame.height))


def ocr_boxes(lines: Sequence[OcrLine], passage: str, width: int,
              height: int) -> tuple[Rect, ...]:
    """The boxes, in pixels of a ``width`` x ``height`` rendering, of the OCR'd lines the
    passage was read from (found by text, as on a PDF page's characters)."""
    chars = [(char, i) for i, line in enumerate(lines) for char in line.text + "\n"]
    found = sorted(set(_find(chars, passage)))
    boxes = []
    for i in found:
        x0, y0, x1, y1 = lines[i].box
        boxes.append((x0 * width, y0 * height, (x1 - x0) * width, (y1 - y0) * height))
    return tuple(boxes)


# --- text ------------------------------------------------------------------------------


def text_preview(path: Path, passage: str, start_char: int | None, end_char: int | None,
                 location: str | None = None) -> TextPreview:
    """The passage inside its document's current text, or alone with a note."""
    path = Path(path)
    try:
        text = document_text(parse(path))
    except UnreadableFile as exc:
        if exc.reason is SkipReason.VANISHED:  # its own sentence speaks of a scan
            return _alone(path, passage, location, NoteCode.MOVED)
        return _alone(path, passage, location, NoteCode.UNREADABLE, exc.wording)
    span = _locate(text, passage, start_char, end_char)
    if span is None:
        return _alone(path, passage, location, NoteCode.CHANGED)
    return _around(path, text, span, location)


def _locate(text: str, passage: str, start: int | None,
            end: int | None) -> tuple[int, int] | None:
    """Where the passage is in ``text``: at its indexed offsets, else the occurrence
    nearest them, else ignoring whitespace and case."""
    if not passage:
        return None
    if start is not None and end is not None and 0 <= start <= end <= len(text) \
            and text[start:end] == passage:
        return start, end
    hits = []
    at = text.find(passage)
    while at >= 0:
        hits.append(at)
        at = text.find(passage, at + 1)
    if hits:
        near = min(hits, key=lambda h: abs(h - (start or 0)))
        return near, near + len(passage)
    haystack, origin = _normalized([(c, i) for i, c in enumerate(text)])
    needle, _ = _normalized([(c, i) for i, c in enumerate(passage)])
    found = haystack.find(needle) if needle else -1
    if found < 0:
        return None
    return origin[found], origin[found + len(needle) - 1] + 1


def _around(path: Path, text: str, span: tuple[int, int], location: str | None) -> TextPreview:
    start, end = span
    begin = max(0, start - CONTEXT_CHARS)
    if begin > 0:
        line_start = text.find("\n", begin, start)
        begin = line_start + 1 if line_start >= 0 else begin
    finish = min(len(text), end + CONTEXT_CHARS)
    if finish < len(text):
        line_end = text.rfind("\n", end, finish)
        finish = line_end if line_end >= 0 else finish
    return TextPreview(path=path, text=text[begin:finish], start=start - begin,
                       end=end - begin, location=location)


def _alone(path: Path, passage: str, location: str | None, note: NoteCode,
           unreadable: SkipWording | None = None) -> TextPreview:
    return TextPreview(path=path, text=passage, start=0, end=len(passage), location=location,
                       note_code=note, unreadable=unreadable)
