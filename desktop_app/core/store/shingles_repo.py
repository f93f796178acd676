"""Shingle samples per chunk: how a new chunk finds the stored text it repeats.

Table ``chunk_shingles(chunk_id, hash)`` (migration v3) holds the sampled shingle hashes
(``shingles.sample``) of one chunk per embed_key: the one whose text the vector stands
for. A chunk that shares another chunk's vector (an exact copy, or a near-copy that
``desktop_app.core.duplicates`` gave that chunk's embed_key) adds no rows, so a text that
stands in ten files is posted once, and a lookup stays short however often it repeats.

Two B-trees: the table is keyed by (chunk_id, hash), so the rows of a chunk go with it
(``ON DELETE CASCADE``, on every path that deletes chunks: a re-read, a deleted file, a
removed collection), and the index on ``hash`` answers "which chunks post this shingle".
Measured on a real 42 MB documentation folder (12.9 MB of chunk text, 14,644 chunks, a
fifth of them copies): 17,000 rows and 0.61 MB per MB of chunk text (36 bytes a row,
both B-trees), less than the vectors its copies no longer need (3 KB each).

The functions take a connection so that ``duplicates`` can call them inside the write
transaction that stores the document; ``ShinglesRepo`` wraps the read-only ones.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from desktop_app.core.store import meta
from desktop_app.core.store.connections import StoreBase
from desktop_app.core.store.shingles import FINGERPRINT_VERSION, sample, shingle_hashes
from desktop_app.core.store.sqlutil import batched, marks

# meta key: the shingles.FINGERPRINT_VERSION the stored samples were made with.
META_FINGERPRINT = "shingle_fingerprint"
_BATCH = 500


def post_samples(conn: sqlite3.Connection, samples: Iterable[tuple[int, np.ndarray]]) -> int:
    """Store ``(chunk_id, sampled hashes)`` pairs; return the number of rows written."""
    rows = [(chunk_id, int(h)) for chunk_id, hashes in samples for h in hashes.tolist()]
    conn.executemany(
        "INSERT OR IGNORE INTO chunk_shingles(chunk_id, hash) VALUES (?, ?)", rows
    )
    return len(rows)


def chunks_posting(
    conn: sqlite3.Connection, hashes: Iterable[int], max_postings: int
) -> dict[int, list[int]]:
    """For each hash, the ids of the chunks that post it, oldest first (``[]``: none).

    A hash posted by more than ``max_postings`` chunks is left out of the result: a
    phrase that common ("for more information see") says nothing about which text this
    is, and skipping it keeps the cost of a lookup bounded whatever the library's size.
    """
    out: dict[int, list[int]] = {}
    seen: set[int] = set()
    query = "SELECT chunk_id FROM chunk_shingles WHERE hash = ? ORDER BY chunk_id LIMIT ?"
    for h in hashes:
        if h in seen:
            continue
        seen.add(h)
        ids = [r[0] for r in conn.execute(query, (h, max_postings + 1))]
        if len(ids) <= max_postings:
            out[h] = ids
    return out


def stored_chunks(
    conn: sqlite3.Connection, chunk_ids: Iterable[int]
) -> dict[int, tuple[int, str, str]]:
    """``{chunk_id: (document_id, embed_key, text)}`` of the chunks that still exist."""
    ids = sorted(set(chunk_ids))
    out: dict[int, tuple[int, str, str]] = {}
    for part in batched(ids):
        for cid, doc_id, key, text in conn.execute(
            "SELECT id, document_id, embed_key, text FROM chunks "
            f"WHERE id IN ({marks(len(part))})", part,
        ):
            out[cid] = (doc_id, key, text)
    return out


def document_id_of(conn: sqlite3.Connection, collection_id: int, path: str) -> int | None:
    row = conn.execute(
        "SELECT id FROM documents WHERE collection_id = ? AND path = ?", (collection_id, path)
    ).fetchone()
    return None if row is None else int(row[0])


def keys_in_use(conn: sqlite3.Connection, keys: Iterable[str]) -> set[str]:
    """The embed_keys that some stored chunk already has (its vector exists or will)."""
    query = "SELECT 1 FROM chunks WHERE embed_key = ? LIMIT 1"
    return {key for key in dict.fromkeys(keys) if conn.execute(query, (key,)).fetchone()}


def fingerprint_document(
    conn: sqlite3.Connection, document_id: int, samples: Sequence[np.ndarray] | None = None
) -> int:
    """Post the samples of the document's chunks whose embed_key no other chunk posts
    yet (once per key: the rest share the vector whose text is already posted).
    ``samples``, indexed by ordinal, saves hashing the texts again. Returns the rows
    written.

    "No other chunk posts it", not "first chunk with the key": when the original is
    read again its chunks are new rows, while the copies that share their vectors post
    nothing; the re-read chunks must take the posting over, or a third copy would find
    nothing to share.
    """
    rows = conn.execute(
        """
        SELECT c.id, c.ordinal, c.text, c.embed_key FROM chunks c
        WHERE c.document_id = ? AND NOT EXISTS (
            SELECT 1 FROM chunks o JOIN chunk_shingles s ON s.chunk_id = o.id
            WHERE o.embed_key = c.embed_key AND o.id != c.id)
        ORDER BY c.ordinal
        """,
        (document_id,),
    ).fetchall()
    first = {key: cid for cid, _, _, key in reversed(rows)}  # one chunk per key
    return post_samples(conn, (
        (cid, samples[ordinal] if samples is not None else sample(shingle_hashes(text)))
        for cid, ordinal, text, key in rows if first[key] == cid
    ))


def refingerprint_if_needed(conn: sqlite3.Connection) -> bool:
    """Fingerprint every stored chunk that owns its embed_key if the samples were made
    by another ``FINGERPRINT_VERSION`` (or never: a library from before migration v3).

    Must run inside a write transaction. Returns True if it rebuilt. About 1.5 s per
    10,000 chunks (hashing is vectorised; the inserts are most of it).
    """
    if meta.get(conn, META_FINGERPRINT) == FINGERPRINT_VERSION:
        return False
    conn.execute("DELETE FROM chunk_shingles")
    last = 0
    while True:
        rows = conn.execute(
            "SELECT c.id, c.text FROM chunks c WHERE c.id > ? AND c.id = "
            "(SELECT min(o.id) FROM chunks o WHERE o.embed_key = c.embed_key) "
            "ORDER BY c.id LIMIT ?",
            (last, _BATCH),
        ).fetchall()
        if not rows:
            break
        post_samples(conn, ((cid, sample(shingle_hashes(text))) for cid, text in rows))
        last = rows[-1][0]
    meta.put(conn, META_FINGERPRINT, FINGERPRINT_VERSION)
    return True


@dataclass(frozen=True, slots=True)
class SharedDocument:
    """Another document that some chunks of a document share vectors with."""

    document_id: int
    collection_id: int
    path: str
    chunks: int  # how many chunks of the first document share a vector with this one


class ShinglesRepo(StoreBase):
    def documents_sharing_vectors(self, document_id: int) -> list[SharedDocument]:
        """The other documents whose chunks use the same vectors as some chunks of
        ``document_id`` (exact copies and near-copies alike), most shared first."""
        with self.reading() as conn:
            rows = conn.execute(
                """
                SELECT d.id, d.collection_id, d.path, count(DISTINCT c.id) AS n
                FROM chunks c
                JOIN chunks o ON o.embed_key = c.embed_key AND o.document_id != c.document_id
                JOIN documents d ON d.id = o.document_id
                WHERE c.document_id = ?
                GROUP BY d.id ORDER BY n DESC, d.path
                """,
                (document_id,),
            ).fetchall()
        return [SharedDocument(*row) for row in rows]

    def chunks_sharing_vectors(self, document_id: int) -> tuple[int, int]:
        """(the document's chunks, how many of them share a vector with another document)."""
        with self.reading() as conn:
            total, shared = conn.execute(
                """
                SELECT count(*), coalesce(sum(EXISTS (
                    SELECT 1 FROM chunks o
                    WHERE o.embed_key = c.embed_key AND o.document_id != c.document_id)), 0)
                FROM chunks c WHERE c.document_id = ?
                """,
                (document_id,),
            ).fetchone()
        return int(total), int(shared)

    def shingle_rows(self) -> int:
        """How many sampled shingles are stored (its size on disk is ~36 bytes a row)."""
        with self.reading() as conn:
            return int(conn.execute("SELECT count(*) FROM chunk_shingles").fetchone()[0])

    def fingerprinted_chunks(self, chunk_ids: Sequence[int] | None = None) -> set[int]:
        """The chunks (of ``chunk_ids``, or all) whose samples are stored."""
        with self.reading() as conn:
            if chunk_ids is None:
                return {r[0] for r in conn.execute("SELECT DISTINCT chunk_id FROM chunk_shingles")}
            query = "SELECT 1 FROM chunk_shingles WHERE chunk_id = ? LIMIT 1"
            return {c for c in chunk_ids if conn.execute(query, (c,)).fetchone()}
