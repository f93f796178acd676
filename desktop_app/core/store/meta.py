"""The ``meta`` table: a handful of small settings that must live with the data."""

from __future__ import annotations

import sqlite3

MODEL_ID = "model_id"  # the embedder every stored vector came from
VECTOR_DIM = "vector_dim"  # their length (the full, untruncated dimension)
FTS_SEGMENTER = "fts_segmenter"  # keywords.SEGMENTER_VERSION the FTS rows were made with


def get(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def put(conn: sqlite3.Connection, key: str, value: str | None) -> None:
    """Set ``key``; None deletes it."""
    if value is None:
        conn.execute("DELETE FROM meta WHERE key = ?", (key,))
    else:
        conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
