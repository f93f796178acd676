"""Child process for test_crash_safety: writes to a library in a loop until killed.

Usage: python -m tests.core.store.crash_writer DB INDEX SEED

It does what the pipeline does -- replace documents, embed pending chunks, delete
documents and orphan vectors, keep the vector index in step and save it now and then --
and prints the iteration number after each round so the parent knows when to SIGKILL.
Each document's title says how many chunks it has and every unshared chunk names the
version (mtime_ns) of its document, so the parent can tell a half-written or mixed-up
document from a whole one.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from desktop_app.core.progress import run_quietly
from desktop_app.core.store import Database, NewChunk, VectorIndex
from tests.support.store import MODEL, key, vector_for

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


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
