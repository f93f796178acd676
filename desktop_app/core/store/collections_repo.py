"""Collections (named sets of folders) and their folders."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable

from desktop_app.core.store.connections import StoreBase
from desktop_app.core.store.errors import CollectionExistsError, NotFoundError
from desktop_app.core.store.rows import STATUSES, Collection, CollectionSummary
from desktop_app.core.store.sqlutil import is_under, marks, now, path_text


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValueError("a collection needs a name")
    return cleaned


def summaries(conn: sqlite3.Connection) -> list[CollectionSummary]:
    """Every collection with its folders and counts, by name (one snapshot)."""
    folders: dict[int, list[str]] = {}
    for cid, path in conn.execute("SELECT collection_id, path FROM collection_folders"):
        folders.setdefault(cid, []).append(path)
    by_status: dict[int, dict[str, int]] = {}
    for cid, status, n in conn.execute(
        "SELECT collection_id, status, count(*) FROM documents GROUP BY 1, 2"
    ):
        by_status.setdefault(cid, dict.fromkeys(STATUSES, 0))[status] = n
    chunks = dict(conn.execute(
        "SELECT d.collection_id, count(*) FROM chunks c "
        "JOIN documents d ON d.id = c.document_id GROUP BY 1"
    ).fetchall())
    out = []
    for cid, name, created in conn.execute(
        "SELECT id, name, created_at FROM collections ORDER BY name, id"
    ).fetchall():
        counts = by_status.get(cid, dict.fromkeys(STATUSES, 0))
        out.append(CollectionSummary(
            id=cid, name=name, created_at=created,
            folders=tuple(sorted(folders.get(cid, []))),
            documents=sum(counts.values()), chunks=chunks.get(cid, 0), by_status=counts,
        ))
    return out


class CollectionsRepo(StoreBase):
    # vector_ids_in_collections' last answer, with the scope and data version it is for.
    _scope_vectors: tuple[tuple[tuple[int, ...], tuple[int, ...]], frozenset[int]] | None = None

    def create_collection(self, name: str) -> int:
        clean = _clean_name(name)
        try:
            with self.transaction() as conn:
                cur = conn.execute(
                    "INSERT INTO collections(name, created_at) VALUES (?, ?)", (clean, now())
                )
        except sqlite3.IntegrityError as exc:
            raise CollectionExistsError(f"a collection named “{clean}” already exists") from exc
        assert cur.lastrowid is not None
        return cur.lastrowid

    def get_collection(self, name: str) -> Collection | None:
        with self.reading() as conn:
            row = conn.execute(
                "SELECT id, name, created_at FROM collections WHERE name = ?",
                (_clean_name(name),),
            ).fetchone()
        return None if row is None else Collection(*row)

    def get_collection_by_id(self, collection_id: int) -> Collection | None:
        with self.reading() as conn:
            row = conn.execute(
                "SELECT id, name, created_at FROM collections WHERE id = ?", (collection_id,)
            ).fetchone()
        return None if row is None else Collection(*row)

    def collection_names(self) -> dict[int, str]:
        """id -> name, without the counts list_collections pays for (search calls this
        on every query)."""
        with self.reading() as conn:
            return dict(conn.execute("SELECT id, name FROM collections ORDER BY name"))

    def vector_ids_in_collections(self, collection_ids: Iterable[int]) -> frozenset[int]:
        """The ids of the vectors that chunks of these collections use: what a search
        scoped to them may return. A vector is shared by identical chunks, possibly in
        several collections, so it belongs to each of them.

        One pass over the scope's chunks (about 2 s per million), so the last answer is
        kept until chunks or vectors change. Ids only grow (AUTOINCREMENT), so the
        count and largest id of chunks and the largest vector id change with every
        insert or delete that could add a vector to the scope; a deleted vector that
        stays in a kept answer is harmless (the index no longer returns it)."""
        scope = tuple(sorted({int(c) for c in collection_ids}))
        if not scope:
            return frozenset()
        with self.reading() as conn:  # one snapshot for the version and the ids
            version = conn.execute(
                "SELECT (SELECT count(*) FROM chunks), (SELECT max(id) FROM chunks), "
                "(SELECT max(id) FROM vectors)"
            ).fetchone()
            kept = self._scope_vectors
            if kept is not None and kept[0] == (scope, version):
                return kept[1]
            ids = frozenset(row[0] for row in conn.execute(
                "SELECT v.id FROM documents d JOIN chunks c ON c.document_id = d.id "
                "JOIN vectors v ON v.embed_key = c.embed_key "
                f"WHERE d.collection_id IN ({marks(len(scope))})", scope,
            ))
        self._scope_vectors = ((scope, version), ids)  # one assignment: thread-safe
        return ids

    def list_collections(self) -> list[CollectionSummary]:
        with self.reading() as conn:
            return summaries(conn)

    def rename_collection(self, collection_id: int, new_name: str) -> None:
        clean = _clean_name(new_name)
        try:
            with self.transaction() as conn:
                cur = conn.execute(
                    "UPDATE collections SET name = ? WHERE id = ?", (clean, collection_id)
                )
        except sqlite3.IntegrityError as exc:
            raise CollectionExistsError(f"a collection named “{clean}” already exists") from exc
        if cur.rowcount == 0:
            raise NotFoundError(f"collection {collection_id} does not exist")

    def delete_collection(self, collection_id: int) -> bool:
        """Delete it with its folders, documents, chunks and FTS rows (cascade).
        Vectors only it used stay until ``delete_orphan_vectors``."""
        with self.transaction() as conn:
            cur = conn.execute("DELETE FROM collections WHERE id = ?", (collection_id,))
        return cur.rowcount > 0

    def add_folder(self, collection_id: int, path: str | os.PathLike[str]) -> bool:
        """Returns False if the folder was already in the collection."""
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO collection_folders(collection_id, path) VALUES (?, ?)",
                (collection_id, path_text(path)),
            )
        return cur.rowcount > 0

    def folders(self, collection_id: int) -> list[str]:
        with self.reading() as conn:
            rows = conn.execute(
                "SELECT path FROM collection_folders WHERE collection_id = ? ORDER BY path",
                (collection_id,),
            ).fetchall()
        return [r[0] for r in rows]

    def remove_folder(self, collection_id: int, path: str | os.PathLike[str]) -> list[str]:
        """Remove a folder and the documents under it that no remaining folder of the
        collection still covers (nested folders). Returns the removed documents' paths."""
        folder = path_text(path)
        with self.transaction() as conn:
            conn.execute(
                "DELETE FROM collection_folders WHERE collection_id = ? AND path = ?",
                (collection_id, folder),
            )
            remaining = [r[0] for r in conn.execute(
                "SELECT path FROM collection_folders WHERE collection_id = ?", (collection_id,)
            )]
            docs = conn.execute(
                "SELECT id, path FROM documents WHERE collection_id = ?", (collection_id,)
            ).fetchall()
            gone = [
                (doc_id, p) for doc_id, p in docs
                if is_under(p, folder) and not any(is_under(p, f) for f in remaining)
            ]
            conn.executemany("DELETE FROM documents WHERE id = ?", [(i,) for i, _ in gone])
        return sorted(p for _, p in gone)
