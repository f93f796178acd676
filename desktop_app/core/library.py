"""The document library: the one object the CLI and the GUI drive.

Long jobs are generators of ``Progress`` (``desktop_app.core.progress``): the caller
iterates to make progress, shows each step, and stops by closing the generator (or by
``should_stop``), which is always at a safe point: every file is stored in one
transaction, every batch of vectors in another, so a closed generator or a killed
process leaves a consistent library that the next run continues. A job's summary is its
return value: what ``add``/``sync``/``retry`` found (``ScanCounts``), how many passages
``embed_pending`` embedded, the ``OpenReport`` of ``open_index``.

Order of work, so the library is useful early: scanning and parsing run ahead of
embedding. A document is searchable by keywords the moment it is parsed and by meaning
once its chunks are embedded (embedding is the slow step: a 300M-parameter model on a
laptop CPU).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path

from desktop_app.core.chunking import Chunker
from desktop_app.core.embedder import Embedder, TextEmbedder, document_input
from desktop_app.core.errors import KuraError
from desktop_app.core.fileio import sha256_file
from desktop_app.core.ingest import Skipped, SkipReason, UnreadableFile, discover, parse
from desktop_app.core.paths import data_dir, embedder_dir
from desktop_app.core.progress import Job, Progress, RateMeter, run_quietly
from desktop_app.core.search import SearchOptions, SearchResponse, hybrid_search
from desktop_app.core.settings import EmbedderSettings, LibrarySettings
from desktop_app.core.store import (
    Database,
    Document,
    DocumentInfo,
    NewChunk,
    OpenReport,
    StoreStatus,
    VectorIndex,
)


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
    ) -> None:
        self.home = Path(home) if home else data_dir()
        self.settings = settings or LibrarySettings()
        self.embedder_settings = embedder_settings
        self.db = Database(self.home / "library.sqlite3")
        self.index = VectorIndex(
            self.home / "index" / f"vectors-{self.settings.index_dim}.hnsw",
            self.settings.index_dim,
            ef=self.settings.hnsw_ef,
        )
        self._embedder = embedder
        self._chunker: Chunker | None = None
        self._index_open = False

    # -- models, loaded when first needed --------------------------------------------

    @property
    def embedder(self) -> TextEmbedder:
        if self._embedder is None:
            self._embedder = Embedder(embedder_dir(), self.embedder_settings)
        return self._embedder

    @property
    def embedder_loaded(self) -> bool:
        return self._embedder is not None

    @property
    def chunker(self) -> Chunker:
        if self._chunker is None:
            self._chunker = Chunker(self.embedder.chunk_tokenizer, self.settings.chunk_tokens,
                                    self.settings.chunk_overlap)
        return self._chunker

    def open_index(self, wait: bool = True) -> Job[OpenReport | None]:
        """Make the hnswlib cache agree with SQLite (rebuilding it if needed, with
        "index" steps); its report, or None when it was already open.

        Vectors made by another model are dropped first: they must be re-embedded,
        never mixed with this model's. Closed mid-rebuild, the index stays closed and
        the next call rebuilds it. ``wait=False``: if another open is under way (a job
        paused in its rebuild holds it), return at once instead of waiting for it.
        """
        if self._index_open:
            return None
        stored = self.db.vector_model_id()
        if stored is not None and stored != self.embedder.model_id:
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
        roots: list[tuple[int, Path]] = []
        for path in paths:
            root = Path(path).expanduser().resolve()
            if not root.exists():
                raise KuraError(f"{path}: no such file or folder")
            name = collection or (root.name if root.is_dir() else root.parent.name) or "Library"
            existing = self.db.get_collection(name)
            collection_id = existing.id if existing else self.db.create_collection(name)
            self.db.add_folder(collection_id, root)
            roots.append((collection_id, root))
        counts = ScanCounts()
        for collection_id, root in roots:
            counts += yield from self._scan(collection_id, root, should_stop)
        if embed:
            yield from self.embed_pending(should_stop)
        return counts

    def sync(
        self,
        collection: str | None = None,
        embed: bool = True,
        should_stop: Callable[[], bool] | None = None,
    ) -> Job[ScanCounts]:
        """Re-scan every folder (of one collection, or all): new files are read, changed
        ones replaced, deleted ones removed; then embed what is pending. Returns what
        the scans found, over all folders."""
        counts = ScanCounts()
        for summary in self.db.list_collections():
            if collection is not None and summary.name != collection:
                continue
            for folder in summary.folders:
                counts += yield from self._scan(summary.id, Path(folder), should_stop)
        if collection is not None and self.db.get_collection(collection) is None:
            raise KuraError(f"no collection named {collection!r}")
        if embed:
            yield from self.embed_pending(should_stop)
        return counts

    def remove(self, path: Path) -> list[str]:
        """Stop tracking a folder (in every collection that has it); its documents leave
        search at once. A collection left with no folder is removed too."""
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
        wanted = {str(Path(p)) for p in paths}
        skipped = [d for d in self.db.documents() if d.status == "skipped" and d.path in wanted]
        counts = ScanCounts()
        for n, doc in enumerate(skipped, 1):
            if should_stop and should_stop():
                return counts
            path = Path(doc.path)
            item: Path | Skipped = path
            if not path.is_file():
                reason = SkipReason.VANISHED
                item = Skipped(path, reason, UnreadableFile(path, reason, "").message)
            outcome = self._scan_one(doc.collection_id, item, None)
            counts += ScanCounts(**{outcome: 1})
            yield Progress("scan", n, len(skipped), item=doc.path, message=outcome)
        if embed:
            yield from self.embed_pending(should_stop)
        return counts

    def remove_collection(self, name: str) -> None:
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
        return self.db.document_infos(collection_id)

    def search(
        self, query: str, k: int = 10, collections: list[str] | None = None
    ) -> SearchResponse:
        # Never wait for an open that another job is running: that job may be paused
        # mid-rebuild (the window pauses indexing while it answers) and would hold the
        # search forever. Until it finishes, search uses the graph held now.
        run_quietly(self.open_index(wait=False))
        return hybrid_search(self.db, self.index, self.embedder, query, collections,
                             SearchOptions(k=k))

    def close(self) -> None:
        if self._index_open:
            self.index.save()
        self.db.close()

    # -- the work ---------------------------------------------------------------------

    def _scan(
        self, collection_id: int, root: Path, should_stop: Callable[[], bool] | None
    ) -> Job[ScanCounts]:
        known = {d.path: d for d in self.db.documents(collection_id=collection_id)}
        seen: list[str] = []
        counts = dict.fromkeys(("new", "changed", "unchanged", "skipped", "removed"), 0)
        # Walk first, read second: walking is cheap next to parsing, and knowing how many
        # files there are lets a progress bar say how far along the reading is.
        found: list[Path | Skipped] = []
        for item in discover(root):
            if should_stop and should_stop():
                return ScanCounts(**counts)  # nothing is deleted on a partial scan
            found.append(item)
        yield Progress("scan", 0, len(found), item=str(root))
        for n, item in enumerate(found, 1):
            if should_stop and should_stop():
                return ScanCounts(**counts)
            path = item.path if isinstance(item, Skipped) else item
            key = str(path)
            seen.append(key)
            outcome = self._scan_one(collection_id, item, known.get(key))
            counts[outcome] += 1
            yield Progress("scan", n, len(found), item=key, message=outcome)
        gone = self.db.delete_missing(collection_id, root, seen)
        counts["removed"] = len(gone)
        if gone:
            self._drop_orphans()
        for key in gone:  # after the clean-up: the caller may stop at any step
            yield Progress("scan", len(found), len(found), item=key, message="removed")
        return ScanCounts(**counts)

    def _scan_one(self, collection_id: int, item: Path | Skipped, known: Document | None) -> str:
        if isinstance(item, Skipped):
            size, mtime = _stat_or_zero(item.path)
            if known and known.status == "skipped" and known.mtime_ns == mtime \
                    and known.size == size:
                return "unchanged"
            self.db.upsert_skipped(collection_id, item.path, size, mtime, item.reason,
                                   item.message)
            return "skipped"
        try:
            stat = item.stat()
        except OSError:
            return "unchanged"  # vanished since discovery: the next scan removes it
        if known and known.size == stat.st_size and known.mtime_ns == stat.st_mtime_ns:
            return "unchanged"  # the fast path that makes a re-sync cheap
        try:
            content_hash = sha256_file(item)
            if known and known.content_hash == content_hash and known.status != "skipped":
                self.db.touch_document(known.id, stat.st_size, stat.st_mtime_ns)
                return "unchanged"
            parsed = parse(item, max_bytes=self.settings.max_file_bytes)
            chunks = self.chunker.chunk(parsed)
            if not chunks:
                raise UnreadableFile(item, SkipReason.EMPTY, "no text after chunking")
        except UnreadableFile as err:
            self.db.upsert_skipped(collection_id, item, stat.st_size, stat.st_mtime_ns,
                                   str(err.reason), err.message)
            return "skipped"
        except OSError as err:  # vanished or locked between stat and read
            reason = SkipReason.PERMISSION_DENIED if isinstance(err, PermissionError) \
                else SkipReason.VANISHED
            self.db.upsert_skipped(collection_id, item, stat.st_size, stat.st_mtime_ns,
                                   str(reason), UnreadableFile(item, reason, str(err)).message)
            return "skipped"
        title = parsed.title or item.stem
        new_chunks = [
            NewChunk(
                text=c.text,
                embed_key=embed_key(c.text, c.title),
                title=c.title,
                location=c.location,
                page=c.page,
                start_char=c.start_char,
                end_char=c.end_char,
            )
            for c in chunks
        ]
        self.db.replace_document(collection_id, item, stat.st_size, stat.st_mtime_ns,
                                 content_hash, parsed.kind, title, new_chunks)
        return "changed" if known else "new"

    def embed_pending(self, should_stop: Callable[[], bool] | None = None) -> Job[int]:
        """Embed every chunk text that has no vector yet, batch by batch, each batch
        committed to SQLite and added to the index before the next begins (opening the
        index first: its rebuild is this job's "index" stage). Returns how many chunk
        texts it embedded."""
        yield from self.open_index()
        total = self.db.status().unembedded_keys
        done = 0
        meter = RateMeter()
        model_id = self.embedder.model_id
        since_save = 0
        # Saved however the job ends (finished, stopped, closed by the window): a stop
        # never leaves up to a save's worth of vectors for a full rebuild to recover.
        try:
            while True:
                if should_stop and should_stop():
                    break
                pending = self.db.pending_embed_keys(limit=self.settings.embed_batch)
                if not pending:
                    break
                vectors = self.embedder.embed_documents([p.text for p in pending],
                                                        titles=[p.title for p in pending])
                ids = self.db.add_vectors(model_id, [
                    (p.embed_key, v) for p, v in zip(pending, vectors, strict=True)
                ])
                by_key = {p.embed_key: v for p, v in zip(pending, vectors, strict=True)}
                if ids:
                    self.index.add(list(ids.values()), [by_key[k] for k in ids])
                done += len(pending)
                since_save += len(pending)
                if since_save >= self.settings.save_every:
                    self.index.save()
                    since_save = 0
                rate, eta = meter.measure(done, max(total, done))
                yield Progress("embed", done, max(total, done), rate=rate, eta=eta)
        finally:
            self.index.save()
        return done

    def _drop_orphans(self) -> None:
        orphans = self.db.delete_orphan_vectors()
        if orphans and self._index_open:
            self.index.delete(orphans)
            self.index.save()


def embed_key(text: str, title: str | None) -> str:
    return hashlib.sha256(document_input(text, title).encode("utf-8")).hexdigest()


def _stat_or_zero(path: Path) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return 0, 0
    return st.st_size, st.st_mtime_ns
