"""Watch mode: keep the library in sync while Kura runs.

watchdog reports file events from the OS; editors and copies produce bursts of them (a
save can be delete + create + modify), so events are collected until the folders have
been quiet for ``DEBOUNCE_S`` and then one sync runs for the collections touched. The
sync itself decides what changed (size, mtime, content hash), so a missed or duplicate
event never causes a wrong library, at worst a later pickup.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from desktop_app.core.library import Library, ScanCounts
from desktop_app.core.progress import Job, Progress

DEBOUNCE_S = 2.0


@dataclass(frozen=True)
class SyncJob:
    """One sync of one collection that watch mode asks for: iterate it to run it
    (``yield from job`` and closing work as with the sync job itself, and its summary is
    the sync's ``ScanCounts``)."""

    collection: str
    steps: Job[ScanCounts]

    def __iter__(self) -> Generator[Progress, None, ScanCounts]:
        return self.steps


class _Collector(FileSystemEventHandler):
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.paths: set[str] = set()
        self.last_event = 0.0

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return  # reads change nothing
        with self.lock:
            self.paths.add(str(event.src_path))
            self.last_event = time.monotonic()

    def take_if_quiet(self, quiet_s: float) -> set[str]:
        with self.lock:
            if not self.paths or time.monotonic() - self.last_event < quiet_s:
                return set()
            taken, self.paths = self.paths, set()
            return taken


def watch_library(
    library: Library,
    collection: str | None = None,
    should_stop: Callable[[], bool] | None = None,
    debounce_s: float = DEBOUNCE_S,
    poll_s: float = 0.2,
    on_ready: Callable[[], None] | None = None,
) -> Iterator[SyncJob]:
    """Yield one sync job (of Progress steps) per collection touched by a quiet burst
    of changes.

    The caller runs each job (so the GUI can show its progress); stop by returning True
    from ``should_stop`` or by closing the generator. ``on_ready`` is called once the
    folders are watched (from the first ``next``): a change after it is not missed.
    """
    folders: dict[str, str] = {}  # folder -> collection name
    for summary in library.db.list_collections():
        if collection is None or summary.name == collection:
            folders.update(dict.fromkeys(summary.folders, summary.name))
    collector = _Collector()
    observer = Observer()
    for folder in folders:
        if Path(folder).is_dir():
            observer.schedule(collector, folder, recursive=True)
    observer.start()
    try:
        if on_ready is not None:
            on_ready()
        while not (should_stop and should_stop()):
            changed = collector.take_if_quiet(debounce_s)
            if not changed:
                time.sleep(poll_s)
                continue
            touched = sorted({name for folder, name in folders.items()
                              if any(p == folder or p.startswith(folder.rstrip("/") + "/")
                                     or p.startswith(folder.rstrip("\\") + "\\")
                                     for p in changed)})
            for name in touched:
                yield SyncJob(name, library.sync(name))
    finally:
        observer.stop()
        observer.join(timeout=5)
