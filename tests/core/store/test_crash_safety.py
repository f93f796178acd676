"""kill -9 in the middle of writing: the library must come back whole.

A real child process (crash_writer.py) writes documents, vectors and index saves in a
loop and is SIGKILLed at a random moment, several times over the same files. After each
kill we reopen and check every invariant. No model is needed: vectors are synthetic.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

from desktop_app.core.progress import run_quietly
from desktop_app.core.store import Database, VectorIndex
from tests.core.store.crash_writer import INDEX_DIM
from tests.support.samples import REPO


def run_and_kill(db_path: Path, index_path: Path, seed: int, rounds: int) -> int:
    """Start the writer, let it complete ``rounds`` iterations, SIGKILL it mid-flight."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.core.store.crash_writer", str(db_path), str(index_path),
         str(seed)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    try:
        seen = 0
        for line in proc.stdout:
            if line.strip().isdigit():
                seen += 1
                if seen >= rounds:
                    break
        proc.kill()  # SIGKILL on POSIX, TerminateProcess on Windows: no cleanup runs
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = proc.stderr.read() if proc.stderr else ""
    assert seen >= rounds, f"writer stopped early:\n{stderr}"
    return seen


def check_library(db: Database) -> None:
    with db.reading() as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        dupes = conn.execute(
            "SELECT document_id, ordinal FROM chunks GROUP BY 1, 2 HAVING count(*) > 1"
        ).fetchall()
        assert dupes == []
        fts_ids = {r[0] for r in conn.execute("SELECT rowid FROM chunk_fts")}
        chunk_ids = {r[0] for r in conn.execute("SELECT id FROM chunks")}
        assert fts_ids == chunk_ids
        vectors = {r[0] for r in conn.execute("SELECT embed_key FROM vectors")}
    with db.transaction() as conn:  # FTS5's own consistency check (a write command)
        conn.execute("INSERT INTO chunk_fts(chunk_fts) VALUES ('integrity-check')")
    docs = db.documents()
    assert docs
    for doc in docs:
        got = db.chunks_of_document(doc.id)
        assert doc.title == f"n={len(got)}", (doc, got)  # all chunks or none
        assert [c.ordinal for c in got] == list(range(len(got)))
        for c in got:
            version = re.match(r"\[v(\d+)\]", c.text)
            assert version is None or int(version.group(1)) == doc.mtime_ns, (doc, c)
        all_embedded = all(c.embed_key in vectors for c in got)
        assert (doc.status == "embedded") == all_embedded, doc


def test_sigkill_mid_write_leaves_old_or_new_state(tmp_path: Path) -> None:
    db_path = tmp_path / "library.db"
    index_path = tmp_path / "vectors.hnsw"
    rng = random.Random(1234)
    for seed in range(3):
        run_and_kill(db_path, index_path, seed, rounds=rng.randint(25, 60))
        with Database(db_path) as db:
            check_library(db)
            index = VectorIndex(index_path, INDEX_DIM, threads=1)
            run_quietly(index.open_or_rebuild(db))
            assert index.ids() == set(db.vector_ids().tolist())
            assert not list(tmp_path.glob("*.tmp"))
            # Orphans left by the kill are cleaned the normal way and stay in step.
            index.delete(db.delete_orphan_vectors())
            assert index.ids() == set(db.vector_ids().tolist())
            index.save()
