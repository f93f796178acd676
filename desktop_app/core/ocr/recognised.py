"""One page as Kura keeps it once OCR has read it: which page, by which engine, how long it
took. The reading workers send it to the parent as soon as the page is read, the store
saves it (``store/ocr_repo.py``), and a resumed read gets it back instead of reading the
page again."""

from __future__ import annotations

from dataclasses import dataclass

from desktop_app.core.ocr.page import OcrPage


@dataclass(frozen=True)
class RecognisedPage:
    page: int  # 1-based: the PDF page, or the frame of a multi-page image
    engine: str  # the engine's id: results of another engine are never reused
    result: OcrPage
    seconds: float  # how long recognising it took (0 for a page reused from the store)

    @property
    def confidence(self) -> float:
        return self.result.confidence
