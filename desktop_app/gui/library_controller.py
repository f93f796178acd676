"""The library as the window sees it: collections, indexing progress, the file watcher.

It owns the core ``Library`` and the ``JobLane`` that writes to it, turns the core's
``Progress`` into one line of text and a fraction for the progress bar (``progress_view``,
the window's one reading of progress), and tells views
what changed through signals. Searches and source previews go through it too, so no
widget calls the core. No widget code here, and no library call on the GUI thread
(opening the database migrates it, which is a write).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop_app.core.answer import Source
from desktop_app.core.library import Library
from desktop_app.core.preferences import Preferences
from desktop_app.core.preview import PagePreview, TextPreview, preview
from desktop_app.core.progress import Progress
from desktop_app.core.settings import EmbedderSettings
from desktop_app.core.store import StoreStatus
from desktop_app.core.watch import watch_library
from desktop_app.gui.jobs import JobLane, background, progress_view, user_message
from desktop_app.gui.strings import tr

__all__ = ["IndexingState", "LibraryController"]

_log = logging.getLogger("kura.gui.library")

LOADING_MODEL = "loading-model"  # yielded before the embedder is loaded (takes ~1 s)
ADD, REMOVE, RENAME = "add", "remove", "rename"
CHANGES_FOLDERS = (ADD, REMOVE, RENAME)


@dataclass(frozen=True)
class IndexingState:
    """What the progress area shows."""

    text: str
    fraction: float | None  # None: busy, amount unknown
    running: bool
    paused: bool


class LibraryController(QObject):
    opened = Signal(object)  # the Library
    status_changed = Signal(object)  # StoreStatus
    documents_loaded = Signal(object, object)  # collection (None: all), list[DocumentInfo]
    documents_failed = Signal(object, str)  # collection, the error
    # Results name what was asked: a view shows only the answer to its latest request.
    search_finished = Signal(object)  # SearchResponse (its query is what was searched)
    search_failed = Signal(str, str)  # the query, the error
    preview_ready = Signal(object, object)  # the Source, its PagePreview or TextPreview
    preview_failed = Signal(object, str)  # the Source, the error
    indexing_changed = Signal(object)  # IndexingState
    error = Signal(str)

    def __init__(self, preferences: Preferences, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.preferences = preferences
        self.library: Library | None = None
        self.lane = JobLane(self)
        self.status: StoreStatus | None = None
        self.watching = False
        self._watcher: Any = None
        self._watcher_stop = threading.Event()
        self._can_index = False
        self._resumed = False
        self._paused_for_answer = False
        self.lane.progressed.connect(self._on_progress)
        self.lane.finished.connect(self._on_job_finished)
        self.lane.failed.connect(lambda _n, exc: self.error.emit(
            tr("index.failed", error=user_message(exc))))
        self.lane.paused_changed.connect(lambda _p: self._emit_state())
        self._last = IndexingState("", None, False, False)
        # The latest reading and embedding steps of the running job (``_steps_of``).
        self._steps_of: str | None = None
        self._reading: Progress | None = None
        self._embedding: Progress | None = None

    # -- opening ----------------------------------------------------------------------

    def open(self, home: Path | None = None) -> None:
        """Open (create, migrate) the library on a worker; ``opened`` follows."""
        prefs = self.preferences
        threads = prefs.embedder_threads()
        embedder_settings = EmbedderSettings(threads=threads) if threads else None

        def waiting(holder: str) -> None:
            # Called on the worker thread; the signal is delivered on the window's.
            self.indexing_changed.emit(IndexingState(tr("index.waiting_for_lock",
                                                        holder=holder), None, False, False))

        def make() -> Library:
            # The window is the library's writer while it is open (a second Kura
            # window is not opened, and a "kura add" in a terminal waits for it; the
            # window waits for a "kura add" that was there first, and says so).
            return Library(home, prefs.library_settings(), embedder_settings=embedder_settings,
                           purpose="Kura window", on_wait=waiting)

        background(make, on_result=self._on_opened, on_error=self._fail)

    def _on_opened(self, library: Library) -> None:
        self.library = library
        self.indexing_changed.emit(IndexingState("", None, False, False))
        self.opened.emit(library)
        self.refresh()

    @property
    def is_open(self) -> bool:
        return self.library is not None

    def set_can_index(self, can_index: bool) -> None:
        """Models are there: resume what a previous run left (new files, pending
        passages), then keep watching the folders."""
        self._can_index = can_index or self._can_index
        # Once per run, whichever comes second: the model check or the library's opening.
        if self._can_index and not self._resumed and self.library is not None:
            self._resumed = True
            self._submit("resume", lambda lib: lib.sync())
            self._restart_watcher()

    @property
    def can_index(self) -> bool:
        return self._can_index

    # -- what the user does -----------------------------------------------------------

    def add(self, paths: list[Path], collection: str | None) -> None:
        """Add to ``collection``; None: each folder becomes a collection of its name."""
        self._submit(ADD, lambda lib: lib.add(paths, collection))

    def sync(self, collection: str | None = None) -> None:
        self._submit("sync", lambda lib: lib.sync(collection))

    def retry(self, paths: list[str]) -> None:
        self._submit("retry", lambda lib: lib.retry(paths))

    def remove_collection(self, name: str) -> None:
        self._change(REMOVE, lambda lib: lib.remove_collection(name))

    def rename_collection(self, name: str, new_name: str) -> None:
        self._change(RENAME, lambda lib: lib.rename_collection(name, new_name))

    def pause(self) -> None:
        self.lane.pause()

    def resume(self) -> None:
        self.lane.resume()

    def stop(self) -> None:
        self.lane.stop()

    def pause_for_answer(self, answering: bool) -> None:
        """Answering and embedding compete for the same CPU cores: hold indexing while
        an answer is written, unless the user paused it themselves."""
        if answering and self.lane.busy and not self.lane.paused:
            self._paused_for_answer = True
            self.lane.pause()
        elif not answering and self._paused_for_answer:
            self._paused_for_answer = False
            self.lane.resume()

    def set_watching(self, on: bool) -> None:
        self.preferences = replace(self.preferences, watch_folders=on)
        self._restart_watcher()

    def set_ocr(self, on: bool) -> None:
        """Scans are read (or not) from the next file the library reads; turned on, the
        scans skipped while it was off are read now (a sync reads them again)."""
        turned_on = on and not self.preferences.ocr
        self.preferences = replace(self.preferences, ocr=on)
        if self.library is not None:
            self.library.settings = replace(self.library.settings, ocr=on)
            if turned_on and self._can_index:
                self.sync()

    def refresh(self) -> None:
        if self.library is None:
            return
        library = self.library
        background(library.status, on_result=self._on_status, on_error=self._fail)

    def load_documents(self, collection: str | None) -> None:
        """Every document of ``collection`` (None: all) with its state and times, read on
        a worker; ``documents_loaded`` follows, or ``documents_failed`` (the collection
        was removed or renamed meanwhile, say)."""
        if self.library is None:
            return
        background(self.library.documents, collection,
                   on_result=lambda rows: self.documents_loaded.emit(collection, rows),
                   on_error=lambda exc: self.documents_failed.emit(collection,
                                                                   user_message(exc)))

    def search(self, query: str) -> None:
        """Search the library (keywords and meaning) on a worker; ``search_finished``
        follows, or ``search_failed``."""
        if self.library is None:
            return
        background(self.library.search, query, on_result=self.search_finished.emit,
                   on_error=lambda exc: self.search_failed.emit(query, user_message(exc)))

    def load_preview(self, source: Source) -> None:
        """The source's page (PDF or image) or its text around the passage, rendered or
        re-read on a worker from the file itself (and, for a scan, the lines OCR saved,
        when the library is open); ``preview_ready`` follows, or ``preview_failed``."""
        library = self.library

        def render() -> PagePreview | TextPreview:
            # A scanned page's lines, as OCR saved them: the preview boxes the passage's.
            lines = None if library is None or source.page is None \
                else library.ocr_lines(source.path, source.page)
            return preview(Path(source.path), source.text or source.snippet,
                           page=source.page, start_char=source.start_char,
                           end_char=source.end_char, location=source.location,
                           ocr_lines=lines)

        background(render,
                   on_result=lambda result: self.preview_ready.emit(source, result),
                   on_error=lambda exc: self.preview_failed.emit(source, user_message(exc)))

    def collection_names(self) -> list[str]:
        return [c.name for c in self.status.collections] if self.status else []

    def shutdown(self) -> None:
        """Stop the watcher and the running job at their next safe point."""
        self._stop_watcher()
        self.lane.stop()

    def close(self, workers_done: bool) -> None:
        """After ``shutdown``: detach the library first (signals of the stopped jobs still
        queued for this thread then find none to refresh or watch), then close it, which
        saves the vector index, unless a worker is still inside it (a model loading):
        SQLite stays consistent, and the next start reconciles the index with it."""
        library, self.library = self.library, None
        if library is None:
            return
        if workers_done:
            library.close()
        else:
            _log.warning("closing with work still running; the library stays open")

    # -- plumbing ---------------------------------------------------------------------

    def _submit(self, name: str, job: Callable[[Library], Iterator[Progress]]) -> None:
        library = self.library
        if library is None:
            return

        def run() -> Iterator[Any]:
            if not library.embedder_loaded:
                yield LOADING_MODEL
                # Loaded here, on this worker, before any file is read (the reading
                # workers build their own chunkers from its tokenizer).
                library.embedder  # noqa: B018
            yield from job(library)

        self.lane.submit(name, run)
        self._emit_state()

    def _change(self, name: str, change: Callable[[Library], Any]) -> None:
        """Remove or rename: through the lane like every write, ahead of the queue and
        stopping the running job (it may be indexing that very collection); then what
        was stopped carries on through a sync."""
        library = self.library
        if library is None:
            return
        interrupted = self.lane.current is not None

        def run() -> Iterator[Any]:
            change(library)
            yield from ()

        self.lane.interrupt(name, run)
        if interrupted and self._can_index:
            self._submit("resume", lambda lib: lib.sync())

    def _on_progress(self, name: str, event: object) -> None:
        view: tuple[str, float | None]
        if event == LOADING_MODEL:
            view = (tr("index.loading"), None)
        elif isinstance(event, Progress):
            view = self._interleaved_view(name, event)
        else:
            view = ("", None)
        self._last = IndexingState(*view, True, self.lane.paused)
        self.indexing_changed.emit(self._last)
        if isinstance(event, Progress) and event.stage == "scan" and event.done \
                and event.done % 25 == 0:
            self.refresh()

    def _interleaved_view(self, name: str, step: Progress) -> tuple[str, float | None]:
        """One line for a job that reads and embeds at once: both stages' news side by
        side (the line would flicker between them otherwise), and the bar of the reading
        until every file is read, then of the embedding."""
        if name != self._steps_of:
            self._steps_of, self._reading, self._embedding = name, None, None
        if step.stage == "scan":
            self._reading = step
        elif step.stage == "embed":
            self._embedding = step
        else:
            shown = progress_view(step)
            return shown.text, shown.fraction
        reading, embedding = self._reading, self._embedding
        still_reading = reading is not None and (reading.total is None
                                                 or reading.done < reading.total)
        if reading is None or embedding is None or not still_reading:
            shown = progress_view(step)
            return shown.text, shown.fraction
        return (tr("index.both", scan=progress_view(reading).text,
                   embed=progress_view(embedding).text), reading.fraction)

    def _on_job_finished(self, name: str, completed: bool) -> None:
        self._steps_of = None
        self.refresh()
        if name in CHANGES_FOLDERS:
            self._restart_watcher()  # the set of folders to watch changed
        if not self.lane.busy:
            text = tr("index.done") if completed else tr("index.cancelled")
            self.indexing_changed.emit(IndexingState(text, 1.0 if completed else None,
                                                     False, False))

    def _emit_state(self) -> None:
        if self.lane.paused:
            key = "index.paused_for_answer" if self._paused_for_answer else "index.paused"
            self.indexing_changed.emit(IndexingState(tr(key), self._last.fraction, True, True))
        elif self.lane.busy:
            self.indexing_changed.emit(IndexingState(self._last.text or tr("index.scan_unknown"),
                                                     self._last.fraction, True, False))

    def _on_status(self, status: StoreStatus) -> None:
        self.status = status
        self.status_changed.emit(status)

    def _fail(self, exc: BaseException) -> None:
        self.error.emit(user_message(exc))

    def _restart_watcher(self) -> None:
        self._stop_watcher()
        self.watching = bool(self.preferences.watch_folders and self._can_index
                             and self.library is not None)
        if not self.watching:
            return
        library = self.library
        assert library is not None
        # watch_library sleeps between polls without yielding, so it is stopped by its
        # own should_stop rather than superqt's quit (checked only between yields).
        stop = threading.Event()
        self._watcher_stop = stop
        self._watcher = background(
            watch_library, library, should_stop=stop.is_set,
            on_yield=lambda job: self.lane.submit("watch", lambda: job),
            on_error=self._fail,
        )

    def _stop_watcher(self) -> None:
        if self._watcher is not None:
            self._watcher_stop.set()
            self._watcher.quit()
            self._watcher = None
