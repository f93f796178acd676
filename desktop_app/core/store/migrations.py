"""Numbered schema migrations, tracked in ``PRAGMA user_version``.

Migration N (1-based) turns schema N-1 into schema N. Each one runs in its own
``BEGIN IMMEDIATE`` transaction together with the ``user_version`` bump, so a crash
leaves the database at N-1 or N, never in between; IMMEDIATE also makes a second
process that opens the same file wait instead of migrating twice.

Rules for the future: never edit a migration that has shipped, only append; and use
``conn.execute`` one statement at a time -- ``executescript`` would COMMIT first and break
the one-transaction guarantee.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

from desktop_app.core.store.errors import SchemaTooNewError, StoreError

Migration = Callable[[sqlite3.Connection], None]

_V1 = (
    """
    CREATE TABLE collections (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE CHECK (length(trim(name)) > 0),
        created_at REAL NOT NULL
    )
    """,
    """
    CREATE TABLE collection_folders (
        collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        UNIQUE (collection_id, path)
    )
    """,
    # AUTOINCREMENT on documents, chunks and vectors: an id is never handed out twice,
    # so an id held elsewhere (a hnswlib label, a citation in the GUI) can go stale but
    # can never silently name a different row.
    """
    CREATE TABLE documents (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        content_hash TEXT,
        kind TEXT,
        title TEXT,
        status TEXT NOT NULL CHECK (status IN ('parsed', 'embedded', 'skipped')),
        skip_reason TEXT,
        skip_message TEXT,
        updated_at REAL NOT NULL,
        UNIQUE (collection_id, path),
        CHECK ((status = 'skipped') = (skip_reason IS NOT NULL))
    )
    """,
    # pending_embed_keys walks 'parsed' documents oldest first.
    "CREATE INDEX documents_by_status ON documents(status, id)",
    """
    CREATE TABLE chunks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL CHECK (ordinal >= 0),
        text TEXT NOT NULL,
        title TEXT,
        location TEXT,
        page INTEGER,
        start_char INTEGER,
        end_char INTEGER,
        embed_key TEXT NOT NULL,
        UNIQUE (document_id, ordinal)
    )
    """,
    "CREATE INDEX chunks_by_embed_key ON chunks(embed_key)",
    # No foreign key from chunks to vectors: a vector is shared by every chunk with the
    # same embed_key and exists only after the embedder has run.
    """
    CREATE TABLE vectors (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        embed_key TEXT NOT NULL UNIQUE,
        model_id TEXT NOT NULL,
        vector BLOB NOT NULL
    )
    """,
    # A regular (content-storing) FTS5 table keyed by chunk id, holding the segmented
    # text. Deleting by rowid needs no copy of the old tokens, so the trigger below keeps
    # it in sync on every path -- including ON DELETE CASCADE from documents and
    # collections -- in pure SQL. Contentless/external-content tables would instead need
    # the exact old segmented text for every delete. Inserts are explicit (segmentation
    # is Python) and happen in the same transaction as the chunk inserts.
    """
    CREATE VIRTUAL TABLE chunk_fts USING fts5(
        text, title, tokenize = 'unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER chunks_delete_fts AFTER DELETE ON chunks BEGIN
        DELETE FROM chunk_fts WHERE rowid = old.id;
    END
    """,
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


def _v1_initial(conn: sqlite3.Connection) -> None:
    for statement in _V1:
        conn.execute(statement)


def _v2_document_times(conn: sqlite3.Connection) -> None:
    """When each document was last read and last embedded (``kura status --documents``).

    ``read_at``: the last time Kura read the file (parsed it, hashed it and found it
    unchanged, or tried and skipped it). ``embedded_at``: when its last chunk got a
    vector, NULL while it is not 'embedded'. v1 kept only ``updated_at``, the time of the
    row's last change: for an 'embedded' row that is the moment it became embedded, and
    for every row it is no earlier than its last read, so both start from it.
    """
    conn.execute("ALTER TABLE documents ADD COLUMN read_at REAL")
    conn.execute("ALTER TABLE documents ADD COLUMN embedded_at REAL")
    conn.execute("UPDATE documents SET read_at = updated_at")
    conn.execute("UPDATE documents SET embedded_at = updated_at WHERE status = 'embedded'")


def _v3_chunk_shingles(conn: sqlite3.Connection) -> None:
    """Sampled shingle hashes of the chunks that own a vector (store/shingles_repo.py),
    so a chunk repeating stored text in another file or format shares its vector.

    Keyed by (chunk_id, hash) so a chunk's rows are deleted with it (the cascade, on
    every path that deletes chunks); the index on hash finds the chunks posting a
    shingle. Existing chunks are fingerprinted when Database opens (the meta version is
    missing), not here: that code may change, and migrations must not.
    """
    conn.execute(
        """
        CREATE TABLE chunk_shingles (
            chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
            hash INTEGER NOT NULL,
            PRIMARY KEY (chunk_id, hash)
        ) WITHOUT ROWID
        """
    )
    conn.execute("CREATE INDEX chunk_shingles_by_hash ON chunk_shingles(hash)")


def _v4_ocr_pages(conn: sqlite3.Connection) -> None:
    """What OCR read on each scanned page (store/ocr_repo.py): the lines with their boxes,
    for the preview to highlight, and so that no page is recognised twice (a killed
    scan resumes at its first page not saved; the same scan elsewhere is not read again).

    Keyed by the file's content hash, not its document row: pages are saved one by one
    while the file is read, before the document row holds its chunks, and a copy of the
    scan in another folder shares them. ``engine`` names the OCR engine and its models:
    another one's results are not reused.
    """
    conn.execute(
        """
        CREATE TABLE ocr_pages (
            content_hash TEXT NOT NULL,
            page INTEGER NOT NULL,
            engine TEXT NOT NULL,
            rotation INTEGER NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            confidence REAL NOT NULL,
            lines TEXT NOT NULL,
            seconds REAL NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (content_hash, engine, page)
        ) WITHOUT ROWID
        """
    )


MIGRATIONS: Sequence[Migration] = (_v1_initial, _v2_document_times, _v3_chunk_shingles,
                                   _v4_ocr_pages)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Apply the missing migrations; return how many ran. ``conn`` must be in autocommit
    mode (``isolation_level=None``) and not inside a transaction."""
    target = len(migrations)
    applied = 0
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Read inside the write transaction: another process may have migrated
            # while we waited for the lock.
            version = schema_version(conn)
            if version > target:
                raise SchemaTooNewError(
                    f"this library was written by a newer version of Kura (schema {version}, "
                    f"this version knows {target}); please update Kura"
                )
            if version == target:
                conn.execute("COMMIT")
                return applied
            try:
                migrations[version](conn)
            except sqlite3.OperationalError as exc:
                if "fts5" in str(exc):
                    raise StoreError(
                        "this Python's SQLite was built without FTS5, which Kura needs"
                    ) from exc
                raise
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        applied += 1
