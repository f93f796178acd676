"""kill -9 in the middle of writing: the library must come back whole.

A real child process (crash_writer.py) writes documents, vectors and index saves in a
loop and is SIGKILLed at a random moment, several times over the same files. After each
kill we reopen and check every invariant. No model is needed: vectors are synthetic.

And the real job: ``Library.add`` in a child process, killed while its files are being
read (one of them in a reading worker's hands) and again while it embeds, then run to
its end: the library it leaves must be the one an uninterrupted run makes.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from desktop_app.core.library import Library
from desktop_app.core.progress import run_quietly
from desktop_app.core.store import Database, VectorIndex
from tests.core.store.crash_writer import INDEX_DIM, LIBRARY_SETTINGS
from tests.support.hostile_files import order, started
from tests.support.samples import REPO
from tests.support.text_embedders import HashedWords


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


def check_store(db: Database) -> None:
    """What holds for any library after any kill: SQLite and FTS intact, every
    document whole, its state true to its vectors."""
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
    for doc in db.documents():
        got = db.chunks_of_document(doc.id)
        assert [c.ordinal for c in got] == list(range(len(got)))
        all_embedded = doc.status != "skipped" and all(c.embed_key in vectors for c in got)
        assert (doc.status == "embedded") == all_embedded, doc


def check_library(db: Database) -> None:
    check_store(db)
    docs = db.documents()
    assert docs
    for doc in docs:
        got = db.chunks_of_document(doc.id)
        assert doc.title == f"n={len(got)}", (doc, got)  # all chunks or none
        for c in got:
            version = re.match(r"\[v(\d+)\]", c.text)
            assert version is None or int(version.group(1)) == doc.mtime_ns, (doc, c)


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


# -- the real job, killed while reading and while embedding --------------------------------

Step = tuple[str, int, int | None]


def add_and_kill(home: Path, folder: Path, seconds: float,
                 kill_when: Callable[[list[Step]], bool] | None) -> int:
    """Run ``Library.add`` in a child and SIGKILL it the moment ``kill_when`` says so
    (None: let it finish). The kill must come before the job finished, and leave no
    reading worker (nor multiprocessing's helper) behind; how many readers there were."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.core.store.crash_writer", "library", str(home),
         str(folder), str(seconds)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    steps: list[Step] = []
    finished = killed = False
    workers: list[psutil.Process] = []
    readers = 0
    try:
        for line in proc.stdout:
            words = line.split()
            if words == ["finished"]:
                finished = True
            elif len(words) == 3:
                steps.append((words[0], int(words[1]),
                              None if words[2] == "None" else int(words[2])))
                if kill_when is not None and kill_when(steps):
                    workers = psutil.Process(proc.pid).children(recursive=True)
                    readers = sum("spawn_main" in " ".join(_cmdline(w)) for w in workers)
                    proc.kill()  # SIGKILL: no clean-up of any kind runs
                    killed = True
                    break
        proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = proc.stderr.read() if proc.stderr else ""
    if kill_when is None:
        assert finished and proc.returncode == 0, stderr
        return 0
    assert killed and not finished, f"the job ended before the kill:\n{stderr}"
    # Its reading workers notice that the job is gone and end too.
    _gone, alive = psutil.wait_procs(workers, timeout=15)
    assert not alive, alive
    return readers


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def pipeline_snapshot(db: Database, root: Path) -> tuple[object, ...]:
    docs = sorted(
        (os.path.relpath(d.path, root), d.status, d.skip_reason, d.kind, d.title,
         d.content_hash, tuple((c.text, c.title, c.embed_key, c.start_char)
                               for c in db.chunks_of_document(d.id)))
        for d in db.documents())
    with db.reading() as conn:
        vectors = sorted(conn.execute("SELECT embed_key, vector FROM vectors").fetchall())
    return tuple(docs), tuple(vectors)


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_sigkill_while_reading_and_while_embedding_then_resume(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    for n in range(48):
        sub = folder / f"part{n % 3}"
        sub.mkdir(parents=True, exist_ok=True)
        words = " ".join(f"note{n} point{j} detail{j * n}" for j in range(10 + 6 * (n % 5)))
        (sub / f"note{n:02}.md").write_text(f"# Note {n}\n\n{words}\n", encoding="utf-8")
    # Files are read smallest first: a slow one of middling size is in a reader's hands
    # once every smaller file is stored, and that is when the first kill comes.
    slow = order(folder / "part0" / "note04a-slow.md", "sleep", 4)
    with slow.open("a", encoding="utf-8") as padding:
        padding.write("padding " * 60)
    sizes = [p.stat().st_size for p in folder.rglob("*.md")]
    smaller = sum(size < slow.stat().st_size for size in sizes)
    assert 2 < smaller < len(sizes) - 2 and sizes.count(slow.stat().st_size) == 1
    files = 49
    home = tmp_path / "home"

    # 1. Killed while reading: the smaller files stored, the slow one being read.
    readers = add_and_kill(
        home, folder, 0.0,
        lambda steps: sum(s == "scan" and d > 0 for s, d, _ in steps) >= smaller)
    assert readers == 1 and started(slow).exists()  # the reader was in the slow file
    started(slow).unlink()  # (it is made again when the slow file is read again)
    with Database(home / "library.sqlite3") as db:
        check_store(db)
        assert 0 < len(db.documents()) < files

    # 2. Killed while embedding: every file read, not every passage embedded.
    def embedding_after_the_last_read(steps: list[Step]) -> bool:
        read = [i for i, (s, d, t) in enumerate(steps) if s == "scan" and d == t]
        return bool(read) and any(s == "embed" for s, _, _ in steps[read[0]:])
    add_and_kill(home, folder, 0.3, embedding_after_the_last_read)
    with Database(home / "library.sqlite3") as db:
        check_store(db)
        assert len(db.documents()) == files and db.status().unembedded_keys > 0

    # 3. Run to the end: the same library as a run that was never interrupted.
    add_and_kill(home, folder, 0.0, None)
    reference = Library(home=tmp_path / "reference", settings=LIBRARY_SETTINGS,
                        embedder=HashedWords())
    try:
        run_quietly(reference.add([folder]))
        resumed = Library(home=home, settings=LIBRARY_SETTINGS, embedder=HashedWords())
        try:
            check_store(resumed.db)
            assert pipeline_snapshot(resumed.db, folder) == pipeline_snapshot(reference.db,
                                                                             folder)
            assert resumed.status().documents["embedded"] == files
            run_quietly(resumed.open_index())
            assert resumed.index.ids() == set(resumed.db.vector_ids().tolist())
        finally:
            resumed.close()
    finally:
        reference.close()
    assert not list(home.rglob("*.tmp"))
