"""Model files as the window sees them: status, download (pause, resume, cancel), import.

The core does the work (``desktop_app.core.model_files``); this object runs it on
workers and forwards its progress as signals. Pausing and cancelling both stop the
download at once; the ``.part`` files stay, so resuming (now or after a restart)
continues with an HTTP Range request instead of starting over.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop_app.core import model_files
from desktop_app.core.model_files import Cancelled, ModelsStatus, Role
from desktop_app.gui.jobs import background


class ModelsController(QObject):
    status_changed = Signal(object)  # ModelsStatus
    progress = Signal(object)  # model_files.Progress
    role_ready = Signal(str)  # "embedder" or "llm", as soon as it is installed
    download_state = Signal(str)  # "running", "paused", "cancelled", "done", "failed"
    failed = Signal(str)
    import_failed = Signal(str)
    imported = Signal(object)  # ImportReport

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.status: ModelsStatus | None = None
        self._stop = threading.Event()
        self._stop_reason = "cancelled"
        self._worker: Any = None

    @property
    def downloading(self) -> bool:
        return self._worker is not None

    def check(self) -> None:
        """Read the model files' status on a worker (hashes are cached after the first
        check, so this is quick)."""
        background(model_files.status, on_result=self._on_status,
                   on_error=lambda exc: self.failed.emit(str(exc)))

    def download(self, mirror: str = "") -> None:
        """The search model first, so indexing can start while the answer model (ten
        times bigger) is still on its way."""
        if self._worker is not None:
            return
        self._stop.clear()

        def run() -> None:
            roles_in_order: tuple[Role, ...] = ("embedder", "llm")
            for role in roles_in_order:
                roles: tuple[Role, ...] = (role,)
                model_files.fetch(roles, mirror=mirror or None, progress=self.progress.emit,
                                  should_stop=self._stop.is_set)
                self.role_ready.emit(role)

        self.download_state.emit("running")
        self._worker = background(run, on_result=lambda _r: self._finished("done"),
                                  on_error=self._on_error)

    def pause(self) -> None:
        self._stop_reason = "paused"
        self._stop.set()

    def cancel(self) -> None:
        self._stop_reason = "cancelled"
        self._stop.set()

    def import_folder(self, folder: Path) -> None:
        def run() -> model_files.ImportReport:
            return model_files.import_dir(folder, progress=self.progress.emit)

        def done(report: model_files.ImportReport) -> None:
            self.imported.emit(report)
            for role in report.installed:
                self.role_ready.emit(role)
            self.check()

        background(run, on_result=done,
                   on_error=lambda exc: self.import_failed.emit(str(exc)))

    def _on_status(self, status: ModelsStatus) -> None:
        self.status = status
        self.status_changed.emit(status)

    def _on_error(self, exc: BaseException) -> None:
        if isinstance(exc, Cancelled):
            self._finished(self._stop_reason)
        else:
            self.failed.emit(str(exc))
            self._finished("failed")

    def _finished(self, state: str) -> None:
        self._worker = None
        self.download_state.emit(state)
        self.check()
