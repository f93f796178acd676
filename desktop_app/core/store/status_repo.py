"""One summary of the whole library, for the GUI's status page and ``kura status``."""

from __future__ import annotations

from desktop_app.core.store.collections_repo import summaries
from desktop_app.core.store.connections import StoreBase
from desktop_app.core.store.rows import STATUSES, SkippedFile, StoreStatus


class StatusRepo(StoreBase):
    def status(self) -> StoreStatus:
        with self.reading() as conn:  # one snapshot: the numbers add up
            collections = summaries(conn)
            per_status: dict[str, int] = dict.fromkeys(STATUSES, 0)
            per_status.update(conn.execute(
                "SELECT status, count(*) FROM documents GROUP BY status"
            ).fetchall())
            chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
            vectors = conn.execute("SELECT count(*) FROM vectors").fetchone()[0]
            unembedded = conn.execute(
                "SELECT count(DISTINCT c.embed_key) FROM chunks c JOIN documents d "
                "ON d.id = c.document_id WHERE d.status = 'parsed' "
                "AND NOT EXISTS (SELECT 1 FROM vectors v WHERE v.embed_key = c.embed_key)"
            ).fetchone()[0]
            skipped = [SkippedFile(*row) for row in conn.execute(
                "SELECT collection_id, path, skip_reason, skip_message FROM documents "
                "WHERE status = 'skipped' ORDER BY collection_id, path"
            )]
        return StoreStatus(collections, per_status, chunks, vectors, unembedded, skipped)
