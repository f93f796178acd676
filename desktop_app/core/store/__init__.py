"""Kura's library store.

SQLite (``Database``) is the source of truth for collections, documents, chunks, the
keyword index and every vector. ``VectorIndex`` is an hnswlib cache of those vectors,
verified against SQLite on open and rebuilt from it whenever it can't be trusted.
"""

from desktop_app.core.store.database import Database
from desktop_app.core.store.errors import (
    CollectionExistsError,
    NotFoundError,
    SchemaTooNewError,
    StoreError,
    VectorMismatchError,
)
from desktop_app.core.store.keywords import fts_query, segment
from desktop_app.core.store.rows import (
    Chunk,
    Collection,
    CollectionSummary,
    Document,
    DocumentInfo,
    DocumentStatus,
    NewChunk,
    PendingChunk,
    SkippedFile,
    StoreStatus,
    VectorBatch,
    VectorStats,
)
from desktop_app.core.store.vector_index import OpenReport, VectorIndex

__all__ = [
    "Chunk",
    "Collection",
    "CollectionExistsError",
    "CollectionSummary",
    "Database",
    "Document",
    "DocumentInfo",
    "DocumentStatus",
    "NewChunk",
    "NotFoundError",
    "OpenReport",
    "PendingChunk",
    "SchemaTooNewError",
    "SkippedFile",
    "StoreError",
    "StoreStatus",
    "VectorBatch",
    "VectorIndex",
    "VectorMismatchError",
    "VectorStats",
    "fts_query",
    "segment",
]
