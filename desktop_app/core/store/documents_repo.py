"""Documents and their chunks: the pipeline's write path."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence

from desktop_app.core.store import fts
from desktop_app.core.store.connections import StoreBase
from desktop_app.core.store.ocr_repo import summaries as ocr_summaries
from desktop_app.core.store.rows import (
    STATUSES,
    Document,
    DocumentInfo,
    DocumentStatus,
    NewChunk,
)
from desktop_app.core.store.sqlutil import is_under, now, path_text

_DOC_COLUMNS = (
    "id, collection_id, path, size, mtime_ns, content_hash, kind, title, status, "
    "skip_reason, skip_message, updated_at, read_at, embedded_at"
)


def document_from_row(row: Sequence[object]) -> Document:
    return Document(*row)  # type: ignore[arg-type]  # columns are in field order


def _upsert(
    conn: sqlite3.Connection,
    collection_id: int,
    path: str,
    values: dict[str, object],
) -> int:
    """Insert or update the (collection_id, path) row, keeping its id; return the id."""
    columns = ["collection_id", "path", *values]
    updates = ", ".join(f"{c} = excluded.{c}" for c in values)
    conn.execute(
        f"INSERT INTO documents({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT(collection_id, path) DO UPDATE SET {updates}",
        (collection_id, path, *values.values()),
    )
    row = conn.execute(
        "SELECT id FROM documents WHERE collection_id = ? AND path = ?", (collection_id, path)
    ).fetchone()
    return int(row[0])


def refresh_embedded(conn: sqlite3.Connection, document_ids: Iterable[int]) -> None:
    """Flip 'parsed' documents whose every chunk now has a vector to 'embedded'.

    A long document is embedded in reading order, a batch at a time, and asked after
    every batch: looking for a chunk still without a vector from its *last* chunk
    finds one at once until the document is done, where a scan from the first chunk
    would walk the whole embedded part each time (quadratic in the document)."""
    stamp = now()
    for doc_id in document_ids:
        waiting = conn.execute(
            "SELECT 1 FROM chunks c WHERE c.document_id = ? AND NOT EXISTS "
            "(SELECT 1 FROM vectors v WHERE v.embed_key = c.embed_key) "
            "ORDER BY c.ordinal DESC LIMIT 1",
            (doc_id,),
        ).fetchone()
        if waiting is None:
            conn.execute(
                "UPDATE documents SET status = 'embedded', updated_at = ?1, embedded_at = ?1 "
                "WHERE id = ?2 AND status = 'parsed'",
                (stamp, doc_id),
            )


def _folder_of(path: str, folders: Sequence[str]) -> str | None:
    """The innermost of ``folders`` that holds ``path`` (or is it)."""
    holding = [f for f in folders if is_under(path, f)]
    return max(holding, key=len) if holding else None


class DocumentsRepo(StoreBase):
    def get_document(self, collection_id: int, path: str | os.PathLike[str]) -> Document | None:
        with self.reading() as conn:
            row = conn.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents WHERE collection_id = ? AND path = ?",
                (collection_id, path_text(path)),
            ).fetchone()
        return None if row is None else document_from_row(row)

    def get_document_by_id(self, document_id: int) -> Document | None:
        with self.reading() as conn:
            row = conn.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents WHERE id = ?", (document_id,)
            ).fetchone()
        return None if row is None else document_from_row(row)

    def documents(
        self, collection_id: int | None = None, status: DocumentStatus | None = None
    ) -> list[Document]:
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        sql = f"SELECT {_DOC_COLUMNS} FROM documents WHERE 1"
        args: list[object] = []
        if collection_id is not None:
            sql += " AND collection_id = ?"
            args.append(collection_id)
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        with self.reading() as conn:
            rows = conn.execute(sql + " ORDER BY collection_id, path", args).fetchall()
        return [document_from_row(r) for r in rows]

    def document_infos(self, collection_id: int | None = None,
                       ocr_low_below: float = 0.0) -> list[DocumentInfo]:
        """Every document (of one collection, or all) with its collection's name, its
        state, chunk count and times, and what OCR did (its pages under ``ocr_low_below``
        listed), by collection name then path (one snapshot)."""
        sql = (
            "SELECT c.name, d.path, d.status, d.skip_reason, d.skip_message, "
            "(SELECT count(*) FROM chunks ch WHERE ch.document_id = d.id), "
            "d.read_at, d.embedded_at, d.collection_id, d.content_hash "
            "FROM documents d JOIN collections c ON c.id = d.collection_id"
        )
        args: list[object] = []
        if collection_id is not None:
            sql += " WHERE d.collection_id = ?"
            args.append(collection_id)
        with self.reading() as conn:
            rows = conn.execute(sql + " ORDER BY c.name, c.id, d.path", args).fetchall()
            folders: dict[int, list[str]] = {}
            for cid, folder in conn.execute("SELECT collection_id, path FROM collection_folders"):
                folders.setdefault(cid, []).append(folder)
            ocr = ocr_summaries(conn, (row[-1] for row in rows if row[-1]), ocr_low_below)
        return [
            DocumentInfo(collection=name, path=path, folder=_folder_of(path, folders.get(cid, [])),
                         state=state, reason=reason, message=message, chunks=n,
                         read_at=read_at, embedded_at=embedded_at,
                         ocr=ocr.get(content_hash) if content_hash else None)
            for name, path, state, reason, message, n, read_at, embedded_at, cid, content_hash
            in rows
        ]

    def replace_document(
        self,
        collection_id: int,
        path: str | os.PathLike[str],
        size: int,
        mtime_ns: int,
        content_hash: str,
        kind: str | None,
        title: str | None,
        chunks: Sequence[NewChunk],
    ) -> int:
        """Store a freshly parsed document: its old chunks (and their FTS rows) are
        replaced by ``chunks`` in one transaction. Returns the document id (kept if the
        document existed). Status becomes 'embedded' at once if every chunk's embed_key
        already has a vector (e.g. a copy of a file seen before), else 'parsed'.
        Vectors no chunk uses any more stay until ``delete_orphan_vectors``."""
        with self.transaction() as conn:
            stamp = now()
            doc_id = _upsert(conn, collection_id, path_text(path), {
                "size": size, "mtime_ns": mtime_ns, "content_hash": content_hash,
                "kind": kind, "title": title, "status": "parsed",
                "skip_reason": None, "skip_message": None, "updated_at": stamp,
                "read_at": stamp, "embedded_at": None,
            })
            conn.execute("DELETE FROM chunks WHERE document_id = ?", (doc_id,))
            fts_rows: list[tuple[int, str, str | None]] = []
            for ordinal, ch in enumerate(chunks):
                cur = conn.execute(
                    "INSERT INTO chunks(document_id, ordinal, text, title, location, page, "
                    "start_char, end_char, embed_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (doc_id, ordinal, ch.text, ch.title, ch.location, ch.page,
                     ch.start_char, ch.end_char, ch.embed_key),
                )
                assert cur.lastrowid is not None
                fts_rows.append((cur.lastrowid, ch.text, ch.title))
            fts.index_chunks(conn, fts_rows)
            refresh_embedded(conn, [doc_id])
        return doc_id

    def upsert_skipped(
        self,
        collection_id: int,
        path: str | os.PathLike[str],
        size: int,
        mtime_ns: int,
        reason: str,
        message: str | None,
    ) -> int:
        """Record a file that could not be read (and drop any chunks it had)."""
        if not reason:
            raise ValueError("a skipped document needs a reason")
        with self.transaction() as conn:
            stamp = now()
            doc_id = _upsert(conn, collection_id, path_text(path), {
                "size": size, "mtime_ns": mtime_ns, "content_hash": None, "kind": None,
                "title": None, "status": "skipped", "skip_reason": reason,
                "skip_message": message, "updated_at": stamp, "read_at": stamp,
                "embedded_at": None,
            })
            conn.execute("DELETE FROM chunks WHERE document_id = ?", (doc_id,))
        return doc_id

    def touch_document(self, document_id: int, size: int, mtime_ns: int) -> bool:
        """The file's metadata changed but its content hash did not: keep the chunks
        (it was read again to hash it, so ``read_at`` moves)."""
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE documents SET size = ?1, mtime_ns = ?2, updated_at = ?3, read_at = ?3 "
                "WHERE id = ?4",
                (size, mtime_ns, now(), document_id),
            )
        return cur.rowcount > 0

    def delete_document(self, document_id: int) -> bool:
        with self.transaction() as conn:
            cur = conn.execute("DELETE FROM documents WHERE id = ?", (document_id,))
        return cur.rowcount > 0

    def delete_missing(
        self,
        collection_id: int,
        folder: str | os.PathLike[str],
        present_paths: Iterable[str | os.PathLike[str]],
    ) -> list[str]:
        """Delete the collection's documents under ``folder`` that are not in
        ``present_paths`` (files gone since the last scan). Returns their paths."""
        present = {path_text(p) for p in present_paths}
        base = path_text(folder)
        with self.transaction() as conn:
            rows = conn.execute(
                "SELECT id, path FROM documents WHERE collection_id = ?", (collection_id,)
            ).fetchall()
            gone = [(i, p) for i, p in rows if is_under(p, base) and p not in present]
            conn.executemany("DELETE FROM documents WHERE id = ?", [(i,) for i, _ in gone])
        return sorted(p for _, p in gone)
