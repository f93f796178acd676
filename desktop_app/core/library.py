"""The document library: the one object the CLI and the GUI drive.

Long jobs are generators of ``Progress`` (``desktop_app.core.progress``): the caller
iterates to make progress, shows each step, and stops by closing the generator (or by
``should_stop``), which is always at a safe point: every file is stored in one
transaction, every batch of vectors in another, so a closed generator or a killed
process leaves a consistent library that the next run continues. A job's summary is its
return value: what ``add``/``sync``/``retry`` found (``ScanCounts``), how many passages
``embed_pending`` embedded, the ``OpenReport`` of ``open_index``.

Order of work, so the library is useful early (``_Ingest``): one job loop streams.
The folders are walked a slice at a time, ahead of the reading; files are read and
chunked in worker processes (``ReadPool``, under a time and a memory budget each, so
one bad file costs only itself), a bounded number ahead; each file read is stored at
once (searchable by keywords from then on), and between those the loop embeds one
batch of passages in this process, in ``EmbedQueue``'s order (what was asked about,
recently modified and short documents first). So the first documents are searchable by
meaning while later ones are still being read, instead of after the whole tree.

A question asked meanwhile (``search``) embeds first the passages keyword search finds
for it that have no vector yet (bounded in number and time), so the dense ranking and
the relevance figure see them.

One writer per library (``library_lock``): a writer ``Library`` holds the lock from its
opening to ``close()``; a reader (``writer=False``) never writes, neither SQLite nor
the index file.
"""

from __future__ import annotations

import hashlib
import heapq
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from desktop_app.core import duplicates
from desktop_app.core.chunking import ChunkerSpec
from desktop_app.core.embedder import Embedder, TextEmbedder, document_input
from desktop_app.core.errors import KuraError
from desktop_app.core.fileio import sha256_file
from desktop_app.core.ingest import Skipped, SkipReason, UnreadableFile, discover, scans
from desktop_app.core.ingest.formats import Kind, kind_of
from desktop_app.core.library_lock import LibraryLock
from desktop_app.core.ocr.page import OcrLine
from desktop_app.core.ocr.recognised import RecognisedPage
from desktop_app.core.paths import data_dir, embedder_dir
from desktop_app.core.progress import Job, Progress, RateMeter, run_quietly
from desktop_app.core.reading import FileRead, ReadBudget, ReadPool
from desktop_app.core.search import SearchOptions, SearchResponse, hybrid_search
from desktop_app.core.settings import EmbedderSettings, LibrarySettings
from desktop_app.core.store import (
    Chunk,
    Database,
    Document,
    DocumentInfo,
    NewChunk,
    OpenReport,
    PendingChunk,
    StoreStatus,
    VectorIndex,
)
from desktop_app.core.store.embed_queue import EmbedQueue, RecentlyAsked

# -- how the job loop paces itself (see _Ingest) -------------------------------------------
# Reading runs ahead of embedding by up to this many files (or bytes) submitted to the
# readers and not stored yet. An embedding batch takes seconds on a laptop CPU, and the
# reader must not sit idle meanwhile: 64 files cover ~15 s of reading typical documents.
READ_AHEAD_FILES = 64
READ_AHEAD_BYTES = 256 * 1024 * 1024
# One reading process: reading a folder is many times faster than embedding it (the
# Debian folder of the benchmark: read in ~30 s, embedded in an hour), the embedder
# wants the cores, and each reader holds its own tokenizer (~0.5 GB at rest).
# (How many reading processes and their per-file budgets: LibrarySettings.read_*.)
# The walk runs ahead of the reading (bounded: a home folder with a million files must
# not become a list), so the number of files is known early for most folders.
WALK_AHEAD = 10_000
WALK_SLICE = 10_000  # entries walked per turn of the loop, at most ...
WALK_SLICE_S = 0.25  # ... and for at most this long (a slow network share)
SETTLE_SLICE_S = 0.5  # time per turn for files settled without reading (unchanged ...)
POLL_WAIT_S = 0.2  # how long the loop waits for a read when there is nothing to embed
# A pass starts with small batches and doubles them up to ``embed_batch``: the first
# documents read are often long ones, and a full first batch of their passages (half a
# minute on a laptop CPU) would keep the short ones read meanwhile waiting. Smaller
# batches cost throughput (measured: 4 chunks a call ~35% slower than 32), so only
# the first few are small.
FIRST_BATCH = 4

# -- a question's own embedding (see Library.search) ----------------------------------------
QUESTION_CHUNKS = 64  # at most this many of its keyword hits embedded for it
QUESTION_SECONDS = 3.0  # ... and no new batch begun after this long
# The first batch is small: it runs beside the job's batch on the same cores (about a
# chunk a second each on a laptop CPU), and the best-ranked hits matter most.
QUESTION_FIRST_BATCH = 2


@dataclass(frozen=True)
class ScanCounts:
    """What a scan found, file by file: a scan step's ``message`` is one of these names
    (its ``item`` the file)."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    skipped: int = 0
    removed: int = 0

    def __add__(self, other: ScanCounts) -> ScanCounts:
        return ScanCounts(*(getattr(self, f.name) + getattr(other, f.name)
                            for f in fields(self)))


class Library:
    def __init__(
        self,
        home: Path | None = None,
        settings: LibrarySettings | None = None,
        embedder: TextEmbedder | None = None,
        embedder_settings: EmbedderSettings | None = None,
        *,
        writer: bool = True,
        purpose: str = "Kura",
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        """Open the library in ``home`` (the data dir by default).

        ``writer``: this process will change the library (add, sync, embed). It takes
        the library's lock first (``purpose`` names it to whoever waits: "Kura window",
        "kura add"), waiting while another process holds it (``on_wait(holder)`` is
        called once then), and holds it until ``close()``; opening the database may
        migrate it, which is a write already. ``writer=False``: search and read only;
        nothing is ever written, the vector index is checked and repaired in memory.
        """
        self.home = Path(home) if home else data_dir()
        self.settings = settings or LibrarySettings()
        self.embedder_settings = embedder_settings
        self.writer = writer
        self._lock: LibraryLock | None = None
        if writer:
            self._lock = LibraryLock(self.home, purpose)
            self._lock.acquire(wait=True, on_wait=on_wait)
        try:
            self.db = Database(self.home / "library.sqlite3", writer=writer)
        except BaseException:
            if self._lock is not None:
                self._lock.release()
            raise
        self.index = VectorIndex(
            self.home / "index" / f"vectors-{self.settings.index_dim}.hnsw",
            self.settings.index_dim,
            ef=self.settings.hnsw_ef,
            read_only=not writer,
        )
        self._embedder = embedder
        self._embedder_lock = threading.Lock()  # a search and a job may ask at once
        self._index_open = False
        # Documents recent questions hit: the embedding order serves them first.
        self._asked = RecentlyAsked()
        # Questions embedding their own passages now: the job starts no batch meanwhile
        # (they compete for the same cores, and the person is waiting for the answer).
        self._questions = 0
        self._questions_done = threading.Condition()

    # -- models, loaded when first needed --------------------------------------------

    @property
    def embedder(self) -> TextEmbedder:
        if self._embedder is None:
            with self._embedder_lock:
                if self._embedder is None:
                    self._embedder = Embedder(embedder_dir(), self.embedder_settings)
        return self._embedder

    @property
    def embedder_loaded(self) -> bool:
        return self._embedder is not None

    @property
    def chunker_spec(self) -> ChunkerSpec:
        """How the reading workers chunk: the embedder's tokenizer and the settings'
        sizes (the workers build their own ``Chunker`` from it)."""
        tokenizer = self.embedder.chunk_tokenizer
        text = str(tokenizer) if isinstance(tokenizer, str | Path) else tokenizer.to_str()
        return ChunkerSpec(text, self.settings.chunk_tokens, self.settings.chunk_overlap)

    def open_index(self, wait: bool = True) -> Job[OpenReport | None]:
        """Make the hnswlib cache agree with SQLite (rebuilding it if needed, with
        "index" steps); its report, or None when it was already open.

        Vectors made by another model are dropped first: they must be re-embedded,
        never mixed with this model's (a reader leaves them, and its dense search finds
        nothing until a writer has re-embedded). Closed mid-rebuild, the index stays
        closed and the next call rebuilds it. ``wait=False``: if another open is under
        way (a job paused in its rebuild holds it), return at once instead of waiting.
        """
        if self._index_open:
            return None
        stored = self.db.vector_model_id()
        if self.writer and stored is not None and stored != self.embedder.model_id:
            self.db.reset_vectors()
        report = yield from self.index.open_or_rebuild(self.db, wait=wait)
        if report is None:  # another open is under way, perhaps paused by its worker
            return None
        self._index_open = True
        return report

    # -- collections and folders -----------------------------------------------------

    def add(
        self,
        paths: Iterable[Path],
        collection: str | None = None,
        embed: bool = True,
        should_stop: Callable[[], bool] | None = None,
    ) -> Job[ScanCounts]:
        """Add folders (or files) to a collection, named after the folder unless given,
        then bring them up to date. Adding a folder again only does what changed.

        Every folder is recorded before any is read: if the job is stopped or killed
        halfway, the next ``sync`` reads the rest."""
        self._check_writer()
        walks: list[_Walk] = []
        for path in paths:
            root = Path(path).expanduser().resolve()
            if not root.exists():
                raise KuraError(f"{path}: no such file or folder")
            name = collection or (root.name if root.is_dir() else root.parent.name) or "Library"
            existing = self.db.get_collection(name)
            collection_id = existing.id if existing else self.db.create_collection(name)
            self.db.add_folder(collection_id, root)
            walks.append(self._walk(collection_id, root))
        return (yield from self._ingest(walks, embed, should_stop))

    def sync(
        self,
        collection: str | None = None,
        embed: bool = True,
        should_stop: Callable[[], bool] | None = None,
    ) -> Job[ScanCounts]:
        """Re-scan every folder (of one collection, or all): new files are read, changed
        ones replaced, deleted ones removed; and embed what is pending. Returns what
        the scans found, over all folders."""
        self._check_writer()
        if collection is not None and self.db.get_collection(collection) is None:
            raise KuraError(f"no collection named {collection!r}")
        walks = [self._walk(summary.id, Path(folder))
                 for summary in self.db.list_collections()
                 if collection is None or summary.name == collection
                 for folder in summary.folders]
        return (yield from self._ingest(walks, embed, should_stop))

    def remove(self, path: Path) -> list[str]:
        """Stop tracking a folder (in every collection that has it); its documents leave
        search at once. A collection left with no folder is removed too."""
        self._check_writer()
        root = str(Path(path).expanduser().resolve())
        removed: list[str] = []
        found = False
        for summary in self.db.list_collections():
            if root in summary.folders:
                found = True
                removed += self.db.remove_folder(summary.id, root)
                if len(summary.folders) == 1:
                    self.db.delete_collection(summary.id)
        if not found:
            raise KuraError(f"{path} is not in the library")
        self._drop_orphans()
        return removed

    def rename_collection(self, name: str, new_name: str) -> str:
        """Rename a collection; returns the name as stored (trimmed)."""
        self._check_writer()
        found = self.db.get_collection(name)
        if found is None:
            raise KuraError(f"no collection named {name!r}")
        self.db.rename_collection(found.id, new_name)
        renamed = self.db.get_collection_by_id(found.id)
        return renamed.name if renamed else new_name

    def retry(
        self,
        paths: Iterable[str | Path],
        embed: bool = True,
        should_stop: Callable[[], bool] | None = None,
    ) -> Job[ScanCounts]:
        """Read skipped files again, whatever their size and date say (the user fixed
        the file, or installed what was missing); still unreadable ones stay skipped
        with the new reason."""
        self._check_writer()
        wanted = {str(Path(p)) for p in paths}
        by_collection: dict[int, list[Path | Skipped]] = {}
        for doc in self.db.documents(status="skipped"):
            if doc.path in wanted:
                path = Path(doc.path)
                item: Path | Skipped = path
                if not path.is_file():
                    reason = SkipReason.VANISHED
                    item = Skipped(path, reason, UnreadableFile(path, reason, "").message)
                by_collection.setdefault(doc.collection_id, []).append(item)
        # No document known: each file is read (never "unchanged"), and nothing deleted.
        walks = [_Walk(cid, None, iter(items)) for cid, items in by_collection.items()]
        return (yield from self._ingest(walks, embed, should_stop))

    def remove_collection(self, name: str) -> None:
        self._check_writer()
        found = self.db.get_collection(name)
        if found is None:
            raise KuraError(f"no collection named {name!r}")
        self.db.delete_collection(found.id)
        self._drop_orphans()

    def status(self) -> StoreStatus:
        return self.db.status()

    def documents(self, collection: str | None = None) -> list[DocumentInfo]:
        """Every document (of one collection, or all): its state (read but not embedded
        yet, embedded, or skipped with the reason), passages, and when it was last read
        and embedded. What ``kura status --documents`` and the Documents dialog show."""
        collection_id = None
        if collection is not None:
            found = self.db.get_collection(collection)
            if found is None:
                raise KuraError(f"no collection named {collection!r}")
            collection_id = found.id
        return self.db.document_infos(collection_id, scans.MIN_PAGE_CONFIDENCE)

    def search(
        self, query: str, k: int = 10, collections: list[str] | None = None
    ) -> SearchResponse:
        """Keywords and meaning (``hybrid_search``). While the library is still being
        embedded, the passages keyword search finds for ``query`` that have no vector
        yet are embedded first (at most ``QUESTION_CHUNKS``, for about
        ``QUESTION_SECONDS``), so the dense ranking and the relevance see them, and
        their documents go first in the rest of the embedding. Safe beside a job
        running on another thread."""
        # Never wait for an open that another job is running: that job may be paused
        # mid-rebuild (the window pauses indexing while it answers) and would hold the
        # search forever. Until it finishes, search uses the graph held now.
        run_quietly(self.open_index(wait=False))
        if self.writer and self._index_open:
            self._embed_for_question(query, collections)
        # A reader leaves another model's vectors in place (a writer re-embeds them):
        # until then its query vector cannot be compared with them, so keywords only.
        stored = self.db.vector_model_id()
        return hybrid_search(self.db, self.index, self.embedder, query, collections,
                             SearchOptions(k=k),
                             use_vectors=stored is None or stored == self.embedder.model_id)

    def ocr_lines(self, path: str | Path, page: int) -> tuple[OcrLine, ...] | None:
        """The lines OCR read on ``page`` of the file at ``path`` (a scan), with their
        boxes, for the preview to highlight; None if that page was not read by OCR."""
        found = self.db.ocr_page_of(str(path), page)
        return None if found is None else found.result.lines

    def mentions(self, term: str, collections: list[str] | None = None) -> bool:
        """Whether any passage of these collections (None: all) contains ``term``, as the
        keyword index sees it (case-insensitive, whole words)."""
        scope = None
        if collections:
            scope = [i for i, n in self.db.collection_names().items() if n in collections]
        return self.db.mentions(term, scope)

    def close(self) -> None:
        try:
            if self._index_open and self.writer:
                self.index.save()
            self.db.close()
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    # -- the work ---------------------------------------------------------------------

    def _check_writer(self) -> None:
        if not self.writer:
            raise KuraError("this library is open for reading only")

    def _walk(self, collection_id: int, root: Path) -> _Walk:
        known = {d.path: d for d in self.db.documents(collection_id=collection_id)}
        return _Walk(collection_id, root, discover(root), known)

    def _ingest(self, walks: list[_Walk], embed: bool,
                should_stop: Callable[[], bool] | None) -> Job[ScanCounts]:
        """Walk, read, store and embed, interleaved (see ``_Ingest``); then embed what
        is still pending. The index is saved however the job ends."""
        embedding: _EmbedPass | None = None
        if embed:
            yield from self.open_index()
            embedding = _EmbedPass(self)
        try:
            ingest = _Ingest(self, walks, embedding, should_stop)
            counts = yield from ingest.run()
            if not ingest.stopped and (counts.changed or counts.removed):
                # Vectors of replaced passages (and any a question embedded for a
                # document re-read at that moment) are used by no chunk any more.
                self._drop_orphans()
            if embedding is not None and not ingest.stopped:
                embedding.reading_done()
                yield from embedding.rest(should_stop)
        finally:
            if embedding is not None:
                embedding.save()
        return counts

    def _open_read_pool(self) -> ReadPool:
        return ReadPool(self.chunker_spec,
                        budget=ReadBudget(seconds=self.settings.read_seconds,
                                          memory_bytes=self.settings.read_memory_bytes),
                        max_file_bytes=self.settings.max_file_bytes,
                        workers=self.settings.read_workers, ocr=self.settings.ocr)

    def _settle(self, walk: _Walk, item: Path | Skipped) -> str | _Reading:
        """What the parent decides alone: a file listed as unreadable, unchanged (by
        its size and date, or by its content hash), or gone: its outcome. Otherwise the
        file to read."""
        if isinstance(item, Skipped):
            size, mtime = _stat_or_zero(item.path)
            known = walk.known.get(str(item.path))
            if known and known.status == "skipped" and known.mtime_ns == mtime \
                    and known.size == size:
                return "unchanged"
            self.db.upsert_skipped(walk.collection_id, item.path, size, mtime, item.reason,
                                   item.message)
            return "skipped"
        known = walk.known.get(str(item))
        try:
            stat = item.stat()
        except OSError:
            return "unchanged"  # vanished since discovery: the next scan removes it
        if known and known.size == stat.st_size and known.mtime_ns == stat.st_mtime_ns \
                and not (self.settings.ocr and known.skip_reason == SkipReason.SCANNED):
            return "unchanged"  # the fast path that makes a re-sync cheap (a scan skipped
            # while OCR was off is read now that it is on)
        try:
            content_hash = sha256_file(item)
        except OSError as err:  # vanished or locked between stat and read
            reason = SkipReason.PERMISSION_DENIED if isinstance(err, PermissionError) \
                else SkipReason.VANISHED
            self.db.upsert_skipped(walk.collection_id, item, stat.st_size, stat.st_mtime_ns,
                                   str(reason), UnreadableFile(item, reason, str(err)).message)
            return "skipped"
        if known and known.content_hash == content_hash and known.status != "skipped":
            self.db.touch_document(known.id, stat.st_size, stat.st_mtime_ns)
            return "unchanged"
        return _Reading(walk, item, stat.st_size, stat.st_mtime_ns, content_hash, known)

    def _store(self, reading: _Reading, result: FileRead | UnreadableFile
               ) -> tuple[str, int | None]:
        """Store one file as read (one transaction): its outcome, and its document id
        if it has chunks to embed."""
        walk, path = reading.walk, reading.path
        if not isinstance(result, UnreadableFile) and not result.chunks:
            result = UnreadableFile(path, SkipReason.EMPTY, "no text after chunking")
        if isinstance(result, UnreadableFile):
            self.db.upsert_skipped(walk.collection_id, path, reading.size, reading.mtime_ns,
                                   str(result.reason), result.message)
            return "skipped", None
        new_chunks = [
            NewChunk(text=c.text, embed_key=embed_key(c.text, c.title), title=c.title,
                     location=c.location, page=c.page, start_char=c.start_char,
                     end_char=c.end_char)
            for c in result.chunks
        ]
        # Text that repeats another document's (the same chapter as HTML, PDF and TXT)
        # takes that text's embed_key: one vector, embedded once (core/duplicates.py).
        doc_id, _plan = duplicates.replace_document(
            self.db, walk.collection_id, path, reading.size, reading.mtime_ns,
            reading.content_hash, result.kind, result.title or path.stem, new_chunks)
        return ("changed" if reading.known else "new"), doc_id

    def embed_pending(self, should_stop: Callable[[], bool] | None = None) -> Job[int]:
        """Embed every chunk text that has no vector yet, batch by batch, each batch
        committed to SQLite and added to the index before the next begins (opening the
        index first: its rebuild is this job's "index" stage), in ``EmbedQueue``'s
        order. Returns how many chunk texts it embedded."""
        self._check_writer()
        yield from self.open_index()
        embedding = _EmbedPass(self)
        # Saved however the job ends (finished, stopped, closed by the window): a stop
        # never leaves up to a save's worth of vectors for a full rebuild to recover.
        try:
            yield from embedding.rest(should_stop)
        finally:
            embedding.save()
        return embedding.done

    def _store_vectors(self, pending: Sequence[PendingChunk], vectors: np.ndarray) -> None:
        """Commit vectors to SQLite, then add the new ones to the index."""
        ids = self.db.add_vectors(self.embedder.model_id, [
            (p.embed_key, v) for p, v in zip(pending, vectors, strict=True)])
        if ids:
            by_key = {p.embed_key: v for p, v in zip(pending, vectors, strict=True)}
            self.index.add(list(ids.values()), [by_key[k] for k in ids])

    def _embed_for_question(self, query: str, collections: list[str] | None) -> None:
        """Embed the keyword hits of ``query`` that have no vector yet, best-ranked
        first, in batches sized to end within ``QUESTION_SECONDS``."""
        names = self.db.collection_names()
        scope: list[int] | None = None
        if collections:
            scope = [i for i, n in names.items() if n in collections]
            if len(scope) < len(set(collections)):
                return  # an unknown collection: hybrid_search says so
        hits = self.db.keyword_search(query.strip(), SearchOptions().candidates, scope)
        found = self.db.get_chunks(cid for cid, _ in hits)
        ranked: list[Chunk] = [found[cid] for cid, _ in hits if cid in found]
        missing = self.db.keys_without_vectors(c.embed_key for c in ranked)
        if not missing:
            return
        self._asked.note(c.document_id for c in ranked if c.embed_key in missing)
        todo: dict[str, PendingChunk] = {}
        for c in ranked:
            if c.embed_key in missing and c.embed_key not in todo:
                todo[c.embed_key] = PendingChunk(c.embed_key, c.text, c.title)
        work = list(todo.values())[:QUESTION_CHUNKS]
        with self._question():
            deadline = time.monotonic() + QUESTION_SECONDS
            size = QUESTION_FIRST_BATCH
            while work:
                part, work = work[:size], work[size:]
                started = time.monotonic()
                vectors = self.embedder.embed_documents([p.text for p in part],
                                                        titles=[p.title for p in part])
                self._store_vectors(part, vectors)
                now = time.monotonic()
                per_chunk = (now - started) / len(part)
                size = min(int((deadline - now) / max(per_chunk, 1e-6)),
                           self.settings.embed_batch)
                if size < 1:
                    break

    @contextmanager
    def _question(self) -> Iterator[None]:
        with self._questions_done:
            self._questions += 1
        try:
            yield
        finally:
            with self._questions_done:
                self._questions -= 1
                self._questions_done.notify_all()

    def _wait_for_questions(self, timeout: float) -> bool:
        """True when no question is embedding (waiting up to ``timeout`` for it)."""
        with self._questions_done:
            return self._questions_done.wait_for(lambda: self._questions == 0, timeout)

    def _drop_orphans(self) -> None:
        orphans = self.db.delete_orphan_vectors()
        if orphans and self._index_open:
            self.index.delete(orphans)
            self.index.save()


@dataclass
class _Walk:
    """Files of one collection to bring up to date: a folder being walked (``root``),
    or files named to read again (``root`` None: nothing known, nothing deleted)."""

    collection_id: int
    root: Path | None
    items: Iterator[Path | Skipped]
    known: dict[str, Document] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)  # every file the walk found


@dataclass
class _Reading:
    """A file the readers are reading, and what the parent knows of it already."""

    walk: _Walk
    path: Path
    size: int
    mtime_ns: int
    content_hash: str
    known: Document | None


class _EmbedPass:
    """Embedding in ``EmbedQueue``'s order, a batch per ``step``, with progress."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.queue = EmbedQueue(library.db, library._asked)
        self.total = library.db.status().unembedded_keys
        self.done = 0
        self.meter = RateMeter()
        self.since_save = 0
        self.batch = min(FIRST_BATCH, library.settings.embed_batch)

    def document_stored(self, document_id: int, mtime_ns: int, chunks: int) -> None:
        self.queue.add(document_id, mtime_ns, chunks)
        self.total += chunks  # an upper bound: some texts may have vectors already

    def reading_done(self) -> None:
        """Every file is read: the total is exact from now on."""
        self.total = self.done + self.library.db.status().unembedded_keys

    @property
    def has_work(self) -> bool:
        return len(self.queue) > 0

    def step(self) -> Progress | None:
        """Embed one batch (committed, and in the index); its step, or None when
        nothing is pending."""
        library = self.library
        pending = self.queue.next_batch(self.batch)
        if not pending:
            return None
        self.batch = min(2 * self.batch, library.settings.embed_batch)
        vectors = library.embedder.embed_documents([p.text for p in pending],
                                                   titles=[p.title for p in pending])
        library._store_vectors(pending, vectors)
        self.done += len(pending)
        self.since_save += len(pending)
        if self.since_save >= library.settings.save_every:
            library.index.save()
            self.since_save = 0
        total = max(self.total, self.done)
        rate, eta = self.meter.measure(self.done, total)
        return Progress("embed", self.done, total, rate=rate, eta=eta)

    def rest(self, should_stop: Callable[[], bool] | None) -> Job[None]:
        """Embed until nothing is pending (or told to stop)."""
        while not (should_stop and should_stop()):
            if not self.library._wait_for_questions(POLL_WAIT_S):
                continue
            step = self.step()
            if step is None:
                return
            yield step

    def save(self) -> None:
        self.library.index.save()


class _Ingest:
    """The job loop of ``add``/``sync``/``retry``: one turn at a time,

    1. walk on, for up to ``WALK_SLICE`` entries or ``WALK_SLICE_S``, and at most
       ``WALK_AHEAD`` files ahead of the reading; a folder walked to its end has its
       vanished files deleted (only then: a partial walk deletes nothing);
    2. take the files found, smallest first, and settle those the parent decides
       alone (unreadable kinds, unchanged size and date or content hash); submit the
       others to the readers, until ``READ_AHEAD_FILES``/``READ_AHEAD_BYTES`` are in
       flight;
    3. store every file the readers have finished, each in its own transaction (waiting
       up to ``POLL_WAIT_S`` for one when there is nothing to embed);
    4. embed one batch (unless a question is embedding its own passages).

    Every file settled or stored is one "scan" step (its total is None until every walk
    has ended), every batch one "embed" step. Reading ends when the walks have ended
    and nothing is in flight; the caller embeds the rest.
    """

    def __init__(self, library: Library, walks: list[_Walk], embedding: _EmbedPass | None,
                 should_stop: Callable[[], bool] | None) -> None:
        self.library = library
        self.walks = deque(walks)
        self.embedding = embedding
        self.should_stop = should_stop
        self.counts = dict.fromkeys(_OUTCOMES, 0)
        self.found = 0  # files the walks found so far
        self.done = 0  # files settled or stored
        # Found and not looked at yet, smallest file first (a heap; see _walk_on).
        self.ahead: list[tuple[int, int, _Walk, Path | Skipped]] = []
        self.reading: dict[Path, list[_Reading]] = {}  # the same file in two collections
        self.bytes_in_flight = 0
        self.pool: ReadPool | None = None
        self.stopped = False
        self.ocr_engine: str | None = None  # scans.engine_id(), looked up on first need
        self.ocr_meter: tuple[Path | None, RateMeter] = (None, RateMeter())  # pages/s of a scan

    @property
    def total(self) -> int | None:
        return None if self.walks else self.found

    def run(self) -> Job[ScanCounts]:
        try:
            while True:
                if self.should_stop and self.should_stop():
                    self.stopped = True
                    break
                yield from self._walk_on()
                yield from self._settle_and_submit()
                yield from self._store_finished()
                if not (self.walks or self.ahead or self.reading):
                    break
                if self.embedding is not None and self.library._wait_for_questions(0):
                    step = self.embedding.step()
                    if step is not None:
                        yield step
        finally:
            if self.pool is not None:
                self.pool.close()
        if not self.stopped:
            # Every file is read: OCR'd pages of content no document holds any more go.
            # (Not after a stop: a scan read half-way resumes from its saved pages.)
            self.library.db.forget_unused_ocr()
        return ScanCounts(**self.counts)

    def _walk_on(self) -> Job[None]:
        walked = 0
        until = time.monotonic() + WALK_SLICE_S
        while self.walks and walked < WALK_SLICE and len(self.ahead) < WALK_AHEAD \
                and time.monotonic() < until:
            walk = self.walks[0]
            item = next(walk.items, None)
            walked += 1
            if item is not None:
                path = item.path if isinstance(item, Skipped) else item
                walk.seen.append(str(path))
                # Within what the walk has found, small files are read first: they are
                # read (and embedded) soonest, where a big PDF first in the listing
                # could take the reader minutes. Unreadable kinds cost nothing: first.
                size = -1 if isinstance(item, Skipped) else _stat_or_zero(path)[0]
                heapq.heappush(self.ahead, (size, self.found, walk, item))
                self.found += 1
                continue
            self.walks.popleft()  # walked to its end: what it did not find is gone
            yield from self._delete_missing(walk)
            if not self.walks:  # the number of files is known from now on
                yield Progress("scan", self.done, self.total)

    def _delete_missing(self, walk: _Walk) -> Job[None]:
        if walk.root is None:
            return
        library = self.library
        gone = library.db.delete_missing(walk.collection_id, walk.root, walk.seen)
        self.counts["removed"] += len(gone)
        if gone:
            library._drop_orphans()
        for key in gone:  # after the clean-up: the caller may stop at any step
            yield Progress("scan", self.done, self.total, item=key, message="removed")

    def _read_ahead_full(self) -> bool:
        in_flight = len(self.reading)
        return in_flight > 0 and (in_flight >= READ_AHEAD_FILES
                                  or self.bytes_in_flight >= READ_AHEAD_BYTES)

    def _settle_and_submit(self) -> Job[None]:
        settled: list[tuple[str, str]] = []
        until = time.monotonic() + SETTLE_SLICE_S
        while self.ahead and not self._read_ahead_full() and time.monotonic() < until:
            if self.should_stop and self.should_stop():
                break
            _size, _n, walk, item = heapq.heappop(self.ahead)
            outcome = self.library._settle(walk, item)
            if isinstance(outcome, str):
                path = item.path if isinstance(item, Skipped) else item
                settled.append((str(path), outcome))
            else:
                self._submit(outcome)
        yield from self._report(settled)

    def _submit(self, reading: _Reading) -> None:
        waiting = self.reading.setdefault(reading.path, [])
        waiting.append(reading)
        if len(waiting) == 1:  # one read serves every collection that holds the file
            if self.pool is None:  # spawned when the first file needs reading
                self.pool = self.library._open_read_pool()
            self.pool.submit(reading.path, self._recognised_before(reading))
            self.bytes_in_flight += reading.size

    def _recognised_before(self, reading: _Reading) -> dict[int, RecognisedPage]:
        """The pages of this content OCR read before (a scan killed half-way, a copy in
        another folder): the reader reuses them instead of reading them again."""
        if not self.library.settings.ocr or kind_of(reading.path) not in SCANNABLE:
            return {}
        if self.ocr_engine is None:
            self.ocr_engine = scans.engine_id() or ""
        if not self.ocr_engine:
            return {}
        return self.library.db.ocr_pages(reading.content_hash, self.ocr_engine)

    def _save_pages(self) -> list[Progress]:
        """Save each page the readers recognised as it arrives (a killed scan resumes at
        the next one); the steps that show it ("recognising page 12 of 80")."""
        assert self.pool is not None
        steps = []
        for path, news in self.pool.pages():
            readings = self.reading.get(path)
            if not readings:
                continue
            if not news.reused:
                self.library.db.save_ocr_page(readings[0].content_hash, news.page)
            if self.ocr_meter[0] != path:
                self.ocr_meter = (path, RateMeter())
            rate, eta = self.ocr_meter[1].measure(news.page.page, news.of_pages)
            steps.append(Progress("ocr", news.page.page, news.of_pages, item=str(path),
                                  rate=rate, eta=eta,
                                  message="reused" if news.reused else "recognised"))
        return steps

    def _store_finished(self) -> Job[None]:
        if self.pool is None or not self.reading:
            return
        embedding = self.embedding
        busy = embedding is not None and embedding.has_work and not self.library._questions
        wait = 0.0 if busy or (self.ahead and not self._read_ahead_full()) else POLL_WAIT_S
        stored: list[tuple[str, str]] = []
        finished = self.pool.poll(wait)
        pages = self._save_pages()  # before the files they belong to are stored
        # Everything finished is stored before the first step is shown: a job closed at
        # that step does not throw away files already read.
        for path, result in finished:
            readings = self.reading.pop(path, [])
            if readings:
                self.bytes_in_flight -= readings[0].size
            for reading in readings:
                outcome, doc_id = self.library._store(reading, result)
                stored.append((str(path), outcome))
                if doc_id is not None and embedding is not None:
                    chunks = 0 if isinstance(result, UnreadableFile) else len(result.chunks)
                    embedding.document_stored(doc_id, reading.mtime_ns, chunks)
        yield from pages
        yield from self._report(stored)

    def _report(self, outcomes: list[tuple[str, str]]) -> Job[None]:
        for key, outcome in outcomes:
            self.counts[outcome] += 1
            self.done += 1
            yield Progress("scan", self.done, self.total, item=key, message=outcome)


_OUTCOMES = tuple(f.name for f in fields(ScanCounts))
SCANNABLE = (Kind.PDF, Kind.IMAGE)  # the kinds whose pages may be read by OCR


def embed_key(text: str, title: str | None) -> str:
    return hashlib.sha256(document_input(text, title).encode("utf-8")).hexdigest()


def _stat_or_zero(path: Path) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return 0, 0
    return st.st_size, st.st_mtime_ns
