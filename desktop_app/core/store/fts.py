"""Keeping the FTS5 table in step with ``chunks``.

Deletes need nothing from Python: a trigger on ``chunks`` removes the FTS row by rowid
(see migrations). Inserts do, because the indexed text is ``keywords.segment`` of the
chunk, computed here; callers run them in the transaction that inserts the chunks.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from desktop_app.core.store import meta
from desktop_app.core.store.keywords import SEGMENTER_VERSION, segment

_BATCH = 2000


def index_chunks(conn: sqlite3.Connection, rows: Iterable[tuple[int, str, str | None]]) -> None:
    """Add FTS rows for ``(chunk_id, text, title)``."""
    conn.executemany(
        "INSERT INTO chunk_fts(rowid, text, title) VALUES (?, ?, ?)",
        ((chunk_id, segment(text), segment(title or "")) for chunk_id, text, title in rows),
    )


def resegment_if_needed(conn: sqlite3.Connection) -> bool:
    """Rebuild every FTS row if they were made by another segmenter version.

    Must run inside a write transaction. Returns True if it rebuilt.
    """
    if meta.get(conn, meta.FTS_SEGMENTER) == SEGMENTER_VERSION:
        return False
    conn.execute("DELETE FROM chunk_fts")
    last = 0
    while True:
        rows = conn.execute(
            "SELECT id, text, title FROM chunks WHERE id > ? ORDER BY id LIMIT ?", (last, _BATCH)
        ).fetchall()
        if not rows:
            break
        index_chunks(conn, rows)
        last = rows[-1][0]
    meta.put(conn, meta.FTS_SEGMENTER, SEGMENTER_VERSION)
    return True
