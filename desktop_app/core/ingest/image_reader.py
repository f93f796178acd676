"""Images of documents (a photographed page, a scanner's PNG, a multi-page TIFF, a phone's
HEIC): their text by OCR (``scans.recognise``), a frame a page.

Pillow opens every format here, HEIC/HEIF through pillow-heif's opener (libheif; iPhones
save photos as HEIC); a multi-page TIFF (and an animated WebP) has a frame per page, cited
as "page N". A photo bigger than ``MAX_PIXELS`` is read scaled down: OCR
needs ~300 dpi, not a 100-megapixel camera's every pixel, and Pillow refuses images past
its decompression-bomb limit, which such a file is not.
"""

from __future__ import annotations

import warnings
from functools import cache, partial
from pathlib import Path

from PIL import Image, ImageSequence, UnidentifiedImageError

from desktop_app.core.ingest import scans
from desktop_app.core.ingest.document import ParsedDocument, Section
from desktop_app.core.ingest.errors import SkipReason, UnreadableFile

MAX_PIXELS = 40_000_000  # a 300 dpi A3 page is 17 MP
MAX_FRAMES = 2000  # a "TIFF" of a hundred thousand frames is not a document


def read(path: Path) -> ParsedDocument:
    if not scans.ocr_enabled():
        raise UnreadableFile(path, SkipReason.SCANNED, "an image; OCR is off")
    try:
        with warnings.catch_warnings():
            # Pillow warns, then refuses, past its bomb limit; the size is checked below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            saved_limit = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None
            try:
                with open_image(path) as image:
                    sections, recognised = _frames(image)
            finally:
                Image.MAX_IMAGE_PIXELS = saved_limit
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        # Pillow raises OSError (truncated), SyntaxError (bad header) or ValueError.
        raise UnreadableFile(path, SkipReason.CORRUPT, str(exc)) from exc
    if not sections and recognised:
        raise UnreadableFile(path, SkipReason.OCR_UNSURE,
                             f"OCR found no text it is sure of in {recognised} image(s)")
    if not sections:
        raise UnreadableFile(path, SkipReason.EMPTY, "no text in the image")
    return ParsedDocument(path=path, kind="image", title=None, sections=sections)


HEIF_SUFFIXES = (".heic", ".heif")


def open_image(path: Path) -> Image.Image:
    """``Image.open``, with HEIC/HEIF files opened through pillow-heif (registered with
    Pillow on the first one: most folders have none)."""
    if path.suffix.lower() in HEIF_SUFFIXES:
        _register_heif()
    return Image.open(path)


@cache
def _register_heif() -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()


def _frames(image: Image.Image) -> tuple[list[Section], int]:
    count = min(getattr(image, "n_frames", 1), MAX_FRAMES)
    sections: list[Section] = []
    recognised = 0
    for index, frame in enumerate(ImageSequence.Iterator(image)):
        if index >= count:
            break
        number = index + 1
        page = scans.recognise(number, count, partial(_upright, frame))
        if page is None:
            continue
        recognised += 1
        section = scans.page_section(page, f"page {number}" if count > 1 else None)
        if section is not None:
            sections.append(section)
    return sections, recognised


def _upright(frame: Image.Image) -> Image.Image:
    """The frame as RGB, scaled under ``MAX_PIXELS``. EXIF orientation is not applied: the
    boxes must be fractions of the image as stored (the preview shows it the same way),
    and OCR finds the text's direction by itself."""
    rgb = frame
    if rgb.width * rgb.height > MAX_PIXELS:
        scale = (MAX_PIXELS / (rgb.width * rgb.height)) ** 0.5
        rgb = rgb.resize((max(1, int(rgb.width * scale)), max(1, int(rgb.height * scale))))
    return rgb.convert("RGB")
