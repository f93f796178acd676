"""What to embed next: the order of an embedding pass, linear in the library.

Embedding is the slow step (hours for a large folder on a laptop CPU), so its order
decides what a person can search by meaning first. It favours what they will ask
about soon, not the order of the directory listing:

1. documents that recent questions hit (newest question first): their passages were
   found by keywords and are wanted by meaning now (``RecentlyAsked``, kept in memory:
   interest in a question fades with the session, so nothing of it is stored);
2. then by how recently the file was modified, in broad steps (a day, a week, a
   month, a year, older): what someone is working on is what they ask about;
3. within a step, shorter documents first: each of them becomes searchable by
   meaning after a batch or two, where one long book would hold back hundreds.

Linear: the pass loads the waiting documents once (``pending_documents``), keeps them in
a heap, and reads each document's chunks from where it stopped
(``pending_chunks(after_ordinal=...)``), so every chunk row is read once however many
batches a long document takes. Documents stored while the pass runs (the streaming
ingest) join it through ``add``.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from desktop_app.core.store.rows import PendingChunk
from desktop_app.core.store.vectors_repo import PendingDocument

DAY_NS = 86_400 * 10**9
# Upper bounds of the age steps, in days; anything older is the last step.
AGE_STEPS_DAYS = (1, 7, 30, 365)
ASKED_TIER = 0  # ahead of every age step


class PendingSource(Protocol):
    """What the queue reads (``Database`` provides it)."""

    def pending_documents(self) -> list[PendingDocument]: ...
    def pending_chunks(self, document_id: int, after_ordinal: int = -1,
                       limit: int = 256) -> list[tuple[int, PendingChunk]]: ...


class RecentlyAsked:
    """Documents hit by recent questions, each with the number of the last question
    that hit it. Thread-safe: searches note, an embedding pass on another thread reads."""

    def __init__(self, keep: int = 256) -> None:
        self._keep = keep
        self._lock = threading.Lock()
        self._asked: OrderedDict[int, int] = OrderedDict()  # document id -> question
        self._questions = 0

    def note(self, document_ids: Iterable[int]) -> None:
        """One question hit these documents."""
        ids = list(dict.fromkeys(document_ids))
        if not ids:
            return
        with self._lock:
            self._questions += 1
            for doc_id in ids:
                self._asked.pop(doc_id, None)
                self._asked[doc_id] = self._questions
            while len(self._asked) > self._keep:
                self._asked.popitem(last=False)

    @property
    def version(self) -> int:
        """Grows with every question noted."""
        with self._lock:
            return self._questions

    def since(self, version: int) -> list[tuple[int, int]]:
        """``(document id, question)`` noted after ``version``."""
        with self._lock:
            return [(d, q) for d, q in self._asked.items() if q > version]


@dataclass
class _Cursor:
    after: int  # the last ordinal handed out
    rank: tuple[int, ...]  # its place in the order when not asked about


def age_step(mtime_ns: int, now_ns: int) -> int:
    """0 for a file modified within a day, 1 within a week, ... len(AGE_STEPS_DAYS) for
    older (and a date in the future counts as new)."""
    days = max(0, now_ns - mtime_ns) / DAY_NS
    return next((i for i, bound in enumerate(AGE_STEPS_DAYS) if days <= bound),
                len(AGE_STEPS_DAYS))


class EmbedQueue:
    """One embedding pass's order (see the module docstring). Not thread-safe: the pass
    that owns it calls ``add`` and ``next_batch``; questions reach it through
    ``RecentlyAsked``, which is."""

    def __init__(self, source: PendingSource, asked: RecentlyAsked | None = None,
                 now_ns: int | None = None) -> None:
        self._source = source
        self._asked = asked or RecentlyAsked()
        self._now_ns = time.time_ns() if now_ns is None else now_ns
        self._cursors: dict[int, _Cursor] = {}
        # Entries are reasons to look at a document: (rank, tie, document id, generation).
        # A document may have several (its own and an asked one); a stale one (the
        # document is done, or was stored again since) is dropped when it comes up.
        self._heap: list[tuple[tuple[int, ...], int, int, int]] = []
        self._generation: dict[int, int] = {}
        self._tie = itertools.count()
        self._seen_version = 0
        for doc in source.pending_documents():
            self.add(doc.id, doc.mtime_ns, doc.chunks)
        self._take_questions()

    def __len__(self) -> int:
        """Documents with chunks still to hand out (as far as the queue knows)."""
        return len(self._cursors)

    def add(self, document_id: int, mtime_ns: int, chunks: int) -> None:
        """A document stored (or stored again) since the pass began: it is read from
        its first chunk, in its place in the order."""
        rank = (1 + age_step(mtime_ns, self._now_ns), chunks, document_id)
        generation = self._generation.get(document_id, 0) + 1
        self._generation[document_id] = generation
        self._cursors[document_id] = _Cursor(-1, rank)
        self._push(rank, document_id)

    def next_batch(self, limit: int) -> list[PendingChunk]:
        """Up to ``limit`` chunks without a vector, one per embed_key, in the order;
        empty when nothing is left. Chunks handed out are not handed out again: embed
        them (or drop the queue)."""
        self._take_questions()
        batch: list[PendingChunk] = []
        keys: set[str] = set()
        while len(batch) < limit and self._heap:
            rank, _tie, doc_id, generation = heapq.heappop(self._heap)
            cursor = self._cursors.get(doc_id)
            if cursor is None or generation != self._generation.get(doc_id):
                continue
            need = limit - len(batch)
            rows = self._source.pending_chunks(doc_id, cursor.after, need)
            for ordinal, chunk in rows:
                cursor.after = ordinal
                if chunk.embed_key not in keys:  # the same text twice: embed it once
                    keys.add(chunk.embed_key)
                    batch.append(chunk)
            if len(rows) < need:
                del self._cursors[doc_id]  # every chunk handed out or already embedded
            else:
                self._push(rank, doc_id)  # more to come, in the same place
        return batch

    # -- inside -------------------------------------------------------------------------

    def _push(self, rank: tuple[int, ...], doc_id: int) -> None:
        heapq.heappush(self._heap, (rank, next(self._tie), doc_id, self._generation[doc_id]))

    def _take_questions(self) -> None:
        version = self._asked.version
        if version == self._seen_version:
            return
        for doc_id, question in self._asked.since(self._seen_version):
            cursor = self._cursors.get(doc_id)
            if cursor is not None:
                # Newest question first; among one question's documents, the usual order.
                self._push((ASKED_TIER, -question, *cursor.rank), doc_id)
        self._seen_version = version
