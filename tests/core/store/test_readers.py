"""A reader (``Database(writer=False)``: ``kura search`` beside the window) writes
nothing to a current library: not the schema, not the keyword index, not the text
fingerprints."""

from __future__ import annotations

import hashlib
from pathlib import Path

from desktop_app.core.store import Database, NewChunk, meta


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _library(path: Path) -> None:
    with Database(path) as db:
        coll = db.create_collection("Docs")
        db.replace_document(coll, path.parent / "a.md", 10, 1, "h", "markdown", "A", [
            NewChunk(text="reset your password in the portal", embed_key="k1", title="A"),
        ])


def test_a_reader_of_a_current_library_changes_no_byte(tmp_path: Path) -> None:
    path = tmp_path / "library.sqlite3"
    _library(path)
    before = _digest(path)
    with Database(path, writer=False) as db:
        assert db.keyword_search("password", k=5)
    assert _digest(path) == before


def test_a_reader_leaves_stale_keyword_segmentation_to_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "library.sqlite3"
    _library(path)
    with Database(path) as db, db.transaction() as conn:
        meta.put(conn, meta.FTS_SEGMENTER, "an older segmenter")
    with Database(path, writer=False) as db, db.reading() as conn:
        assert meta.get(conn, meta.FTS_SEGMENTER) == "an older segmenter"
    with Database(path) as db, db.reading() as conn:
        assert meta.get(conn, meta.FTS_SEGMENTER) != "an older segmenter"
