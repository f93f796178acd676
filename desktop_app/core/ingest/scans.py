"""Pages without text: the readers' one door to OCR, and who decides what happens there.

A reader that meets a page with no text layer (a PDF page that is only a picture, an
image file) calls ``recognise(page, of_pages, render)``. What happens then is set for the
file being read by whoever reads it, with ``ocr_session``:

- OCR is off (Settings, ``--no-ocr``, or an installation without the models): None, and
  the reader says the file is a scan that was not read;
- the page was recognised before (a killed scan resumed, the same scan in another
  folder): its saved result, with no OCR at all;
- otherwise the engine (loaded once per process, on first need: most folders never need
  it) reads ``render()``, and ``on_page`` hears of it at once. The reading workers send it
  to the parent, which saves it before the next page is read (so a killed scan resumes
  where it stopped), restarts the file's time budget (an 80-page scan is long, not stuck)
  and shows "recognising page 12 of 80".

Without a session (a reader called directly, as the tests and the preview do) OCR is on
when the models are installed, and nothing is saved.

A page whose text OCR is not sure of (``MIN_PAGE_CONFIDENCE``: noise, a photo, a
handwritten note) is not indexed: garbage in the index would be found by searches and
quoted in answers. ``kura status --documents`` reports such pages.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from desktop_app.core.ingest.document import Section
from desktop_app.core.ocr.recognised import RecognisedPage

if TYPE_CHECKING:
    from PIL import Image

    from desktop_app.core.ocr import OcrEngine

# Mean character-weighted confidence under which a recognised page is left out of the
# index (and reported). Clean 150-300 dpi pages score above 0.9; noise and photos of
# things that are not text score well under this.
MIN_PAGE_CONFIDENCE = 0.6
# A PDF page with fewer characters than this in its text layer is read by OCR when it
# holds an image: a scan's text layer is empty or a few stray characters ("3", a stamp).
THIN_TEXT_CHARS = 16


@dataclass(frozen=True)
class PageRead:
    """News of one page recognised (or reused), for progress and for the store."""

    page: RecognisedPage
    of_pages: int
    reused: bool  # from an earlier read, not OCR'd now


@dataclass
class _Session:
    enabled: bool
    known: Mapping[int, RecognisedPage] = field(default_factory=dict)
    on_page: Callable[[PageRead], None] | None = None
    threads: int = 1


_session: ContextVar[_Session | None] = ContextVar("kura_ocr_session", default=None)
_engine: OcrEngine | None = None
_engine_lock = threading.Lock()


@contextmanager
def ocr_session(enabled: bool, known: Mapping[int, RecognisedPage] | None = None,
                on_page: Callable[[PageRead], None] | None = None,
                threads: int = 1) -> Iterator[None]:
    """Within this block, ``recognise`` follows these choices (see the module docstring)."""
    token = _session.set(_Session(enabled and ocr_available(), known or {}, on_page, threads))
    try:
        yield
    finally:
        _session.reset(token)


def ocr_available() -> bool:
    """Whether this installation can OCR (rapidocr and its models are there)."""
    try:
        from desktop_app.core.ocr import available
    except ImportError:
        return False
    return available()


def ocr_enabled() -> bool:
    """Whether a page without text will be read by OCR here."""
    session = _session.get()
    return session.enabled if session is not None else ocr_available()


def engine_id() -> str | None:
    """The id of the engine this installation would OCR with (None: it cannot), known
    without loading the models: the parent looks up saved pages with it."""
    if not ocr_available():
        return None
    from desktop_app.core.ocr.bundle import engine_id as bundle_engine_id
    from desktop_app.core.ocr.bundle import models_dir

    folder = models_dir()
    return None if folder is None else bundle_engine_id(folder)


def recognise(page: int, of_pages: int,
              render: Callable[[], Image.Image]) -> RecognisedPage | None:
    """The text of page ``page`` (1-based) of ``of_pages``, by OCR of ``render()``; None
    when OCR is off here. ``render`` is only called when the page must really be read."""
    session = _session.get() or _Session(ocr_available())
    if not session.enabled:
        return None
    known = session.known.get(page)
    if known is not None:
        if session.on_page:
            session.on_page(PageRead(known, of_pages, reused=True))
        return known
    engine = _shared_engine(session.threads)
    started = time.perf_counter()
    result = engine.read(render())
    done = RecognisedPage(page, engine.engine_id, result, time.perf_counter() - started)
    if session.on_page:
        session.on_page(PageRead(done, of_pages, reused=False))
    return done


def page_section(page: RecognisedPage, location: str | None) -> Section | None:
    """The section a recognised page becomes, or None when it is left out (no text, or
    text OCR is not sure of)."""
    text = page.result.text.strip()
    if not text or page.confidence < MIN_PAGE_CONFIDENCE:
        return None
    return Section(text=text, location=location, page=page.page)


def _shared_engine(threads: int) -> OcrEngine:
    """One engine per process, loaded on first need (a worker that never meets a scan
    never loads it)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            from desktop_app.core.ocr import OcrEngine

            _engine = OcrEngine(threads=threads)
        return _engine
