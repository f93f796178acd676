"""What OCR read on scanned pages (table ``ocr_pages``, migration v4).

A page is saved the moment its worker has read it, in its own short transaction, before
the file's chunks exist: a scan of 80 pages killed at page 50 is read again from page 51
(``pages_of`` gives the reader the 50 it has). Rows are keyed by the file's content hash
and the engine's id (``desktop_app.core.ocr`` ``engine_id``), so a copy of the scan in
another folder is not recognised again, and a new engine's results never mix with an
old one's. The lines keep their boxes: the citation preview highlights them.

Rows outlive their document until ``forget_unused_ocr``, which a completed scan calls:
only then is it known that no file of that content is still being read.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable

from desktop_app.core.ocr.page import OcrLine, OcrPage
from desktop_app.core.ocr.recognised import RecognisedPage
from desktop_app.core.store.connections import StoreBase
from desktop_app.core.store.rows import OcrSummary
from desktop_app.core.store.sqlutil import batched, marks


def _lines_json(page: OcrPage) -> str:
    return json.dumps([[line.text, *(round(v, 5) for v in line.box),
                        round(line.confidence, 4), line.block] for line in page.lines],
                      ensure_ascii=False, separators=(",", ":"))


def _page_from_row(row: tuple) -> RecognisedPage:
    page, engine, rotation, width, height, _confidence, lines, seconds = row
    parsed = tuple(OcrLine(text, (x0, y0, x1, y1), confidence, block)
                   for text, x0, y0, x1, y1, confidence, block in json.loads(lines))
    return RecognisedPage(int(page), str(engine), OcrPage(parsed, int(rotation), int(width),
                                                      int(height)), float(seconds))


_COLUMNS = "page, engine, rotation, width, height, confidence, lines, seconds"


def summaries(conn: sqlite3.Connection, content_hashes: Iterable[str],
              low_below: float) -> dict[str, OcrSummary]:
    """``OcrRepo.ocr_summaries`` on a connection (the documents listing's snapshot)."""
    hashes = sorted(set(content_hashes))
    out: dict[str, OcrSummary] = {}
    for part in batched(hashes):
        rows = conn.execute(
            "SELECT content_hash, page, confidence, length(lines) FROM ocr_pages "
            f"WHERE content_hash IN ({marks(len(part))}) ORDER BY content_hash, page",
            part).fetchall()
        grouped: dict[str, list[tuple[int, float, int]]] = {}
        for content_hash, page, confidence, size in rows:
            grouped.setdefault(content_hash, []).append((page, confidence, size))
        for content_hash, pages in grouped.items():
            weight = sum(size for _, _, size in pages) or 1
            mean = sum(c * size for _, c, size in pages) / weight
            low = tuple(sorted({p for p, c, _ in pages if c < low_below}))
            out[content_hash] = OcrSummary(len({p for p, _, _ in pages}), mean, low)
    return out


class OcrRepo(StoreBase):
    def save_ocr_page(self, content_hash: str, stored: RecognisedPage) -> None:
        """Keep one page's result (replacing an earlier one of the same engine)."""
        page = stored.result
        with self.transaction() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO ocr_pages(content_hash, {_COLUMNS}, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (content_hash, stored.page, stored.engine, page.rotation, page.width,
                 page.height, page.confidence, _lines_json(page), stored.seconds,
                 time.time()))

    def ocr_pages(self, content_hash: str, engine: str | None = None) -> dict[int, RecognisedPage]:
        """The pages saved for a file's content (of ``engine``, or of any engine: the
        preview shows the boxes it has), by page number."""
        sql = f"SELECT {_COLUMNS} FROM ocr_pages WHERE content_hash = ?"
        args: list[object] = [content_hash]
        if engine is not None:
            sql += " AND engine = ?"
            args.append(engine)
        with self.reading() as conn:
            rows = conn.execute(sql + " ORDER BY page, created_at", args).fetchall()
        return {p.page: p for p in map(_page_from_row, rows)}  # the newest one wins

    def ocr_summaries(self, content_hashes: Iterable[str],
                      low_below: float) -> dict[str, OcrSummary]:
        """Per content hash that has OCR'd pages: how many, their mean confidence, and
        which were below ``low_below``."""
        with self.reading() as conn:
            return summaries(conn, content_hashes, low_below)

    def ocr_page_of(self, path: str, page: int) -> RecognisedPage | None:
        """What OCR read on ``page`` of the document at ``path`` as it was indexed (its
        content hash then), or None."""
        with self.reading() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM ocr_pages WHERE page = ? AND content_hash IN "
                "(SELECT content_hash FROM documents WHERE path = ?) "
                "ORDER BY created_at DESC LIMIT 1", (page, path)).fetchone()
        return None if row is None else _page_from_row(row)

    def forget_unused_ocr(self) -> int:
        """Drop the pages of content no document has any more; return how many."""
        with self.transaction() as conn:
            cur = conn.execute(
                "DELETE FROM ocr_pages WHERE content_hash NOT IN "
                "(SELECT content_hash FROM documents WHERE content_hash IS NOT NULL)")
            return cur.rowcount
