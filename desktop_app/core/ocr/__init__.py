"""Offline OCR in Chinese and English: scanned pages and photos of documents become text
with a box per line (issue 15).

The engine is rapidocr's PP-OCR models (inside its wheel) on onnxruntime, which Kura
already ships; nothing is ever downloaded. ``OcrEngine(threads).read(image)`` gives an
``OcrPage``: its lines in reading order, each with its box as fractions of the image as
given, and how far the page was turned to read it. ``available()`` says, without loading
anything, whether this installation can OCR at all.

Modules: ``page`` (the results), ``bundle`` (the model files, their sessions, the
engine's identity), ``orientation`` (which way up a page lies), ``layout`` (reading
order), ``engine`` (the pipeline).
"""

from __future__ import annotations

from desktop_app.core.ocr.bundle import available
from desktop_app.core.ocr.engine import OcrEngine
from desktop_app.core.ocr.page import OcrLine, OcrPage

__all__ = ["OcrEngine", "OcrLine", "OcrPage", "available"]
