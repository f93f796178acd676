"""Vectors: the embedder's output, keyed by embed_key and shared by identical chunks.

SQLite is the source of truth for every vector; the hnswlib file is a cache of these
rows (see vector_index.py). Ids come from AUTOINCREMENT, so they only ever grow and are
never reused -- a label in a stale index can't silently mean a different vector.

Invariant kept here: all stored vectors come from one model and have one length
(recorded in ``meta``). Switching models means ``reset_vectors()`` and re-embedding.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from desktop_app.core.store import meta
from desktop_app.core.store.connections import StoreBase
from desktop_app.core.store.documents_repo import refresh_embedded
from desktop_app.core.store.errors import VectorMismatchError
from desktop_app.core.store.rows import PendingChunk, VectorBatch, VectorStats
from desktop_app.core.store.sqlutil import batched, marks, now
from desktop_app.core.store.vector_codec import from_blobs, id_stats, to_blob


def _full_dim(conn: sqlite3.Connection) -> int:
    value = meta.get(conn, meta.VECTOR_DIM)
    return int(value) if value is not None else 0


@dataclass(frozen=True, slots=True)
class PendingDocument:
    """A document waiting for vectors, with what the embedding order weighs."""

    id: int
    mtime_ns: int  # when the file was last modified
    chunks: int  # its length in chunks


class VectorsRepo(StoreBase):
    def pending_documents(self) -> list[PendingDocument]:
        """Every document waiting for vectors ('parsed'), with its length: where an
        embedding pass starts (``EmbedQueue``). One query, linear in the library."""
        with self.reading() as conn:
            rows = conn.execute(
                "SELECT d.id, d.mtime_ns, "
                "(SELECT count(*) FROM chunks c WHERE c.document_id = d.id) "
                "FROM documents d WHERE d.status = 'parsed' ORDER BY d.id"
            ).fetchall()
        return [PendingDocument(*row) for row in rows]

    def pending_chunks(
        self, document_id: int, after_ordinal: int = -1, limit: int = 256
    ) -> list[tuple[int, PendingChunk]]:
        """The document's chunks after ``after_ordinal`` whose embed_key has no vector
        yet, in reading order, as ``(ordinal, chunk)``. Passing the last ordinal back in
        reads each chunk once however many batches a long document takes: that is
        what keeps an embedding pass linear (fewer than ``limit`` back means done)."""
        if limit <= 0:
            return []
        with self.reading() as conn:
            rows = conn.execute(
                """
                SELECT c.ordinal, c.embed_key, c.text, c.title FROM chunks c
                WHERE c.document_id = ? AND c.ordinal > ?
                  AND NOT EXISTS (SELECT 1 FROM vectors v WHERE v.embed_key = c.embed_key)
                ORDER BY c.ordinal LIMIT ?
                """,
                (document_id, after_ordinal, limit),
            ).fetchall()
        return [(ordinal, PendingChunk(key, text, title)) for ordinal, key, text, title in rows]

    def keys_without_vectors(self, embed_keys: Iterable[str]) -> set[str]:
        """Those of ``embed_keys`` that have no vector yet."""
        keys = sorted(set(embed_keys))
        have: set[str] = set()
        with self.reading() as conn:
            for part in batched(keys):
                have.update(r[0] for r in conn.execute(
                    f"SELECT embed_key FROM vectors WHERE embed_key IN ({marks(len(part))})",
                    part,
                ))
        return set(keys) - have

    def pending_embed_keys(self, limit: int = 256) -> list[PendingChunk]:
        """The first ``limit`` chunks whose embed_key has no vector yet, one per
        embed_key, oldest documents (lowest id) first and in reading order within a
        document. Each call starts from the first document again: for one-off use and
        tests; a whole embedding pass goes through ``EmbedQueue``, which does not."""
        out: list[PendingChunk] = []
        seen: set[str] = set()
        if limit <= 0:
            return out
        with self.reading() as conn:
            cur = conn.execute(
                """
                SELECT c.embed_key, c.text, c.title
                FROM documents d JOIN chunks c ON c.document_id = d.id
                WHERE d.status = 'parsed'
                  AND NOT EXISTS (SELECT 1 FROM vectors v WHERE v.embed_key = c.embed_key)
                ORDER BY d.id, c.ordinal
                """
            )
            try:
                for key, text, title in cur:
                    if key not in seen:
                        seen.add(key)
                        out.append(PendingChunk(key, text, title))
                        if len(out) >= limit:
                            break
            finally:
                cur.close()
        return out

    def add_vectors(
        self, model_id: str, items: Sequence[tuple[str, ArrayLike]]
    ) -> dict[str, int]:
        """Store vectors (normalized to unit length) for embed_keys and, in the same
        transaction, flip every document whose chunks are now all embedded.

        Keys that already have a vector are left alone. Returns ``{embed_key: id}`` of
        the rows inserted: those are what the vector index must ``add``.
        """
        if not model_id:
            raise ValueError("model_id is required")
        blobs = [(key, to_blob(vec)) for key, vec in items]  # validate before locking
        dims = {len(blob) // 4 for _, blob in blobs}
        if len(dims) > 1:
            raise VectorMismatchError(f"vectors of different lengths in one call: {dims}")
        inserted: dict[str, int] = {}
        if not blobs:
            return inserted
        dim = dims.pop()
        with self.transaction() as conn:
            stored_model = meta.get(conn, meta.MODEL_ID)
            stored_dim = _full_dim(conn)
            has_vectors = conn.execute("SELECT 1 FROM vectors LIMIT 1").fetchone() is not None
            if has_vectors and (stored_model != model_id or stored_dim != dim):
                raise VectorMismatchError(
                    f"the library holds {stored_dim}-d vectors from {stored_model!r}; "
                    f"got {dim}-d from {model_id!r} (reset_vectors() first to switch models)"
                )
            meta.put(conn, meta.MODEL_ID, model_id)
            meta.put(conn, meta.VECTOR_DIM, str(dim))
            for key, blob in blobs:
                cur = conn.execute(
                    "INSERT OR IGNORE INTO vectors(embed_key, model_id, vector) VALUES (?, ?, ?)",
                    (key, model_id, blob),
                )
                if cur.rowcount == 1 and cur.lastrowid is not None:
                    inserted[key] = cur.lastrowid
            keys = list({key for key, _ in blobs})
            doc_ids: set[int] = set()
            for part in batched(keys):
                # CROSS JOIN keeps chunks the outer loop, found by embed_key: left to
                # itself the planner may walk every chunk of the (few) 'parsed'
                # documents instead, for every batch: quadratic in a long document.
                doc_ids.update(r[0] for r in conn.execute(
                    "SELECT DISTINCT c.document_id FROM chunks c CROSS JOIN documents d "
                    f"ON d.id = c.document_id WHERE d.status = 'parsed' "
                    f"AND c.embed_key IN ({marks(len(part))})",
                    part,
                ))
            refresh_embedded(conn, sorted(doc_ids))
        return inserted

    def vector_model_id(self) -> str | None:
        with self.reading() as conn:
            return meta.get(conn, meta.MODEL_ID)

    def vector_ids(self) -> np.ndarray:
        """Every vector id, ascending, as int64."""
        with self.reading() as conn:
            cur = conn.execute("SELECT id FROM vectors ORDER BY id")
            ids = np.fromiter((r[0] for r in cur), dtype=np.int64)
        return ids

    def vector_stats(self) -> VectorStats:
        """(count, checksum of the id set) -- compared with the index's sidecar."""
        return id_stats(self.vector_ids())

    def vector_rows(self, after_id: int = 0, limit: int = 1024) -> VectorBatch:
        """The next ``limit`` vectors with id > ``after_id``, ascending: stream them for an
        index rebuild by passing the last id back in. An empty batch means done."""
        with self.reading() as conn:
            dim = _full_dim(conn)
            rows = conn.execute(
                "SELECT id, vector FROM vectors WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        return VectorBatch(ids, from_blobs([r[1] for r in rows], dim))

    def vector_batch_for_ids(self, ids: Iterable[int]) -> VectorBatch:
        """The vectors that exist among ``ids``, in the order asked (missing ones are
        left out -- they may have been deleted since the caller saw them)."""
        wanted = [int(i) for i in ids]
        found: dict[int, bytes] = {}
        with self.reading() as conn:
            dim = _full_dim(conn)
            for part in batched(wanted):
                found.update(conn.execute(
                    f"SELECT id, vector FROM vectors WHERE id IN ({marks(len(part))})", part
                ).fetchall())
        present = [i for i in dict.fromkeys(wanted) if i in found]
        return VectorBatch(
            np.array(present, dtype=np.int64), from_blobs([found[i] for i in present], dim)
        )

    def vectors_for_ids(self, ids: Sequence[int]) -> np.ndarray:
        """Full vectors for rescoring, one row per id in order; KeyError if one is gone."""
        batch = self.vector_batch_for_ids(ids)
        index = {int(i): row for row, i in enumerate(batch.ids)}
        missing = [int(i) for i in ids if int(i) not in index]
        if missing:
            raise KeyError(f"no vectors with ids {missing[:10]}")
        return batch.vectors[[index[int(i)] for i in ids]]

    def vectors_for_keys(self, embed_keys: Iterable[str]) -> dict[str, np.ndarray]:
        """Full vectors by embed_key (e.g. to score keyword-only hits); keys without a
        vector are absent."""
        keys = sorted(set(embed_keys))
        rows: list[tuple[str, bytes]] = []
        with self.reading() as conn:
            dim = _full_dim(conn)
            for part in batched(keys):
                rows.extend(conn.execute(
                    f"SELECT embed_key, vector FROM vectors WHERE embed_key IN "
                    f"({marks(len(part))})", part,
                ).fetchall())
        vectors = from_blobs([blob for _, blob in rows], dim)
        return {key: vectors[i] for i, (key, _) in enumerate(rows)}

    def delete_orphan_vectors(self) -> list[int]:
        """Delete vectors no chunk uses any more; return their ids so the index can
        ``delete`` them. Call after replacing or deleting documents."""
        with self.transaction() as conn:
            ids = [r[0] for r in conn.execute(
                "SELECT id FROM vectors v WHERE NOT EXISTS "
                "(SELECT 1 FROM chunks c WHERE c.embed_key = v.embed_key) ORDER BY id"
            )]
            for part in batched(ids):
                conn.execute(f"DELETE FROM vectors WHERE id IN ({marks(len(part))})", part)
        return ids

    def reset_vectors(self) -> list[int]:
        """Forget every vector (to switch models): documents go back to 'parsed'.
        Returns the deleted ids."""
        with self.transaction() as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM vectors ORDER BY id")]
            conn.execute("DELETE FROM vectors")
            conn.execute(
                "UPDATE documents SET status = 'parsed', updated_at = ?, embedded_at = NULL "
                "WHERE status = 'embedded' AND EXISTS "
                "(SELECT 1 FROM chunks c WHERE c.document_id = documents.id)",
                (now(),),
            )
            meta.put(conn, meta.MODEL_ID, None)
            meta.put(conn, meta.VECTOR_DIM, None)
        return ids
