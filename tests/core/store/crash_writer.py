"""Child processes for test_crash_safety, killed by the test at a moment it picks.

``python -m tests.core.store.crash_writer DB INDEX SEED`` writes to a store in a loop
until killed. It does what the pipeline does -- replace documents, embed pending chunks,
delete documents and orphan vectors, keep the vector index in step and save it now and
then -- and prints the iteration number after each round so the parent knows when to
SIGKILL. Each document's title says how many chunks it has and every unshared chunk
names the version (mtime_ns) of its document, so the parent can tell a half-written or
mixed-up document from a whole one.

``python -m tests.core.store.crash_writer library HOME FOLDER SECONDS`` runs the real
job, ``Library.add`` of FOLDER into HOME: files read in worker processes (through
``HOSTILE_READER``, so a file can make its reader sleep) while earlier ones are
embedded by a fake embedder taking SECONDS per batch. It prints every step as
``stage done total`` and ``finished`` at the end.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

from desktop_app.core.library import Library
from desktop_app.core.progress import run_quietly
from desktop_app.core.reading import ReadBudget, ReadPool
from desktop_app.core.settings import LibrarySettings
from desktop_app.core.store import Database, NewChunk, VectorIndex
from tests.support.hostile_files import HOSTILE_READER
from tests.support.store import MODEL, key, vector_for
from tests.support.text_embedders import HashedWords

INDEX_DIM = 32


def main(db_path: Path, index_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    db = Database(db_path)
    index = VectorIndex(index_path, INDEX_DIM, threads=1)
    run_quietly(index.open_or_rebuild(db))
    found = db.get_collection("crash")
    cid = found.id if found else db.create_collection("crash")
    version = max((d.mtime_ns for d in db.documents(cid)), default=0)
    print("ready", flush=True)
    while True:
        version += 1
        n = rng.randint(1, 12)
        texts = [
            # A few texts recur across documents, so vectors are shared and orphaned.
            f"shared text {rng.randrange(8)}" if rng.random() < 0.3
            else f"[v{version}] chunk {j} {rng.random()}"
            for j in range(n)
        ]
        db.replace_document(
            cid, f"/docs/{rng.randrange(30)}.txt", size=n, mtime_ns=version,
            content_hash=f"h{version}", kind="txt", title=f"n={n}",
            chunks=[NewChunk(text=t, embed_key=key(t)) for t in texts],
        )
        pending = db.pending_embed_keys(rng.randint(1, 20))
        added = db.add_vectors(MODEL, [(p.embed_key, vector_for(p.embed_key)) for p in pending])
        index.add(list(added.values()), [vector_for(k) for k in added])
        if version % 4 == 0:
            docs = db.documents(cid)
            db.delete_document(rng.choice(docs).id)
        if version % 3 == 0:
            index.delete(db.delete_orphan_vectors())
        if version % 5 == 0:
            index.save()
        print(version, flush=True)


class SlowWords(HashedWords):
    """The fake embedder at a real model's pace (a batch takes ``seconds``)."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def embed_documents(self, texts, titles=None, dim=None):  # type: ignore[no-untyped-def]
        time.sleep(self.seconds)
        return super().embed_documents(texts, titles, dim)


# What the library job is run with, here and in the test's reference run.
LIBRARY_SETTINGS = LibrarySettings(chunk_tokens=48, chunk_overlap=8, embed_batch=4,
                                   save_every=16)


class HostileLibrary(Library):
    def _open_read_pool(self) -> ReadPool:
        return ReadPool(self.chunker_spec, budget=ReadBudget(60.0, 2 * 1024**3),
                        max_file_bytes=self.settings.max_file_bytes, reader=HOSTILE_READER)


def add_folder(home: Path, folder: Path, seconds: float) -> None:
    library = HostileLibrary(home=home, settings=LIBRARY_SETTINGS,
                             embedder=SlowWords(seconds))
    print("ready", flush=True)
    for step in library.add([folder]):
        print(step.stage, step.done, step.total, flush=True)
    library.close()
    print("finished", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "library":
        add_folder(Path(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4]))
    else:
        main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
