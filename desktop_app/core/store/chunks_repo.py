"""Reading chunks back: by id, by document, by vector label, and by keywords (BM25)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from desktop_app.core.store.connections import StoreBase
from desktop_app.core.store.keywords import fts_query, phrase_query
from desktop_app.core.store.rows import Chunk
from desktop_app.core.store.sqlutil import batched, marks

_CHUNK_COLUMNS = (
    "c.id, c.document_id, d.collection_id, d.path, c.ordinal, c.text, c.title, "
    "c.location, c.page, c.start_char, c.end_char, c.embed_key"
)
_CHUNK_SELECT = f"SELECT {_CHUNK_COLUMNS} FROM chunks c JOIN documents d ON d.id = c.document_id"


def chunk_from_row(row: Sequence[object]) -> Chunk:
    return Chunk(*row)  # type: ignore[arg-type]  # columns are in field order


def _scope(collection_ids: Iterable[int] | None) -> tuple[str, list[int]]:
    """SQL restricting ``d.collection_id`` (None = every collection)."""
    if collection_ids is None:
        return "", []
    ids = sorted({int(c) for c in collection_ids})
    return f" AND d.collection_id IN ({marks(len(ids))})", ids


class ChunksRepo(StoreBase):
    def get_chunks(self, chunk_ids: Iterable[int]) -> dict[int, Chunk]:
        """Chunks by id; ids that no longer exist are absent from the result."""
        ids = sorted({int(i) for i in chunk_ids})
        out: dict[int, Chunk] = {}
        with self.reading() as conn:
            for part in batched(ids):
                for row in conn.execute(f"{_CHUNK_SELECT} WHERE c.id IN ({marks(len(part))})",
                                        part):
                    out[row[0]] = chunk_from_row(row)
        return out

    def chunks_of_document(self, document_id: int) -> list[Chunk]:
        with self.reading() as conn:
            rows = conn.execute(
                f"{_CHUNK_SELECT} WHERE c.document_id = ? ORDER BY c.ordinal", (document_id,)
            ).fetchall()
        return [chunk_from_row(r) for r in rows]

    def chunks_for_vector_ids(
        self, ids: Iterable[int], collection_ids: Iterable[int] | None = None
    ) -> dict[int, list[Chunk]]:
        """Map index labels (vector ids) back to the chunks that use them -- several when
        the same text appears in several files. Labels with no chunk in scope are absent."""
        wanted = sorted({int(i) for i in ids})
        scope_sql, scope_args = _scope(collection_ids)
        out: dict[int, list[Chunk]] = {}
        if collection_ids is not None and not scope_args:
            return out
        with self.reading() as conn:
            for part in batched(wanted):
                rows = conn.execute(
                    f"SELECT v.id, {_CHUNK_COLUMNS} FROM vectors v "
                    "JOIN chunks c ON c.embed_key = v.embed_key "
                    "JOIN documents d ON d.id = c.document_id "
                    f"WHERE v.id IN ({marks(len(part))}){scope_sql} "
                    "ORDER BY v.id, d.collection_id, d.path, c.ordinal",
                    [*part, *scope_args],
                )
                for row in rows:
                    out.setdefault(row[0], []).append(chunk_from_row(row[1:]))
        return out

    def mentions(self, term: str, collection_ids: Iterable[int] | None = None) -> bool:
        """Whether any chunk (of these collections) contains ``term`` as the keyword index
        tokenizes it: case-insensitive, whole words, "systemd-boot" as a phrase."""
        match = phrase_query(term)
        scope_sql, scope_args = _scope(collection_ids)
        if match is None or (collection_ids is not None and not scope_args):
            return False
        sql = ("SELECT 1 FROM chunk_fts f JOIN chunks c ON c.id = f.rowid "
               f"JOIN documents d ON d.id = c.document_id WHERE chunk_fts MATCH ?{scope_sql} "
               "LIMIT 1")
        with self.reading() as conn:
            return conn.execute(sql, [match, *scope_args]).fetchone() is not None

    def keyword_search(
        self, query: str, k: int, collection_ids: Iterable[int] | None = None
    ) -> list[tuple[int, float]]:
        """Best ``k`` chunks for ``query`` by BM25 as ``(chunk_id, score)``, best first.

        Scores are FTS5's bm25() negated, so higher is better; they only compare within
        one query. Chinese/Japanese/Korean work through keywords.segment().
        """
        match = fts_query(query)
        scope_sql, scope_args = _scope(collection_ids)
        if match is None or k <= 0 or (collection_ids is not None and not scope_args):
            return []
        # ORDER BY rank lets FTS5 compute BM25 only for rows it returns in order.
        sql = (
            "SELECT f.rowid, f.rank FROM chunk_fts f "
            "JOIN chunks c ON c.id = f.rowid JOIN documents d ON d.id = c.document_id "
            f"WHERE chunk_fts MATCH ?{scope_sql} ORDER BY f.rank LIMIT ?"
        )
        with self.reading() as conn:
            rows = conn.execute(sql, [match, *scope_args, k]).fetchall()
        return [(int(cid), -float(rank)) for cid, rank in rows]
