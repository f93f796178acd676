"""The typed rows the store hands out and takes in (plain, immutable dataclasses)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Literal

import numpy as np

DocumentStatus = Literal["parsed", "embedded", "skipped"]
STATUSES: tuple[DocumentStatus, ...] = ("parsed", "embedded", "skipped")


@dataclass(frozen=True, slots=True)
class Collection:
    id: int
    name: str
    created_at: float  # unix seconds


@dataclass(frozen=True, slots=True)
class CollectionSummary:
    id: int
    name: str
    created_at: float
    folders: tuple[str, ...]
    documents: int
    chunks: int
    by_status: Mapping[str, int]  # every status in STATUSES, zero included


@dataclass(frozen=True, slots=True)
class Document:
    id: int
    collection_id: int
    path: str
    size: int
    mtime_ns: int
    content_hash: str | None  # None for skipped files
    kind: str | None
    title: str | None
    status: DocumentStatus
    skip_reason: str | None
    skip_message: str | None
    updated_at: float
    read_at: float | None  # last read (parsed, re-hashed or skipped); unix seconds
    embedded_at: float | None  # when it became 'embedded'; None while it is not


@dataclass(frozen=True, slots=True)
class NewChunk:
    """A chunk as the pipeline produces it; its ordinal is its place in the list."""

    text: str
    embed_key: str  # sha256 of the exact prompted text the embedder will see
    title: str | None = None
    location: str | None = None  # e.g. "Sheet1!A1:D20" or a heading path
    page: int | None = None
    start_char: int | None = None
    end_char: int | None = None


@dataclass(frozen=True, slots=True)
class Chunk:
    """A stored chunk with enough of its document to show and cite it."""

    id: int
    document_id: int
    collection_id: int
    path: str
    ordinal: int
    text: str
    title: str | None
    location: str | None
    page: int | None
    start_char: int | None
    end_char: int | None
    embed_key: str


@dataclass(frozen=True, slots=True)
class PendingChunk:
    """Enough to rebuild the prompted text of an embed_key that has no vector yet."""

    embed_key: str
    text: str
    title: str | None


@dataclass(frozen=True, slots=True)
class VectorBatch:
    """Vector rows as arrays, the shape hnswlib wants: ``ids`` int64 (n,), ``vectors``
    float32 (n, full_dim)."""

    ids: np.ndarray
    vectors: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, slots=True)
class VectorStats:
    """How many vectors exist and a digest of exactly which ids (order-independent)."""

    count: int
    checksum: str


@dataclass(frozen=True, slots=True)
class SkippedFile:
    collection_id: int
    path: str
    reason: str
    message: str | None


@dataclass(frozen=True, slots=True)
class OcrSummary:
    """What OCR did for one document: for ``kura status --documents``."""

    pages: int
    confidence: float  # mean over its pages, weighted by their text's length
    low_pages: tuple[int, ...]  # pages left out of the index: OCR was not sure of them


@dataclass(frozen=True)
class DocumentInfo:
    """One document as ``kura status --documents`` and the Documents dialog list it."""

    collection: str
    path: str
    folder: str | None  # the collection's folder it was found in (None: not in one now)
    state: DocumentStatus
    reason: str | None  # skip reason code (SkipReason), only when skipped
    message: str | None  # the sentence that says why it was skipped
    chunks: int
    read_at: float | None  # unix seconds
    embedded_at: float | None
    ocr: OcrSummary | None = None  # None: no page of it was read by OCR

    @property
    def relative_path(self) -> str:
        """The path inside its folder (the file's name if the folder is the file)."""
        if self.folder is None:
            return self.path
        path = PurePath(self.path)
        if self.path == self.folder:
            return path.name
        try:
            return str(path.relative_to(self.folder))
        except ValueError:  # the other separator on Windows
            return self.path


@dataclass(frozen=True, slots=True)
class StoreStatus:
    collections: list[CollectionSummary]
    documents: Mapping[str, int]  # per status
    chunks: int
    vectors: int
    unembedded_keys: int  # distinct embed_keys still waiting for a vector
    skipped: list[SkippedFile] = field(default_factory=list)
