"""First launch: what Kura is, in two sentences, and getting its two models (download
with per-file progress, pause/resume, cancel, a mirror; or import from a folder).

The page is a view of ``ModelsController``: buttons call it, its signals update the page.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.answer.settings import llm_bundle
from desktop_app.core.model_files import ROLES, ModelsStatus, Role, RoleStatus
from desktop_app.core.progress import format_bytes
from desktop_app.gui.jobs import ProgressView
from desktop_app.gui.models_controller import ModelsController
from desktop_app.gui.strings import tr


def role_name(role: Role) -> str:
    """A model's label; the answer model's name and size are the catalog's."""
    if role == "llm":
        model = llm_bundle()
        return tr("welcome.role.llm", name=model.name, size=format_bytes(model.approx_bytes))
    return tr("welcome.role.embedder")


def role_state_text(role: RoleStatus) -> str:
    if role.ready:
        return tr("welcome.ready")
    if any(f.state == "corrupt" for f in role.files):
        return tr("welcome.corrupt")
    return tr("welcome.missing")


class WelcomePage(QWidget):
    continue_clicked = Signal()
    mirror_changed = Signal(str)

    def __init__(self, models: ModelsController, mirror: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.models = models
        title = QLabel(tr("welcome.title"))
        title.setObjectName("welcomeTitle")
        text = QLabel(tr("welcome.text"))
        text.setObjectName("welcomeText")
        text.setWordWrap(True)
        heading = QLabel(tr("welcome.models"))
        heading.setProperty("heading", True)

        self.role_labels: dict[str, QLabel] = {}
        self.role_bars: dict[str, QProgressBar] = {}
        form = QFormLayout()
        for role in ROLES:
            name = role_name(role)
            state = QLabel(tr("welcome.waiting"))
            state.setAccessibleName(name)
            bar = QProgressBar()
            bar.setObjectName("indexProgress")
            bar.setTextVisible(False)
            bar.setAccessibleName(name)
            bar.hide()
            box = QVBoxLayout()
            box.addWidget(state)
            box.addWidget(bar)
            form.addRow(name, box)
            self.role_labels[role] = state
            self.role_bars[role] = bar

        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setAccessibleName(tr("welcome.models"))
        self.mirror = QLineEdit(mirror)
        self.mirror.setPlaceholderText("https://huggingface.co")
        self.mirror.setAccessibleName(tr("welcome.mirror"))
        self.mirror.setToolTip(tr("welcome.mirror_help"))
        self.mirror.editingFinished.connect(lambda: self.mirror_changed.emit(self.mirror.text()))
        form.addRow(tr("welcome.mirror"), self.mirror)

        self.download_button = QPushButton(tr("welcome.download"))
        self.download_button.setProperty("primary", True)
        self.pause_button = QPushButton(tr("welcome.pause"))
        self.cancel_button = QPushButton(tr("welcome.cancel"))
        self.import_button = QPushButton(tr("welcome.import"))
        self.continue_button = QPushButton(tr("welcome.continue"))
        self.continue_button.setProperty("primary", True)
        for button in (self.download_button, self.pause_button, self.cancel_button,
                       self.import_button, self.continue_button):
            button.setAccessibleName(button.text())
        self.download_button.clicked.connect(self._download)
        self.pause_button.clicked.connect(models.pause)
        self.cancel_button.clicked.connect(models.cancel)
        self.import_button.clicked.connect(self._import)
        self.continue_button.clicked.connect(self.continue_clicked)
        buttons = QHBoxLayout()
        for button in (self.download_button, self.pause_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.continue_button)

        column = QVBoxLayout()
        column.addWidget(title)
        column.addWidget(text)
        column.addSpacing(16)
        column.addWidget(heading)
        column.addLayout(form)
        column.addWidget(self.detail)
        column.addLayout(buttons)
        column.addStretch(1)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(column, 4)
        outer.addStretch(1)

        models.status_changed.connect(self.show_status)
        models.progress.connect(self.show_progress)
        models.download_state.connect(self.show_download_state)
        # Why the last download failed (e.g. "This is not a Gemma 3 4B model file..."):
        # kept in view when the status that follows it arrives.
        self.failure = ""
        models.failed.connect(self._failed)
        models.imported.connect(self._imported)
        models.import_failed.connect(
            lambda error: self.detail.setText(tr("welcome.import_failed", error=error)))
        self.show_download_state("idle")

    def show_status(self, status: ModelsStatus) -> None:
        roles: tuple[Role, ...] = ("embedder", "llm")
        for role in roles:
            state = status.role(role)
            self.role_labels[role].setText(role_state_text(state))
            if state.ready:
                self.role_bars[role].hide()
        self.continue_button.setEnabled(status.can_index)
        if status.can_index and not status.can_answer:
            self.detail.setText("\n".join(t for t in (self.failure, tr("welcome.can_index"))
                                           if t))
        if not self.models.downloading:
            self.download_button.setEnabled(not (status.can_index and status.can_answer))

    def show_progress(self, role: str, view: ProgressView) -> None:
        bar = self.role_bars[role]
        bar.show()
        if view.fraction is not None:
            bar.setRange(0, 1000)
            bar.setValue(int(1000 * view.fraction))
        else:
            bar.setRange(0, 0)
        self.role_labels[role].setText(view.text)

    def show_download_state(self, state: str) -> None:
        running = state == "running"
        self.download_button.setEnabled(not running)
        self.download_button.setText(tr("welcome.resume") if state == "paused"
                                     else tr("welcome.download"))
        self.pause_button.setVisible(running)
        self.cancel_button.setVisible(running)
        self.import_button.setEnabled(not running)
        if state == "paused":
            self.detail.setText(tr("welcome.paused"))
        elif state == "cancelled":
            self.detail.setText(tr("welcome.cancelled"))

    def set_mirror(self, mirror: str) -> None:
        """The mirror the next download uses (the settings changed it)."""
        self.mirror.setText(mirror)

    def _failed(self, error: str) -> None:
        self.failure = tr("welcome.failed", error=error)
        self.detail.setText(self.failure)

    def _download(self) -> None:
        self.failure = ""
        self.models.download(self.mirror.text().strip())

    def _import(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, tr("welcome.choose_folder"))
        if folder:
            self.models.import_folder(Path(folder))

    def _imported(self, report: object) -> None:
        roles = ", ".join(getattr(report, "installed", {}) or
                          getattr(report, "already_ready", ()))
        self.detail.setText(tr("welcome.imported", roles=roles or "—"))
