"""Model files as the window sees them: status, download (pause, resume, cancel), import.

The core does the work (``desktop_app.core.model_files``, jobs that yield ``Progress``);
this object runs them on workers and forwards each step as ``progress_view`` sees it.
Pausing and cancelling both close the download job at its next step (every chunk); the
``.part`` files stay, so resuming (now or after a restart) continues with an HTTP Range
request instead of starting over.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from superqt.utils import GeneratorWorker

from desktop_app.core import model_files
from desktop_app.core.model_files import ModelsStatus, Role
from desktop_app.core.progress import Job, Progress
from desktop_app.gui.jobs import background, progress_view, user_message

ROLE_READY = "role-ready"  # yielded by the download job between its steps: (ROLE_READY, role)


def role_of(step: Progress) -> Role:
    """Which model a step is about: the answer model is the one GGUF file."""
    return "llm" if (step.item or "").endswith(".gguf") else "embedder"


class ModelsController(QObject):
    status_changed = Signal(object)  # ModelsStatus
    progress = Signal(str, object)  # the role, its ProgressView
    role_ready = Signal(str)  # "embedder" or "llm", as soon as it is installed
    download_state = Signal(str)  # "running", "paused", "cancelled", "done", "failed"
    failed = Signal(str)
    import_failed = Signal(str)
    imported = Signal(object)  # ImportReport

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.status: ModelsStatus | None = None
        self._stop_reason = "cancelled"
        self._worker: Any = None

    @property
    def downloading(self) -> bool:
        return self._worker is not None

    def check(self) -> None:
        """Read the model files' status on a worker (hashes are cached after the first
        check, so this is quick)."""
        background(model_files.status, on_result=self._on_status,
                   on_error=lambda exc: self.failed.emit(user_message(exc)))

    def download(self, mirror: str = "") -> None:
        """The search model first, so indexing can start while the answer model (ten
        times bigger) is still on its way."""
        if self._worker is not None:
            return

        def run() -> Iterator[Progress | tuple[str, Role]]:
            roles_in_order: tuple[Role, ...] = ("embedder", "llm")
            for role in roles_in_order:
                yield from model_files.fetch((role,), mirror=mirror or None)
                yield ROLE_READY, role

        self.download_state.emit("running")
        stopped: list[bool] = []
        worker = background(run, on_yield=self._on_step,
                            on_result=lambda _r: self._finished("done"),
                            on_error=self._on_error, start=False)
        assert isinstance(worker, GeneratorWorker)
        worker.aborted.connect(lambda *_args: stopped.append(True))
        # "finished" comes once the closed job has cleaned up (its .part file closed).
        worker.finished.connect(
            lambda *_args: self._finished(self._stop_reason) if stopped else None)
        self._worker = worker
        worker.start()

    def pause(self) -> None:
        self._stop("paused")

    def cancel(self) -> None:
        self._stop("cancelled")

    def _stop(self, reason: str) -> None:
        """Close the download at its next step (superqt checks between two yields)."""
        if self._worker is not None:
            self._stop_reason = reason
            self._worker.quit()

    def import_folder(self, folder: Path) -> None:
        def run() -> Job[model_files.ImportReport]:
            return (yield from model_files.import_dir(folder))

        def done(report: model_files.ImportReport) -> None:
            self.imported.emit(report)
            for role in report.installed:
                self.role_ready.emit(role)
            self.check()

        background(run, on_yield=self._on_step, on_result=done,
                   on_error=lambda exc: self.import_failed.emit(user_message(exc)))

    def _on_step(self, step: Progress | tuple[str, Role]) -> None:
        if isinstance(step, Progress):
            self.progress.emit(role_of(step), progress_view(step))
        else:
            self.role_ready.emit(step[1])

    def _on_status(self, status: ModelsStatus) -> None:
        self.status = status
        self.status_changed.emit(status)

    def _on_error(self, exc: BaseException) -> None:
        self.failed.emit(user_message(exc))
        self._finished("failed")

    def _finished(self, state: str) -> None:
        self._worker = None
        self.download_state.emit(state)
        self.check()
