"""``Database``: the library's source of truth, one SQLite file.

It holds collections, documents, chunks, an FTS5 keyword index and every vector; the
hnswlib file (vector_index.py) is only a cache rebuilt from here. The API is split by
concept into mixins (collections_repo, documents_repo, chunks_repo, vectors_repo,
shingles_repo, status_repo, ocr_repo) over the connection/transaction core in connections.py.
"""

from __future__ import annotations

from pathlib import Path

from desktop_app.core.store import fts
from desktop_app.core.store.chunks_repo import ChunksRepo
from desktop_app.core.store.collections_repo import CollectionsRepo
from desktop_app.core.store.documents_repo import DocumentsRepo
from desktop_app.core.store.migrations import MIGRATIONS, migrate, schema_version
from desktop_app.core.store.ocr_repo import OcrRepo
from desktop_app.core.store.shingles_repo import ShinglesRepo, refingerprint_if_needed
from desktop_app.core.store.status_repo import StatusRepo
from desktop_app.core.store.vectors_repo import VectorsRepo


class Database(CollectionsRepo, DocumentsRepo, ChunksRepo, VectorsRepo, ShinglesRepo,
               StatusRepo, OcrRepo):
    """Open (creating and migrating if needed) the library database at ``path``.

    Thread-safe: call it from any worker thread. Use as a context manager or ``close()``.
    """

    def __init__(self, path: Path, *, writer: bool = True) -> None:
        """``writer=False`` (a search beside the window's writer, ``kura search``): only
        a schema this version cannot read at all is migrated; the keyword index's
        re-segmentation and the text fingerprints are left to the writer, so a read of a
        current library writes nothing."""
        super().__init__(path)
        try:
            with self._write_lock:
                # A reader of a current library does not even take SQLite's write lock
                # (BEGIN IMMEDIATE would wait behind the writer's transaction).
                if writer or schema_version(self._writer) != len(MIGRATIONS):
                    migrate(self._writer)
            if writer:
                with self.transaction() as conn:
                    fts.resegment_if_needed(conn)
                    refingerprint_if_needed(conn)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        with self.reading() as conn:
            return schema_version(conn)
