"""What OCR read on scanned pages, kept by content hash (migration v4, ``OcrRepo``)."""

from __future__ import annotations

from desktop_app.core.ocr.page import OcrLine, OcrPage
from desktop_app.core.ocr.recognised import RecognisedPage
from desktop_app.core.store import Database
from tests.support.store import chunks


def page(number: int, confidence: float = 0.95, engine: str = "engine-a") -> RecognisedPage:
    lines = (OcrLine("第一行：报销须在 30 天内提交。", (0.1, 0.1, 0.8, 0.13), confidence, 0),
             OcrLine("Second line, second block.", (0.1, 0.2, 0.7, 0.23), confidence, 1))
    return RecognisedPage(number, engine, OcrPage(lines, 90, 1700, 2200), 1.5)


def test_pages_come_back_whole_by_content_and_engine(db: Database) -> None:
    db.save_ocr_page("hash-1", page(1))
    db.save_ocr_page("hash-1", page(2))
    db.save_ocr_page("hash-1", page(2, engine="engine-b"))
    db.save_ocr_page("hash-2", page(1))
    got = db.ocr_pages("hash-1", "engine-a")
    assert sorted(got) == [1, 2]
    assert got[1] == page(1)  # text, boxes, confidences, blocks, rotation, size, seconds
    assert got[1].result.text == "第一行：报销须在 30 天内提交。\n\nSecond line, second block."
    assert sorted(db.ocr_pages("hash-1", "engine-b")) == [2]
    assert db.ocr_pages("hash-3", "engine-a") == {}


def test_saving_a_page_again_replaces_it(db: Database) -> None:
    db.save_ocr_page("h", page(1, confidence=0.5))
    db.save_ocr_page("h", page(1, confidence=0.9))
    assert db.ocr_pages("h", "engine-a")[1].confidence == 0.9


def test_summaries_count_pages_and_name_the_unsure_ones(db: Database) -> None:
    db.save_ocr_page("h", page(1, confidence=0.95))
    db.save_ocr_page("h", page(2, confidence=0.3))
    db.save_ocr_page("h", page(3, confidence=0.9))
    summary = db.ocr_summaries(["h", "none"], low_below=0.6)
    assert set(summary) == {"h"}
    assert summary["h"].pages == 3 and summary["h"].low_pages == (2,)
    assert 0.3 < summary["h"].confidence < 0.95


def test_pages_of_content_no_document_holds_are_forgotten(db: Database) -> None:
    collection = db.create_collection("Scans")
    db.replace_document(collection, "/s/kept.pdf", 1, 1, "kept", "pdf", None,
                        chunks("page text"))
    db.save_ocr_page("kept", page(1))
    db.save_ocr_page("gone", page(1))
    db.save_ocr_page("gone", page(2))
    assert db.forget_unused_ocr() == 2
    assert sorted(db.ocr_pages("kept")) == [1] and db.ocr_pages("gone") == {}
