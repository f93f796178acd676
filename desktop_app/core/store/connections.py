"""SQLite connections, transactions and the one-writer rule.

Writers: one connection guarded by a ``threading.RLock``. SQLite allows a single writer
per database anyway; the lock makes in-process writers queue politely instead of racing
into ``SQLITE_BUSY``. We chose a lock over a single-thread executor because a transaction
here is a ``with`` block around the caller's own code: it runs on the calling (worker)
thread, exceptions propagate as-is, and a repository call made inside an outer
transaction simply joins it (as a SAVEPOINT) -- an executor would need every write wrapped
in a callable and would deadlock on such nesting. The price: a long transaction makes
other writers wait, so the GUI thread must never write (it does not: it uses workers).
Transactions start with ``BEGIN IMMEDIATE`` so that a second process (the CLI) waits on
``busy_timeout`` at BEGIN rather than failing halfway through.

Readers: one connection per thread (WAL lets them read while the writer writes), opened
lazily, ``query_only``. Each read runs in a short read transaction, so multi-query reads
see one consistent snapshot. A thread that is inside a write transaction reads through
the writer connection, so it sees its own uncommitted rows.

Durability: WAL + ``synchronous=NORMAL`` -- a killed process loses nothing committed; a
power cut may lose the last transactions but never corrupts the file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_S = 10.0


def connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    # isolation_level=None: the sqlite3 module must not open transactions behind our
    # back; every BEGIN/COMMIT is ours. check_same_thread=False: the writer is shared
    # under a lock, and close() may run on another thread than the one that opened.
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        if readonly:
            conn.execute("PRAGMA query_only = ON")
        else:
            # Persistent in the file; returns the mode actually in effect.
            conn.execute("PRAGMA journal_mode = WAL").fetchone()
    except BaseException:
        conn.close()
        raise
    return conn


class StoreBase:
    """Connections and transactions; the repository mixins build on ``transaction()``
    and ``reading()``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.RLock()
        self._writer = connect(self.path, readonly=False)
        self._depth = 0  # nesting of transaction() on the thread that holds the lock
        self._owner: int | None = None  # that thread's ident
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False

    # -- writing ---------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All-or-nothing: commit when the block ends, roll back if it raises.

        Nested use on the same thread becomes a SAVEPOINT, so an inner failure that the
        caller catches undoes only the inner part.
        """
        with self._write_lock:
            self._check_open()
            conn = self._writer
            level = self._depth
            savepoint = f"sp{level}"
            conn.execute("BEGIN IMMEDIATE" if level == 0 else f"SAVEPOINT {savepoint}")
            self._owner = threading.get_ident()
            self._depth = level + 1
            try:
                yield conn
            except BaseException:
                self._depth = level
                if level == 0:
                    self._owner = None
                    if conn.in_transaction:  # some errors already rolled back
                        conn.execute("ROLLBACK")
                elif conn.in_transaction:
                    conn.execute(f"ROLLBACK TO {savepoint}")
                    conn.execute(f"RELEASE {savepoint}")
                raise
            self._depth = level
            if level:
                conn.execute(f"RELEASE {savepoint}")
                return
            self._owner = None
            try:
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    # -- reading ---------------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A connection for a consistent read (one snapshot for the whole block)."""
        if self._owner == threading.get_ident():
            yield self._writer  # our own open write transaction: see its rows
            return
        conn = self._reader()
        if conn.in_transaction:  # nested read on this thread: same snapshot
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")  # ends the read snapshot; nothing to write

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self._check_open()
            conn = connect(self.path, readonly=True)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    # -- lifetime --------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise sqlite3.ProgrammingError("the library database is closed")

    def close(self) -> None:
        """Close every connection. Call when no other thread is using the store."""
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            with self._readers_lock:
                for conn in self._readers:
                    conn.close()
                self._readers.clear()
            self._writer.close()
