"""Settings: every field of ``Preferences`` with a one-line explanation under it, and
the models' status (per file, how it was verified) with a way to download or repair them.

The answer server (off by default) is a check box and an address; whether the address is
one is the core's call (``parse_server_url``), shown under the field as it is typed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.errors import KuraError
from desktop_app.core.model_files import ModelsStatus, Role, RoleStatus
from desktop_app.core.model_files.offline import parse_server_url
from desktop_app.core.paths import data_dir, default_threads, set_data_location
from desktop_app.core.preferences import (
    ANSWER_TOKENS_RANGE,
    PASSAGES_RANGE,
    Preferences,
)
from desktop_app.core.settings import MATRYOSHKA_DIMS
from desktop_app.gui.strings import tr
from desktop_app.gui.welcome_page import role_name, role_state_text


def _with_help(widget: QWidget, help_key: str) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(widget)
    note = QLabel(tr(help_key))
    note.setWordWrap(True)
    note.setObjectName("help")
    layout.addWidget(note)
    widget.setToolTip(tr(help_key))
    return box


def verification_lines(role: RoleStatus) -> list[str]:
    """How the role's usable files were verified, one line per way: "model.onnx,
    tokenizer.json: checked on first use (no published checksum pinned)"."""
    by_way: dict[str, list[str]] = {}
    for file in role.files:
        if file.usable and file.verification:
            by_way.setdefault(file.verification, []).append(file.name)
    return [tr("settings.verification.files", files=", ".join(names),
               how=tr(f"settings.verification.{way}"))
            for way in ("pinned", "checked", "unverified") if (names := by_way.get(way))]


class SettingsDialog(QDialog):
    models_clicked = Signal()

    def __init__(self, prefs: Preferences, models: ModelsStatus | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("settings.title"))
        self.original = prefs
        form = QFormLayout()

        models_box = QVBoxLayout()
        self.verification_labels: dict[Role, QLabel] = {}
        roles: tuple[Role, ...] = ("embedder", "llm")
        for role in roles:
            status = models.role(role) if models else None
            text = f"{role_name(role)}: " + (
                f"{role_state_text(status)} — {status.target}" if status else "…")
            label = QLabel(text)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            models_box.addWidget(label)
            lines = verification_lines(status) if status else []
            if lines:
                how = QLabel("\n".join(lines))
                how.setObjectName("help")
                how.setWordWrap(True)
                how.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                how.setAccessibleName(role_name(role))
                self.verification_labels[role] = how
                models_box.addWidget(how)
        self.models_button = QPushButton(tr("settings.redownload"))
        self.models_button.clicked.connect(self._models)
        models_box.addWidget(self.models_button)
        models_widget = QWidget()
        models_widget.setLayout(models_box)
        form.addRow(tr("settings.models"), _with_help(models_widget, "settings.models_help"))

        self.threads = QSpinBox()
        self.threads.setRange(0, default_threads())
        self.threads.setValue(prefs.threads)
        self.answer_tokens = QSpinBox()
        self.answer_tokens.setRange(*ANSWER_TOKENS_RANGE)
        self.answer_tokens.setSingleStep(64)
        self.answer_tokens.setValue(prefs.max_answer_tokens)
        self.passages = QSpinBox()
        self.passages.setRange(*PASSAGES_RANGE)
        self.passages.setValue(prefs.passages_k)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setValue(prefs.decline_below)
        self.dims = QComboBox()
        for dim in MATRYOSHKA_DIMS:
            self.dims.addItem(str(dim), dim)
        self.dims.setCurrentIndex(MATRYOSHKA_DIMS.index(prefs.index_dim))
        self.theme = QComboBox()
        for value in ("system", "light", "dark"):
            self.theme.addItem(tr(f"settings.theme.{value}"), value)
        self.theme.setCurrentIndex(["system", "light", "dark"].index(prefs.theme))
        self.language = QComboBox()
        for value, name in (("system", tr("settings.language.system")),
                            ("en", "English"), ("zh_CN", "简体中文")):
            self.language.addItem(name, value)
        self.language.setCurrentIndex(["system", "en", "zh_CN"].index(prefs.language))
        self.watch = QCheckBox(tr("library.watch"))
        self.watch.setChecked(prefs.watch_folders)
        self.ocr = QCheckBox(tr("settings.ocr_enable"))
        self.ocr.setChecked(prefs.ocr)
        self.mirror = QLineEdit(prefs.mirror)
        self.mirror.setPlaceholderText("https://huggingface.co")

        self.remote_enabled = QCheckBox(tr("settings.remote_enable"))
        self.remote_enabled.setChecked(prefs.remote_llm_enabled)
        self.remote_url = QLineEdit(prefs.remote_llm_url)
        self.remote_url.setPlaceholderText("http://192.168.1.20:8080")
        self.remote_url.setAccessibleName(tr("settings.remote_url"))
        self.remote_problem = QLabel()
        self.remote_problem.setObjectName("help")
        self.remote_problem.setWordWrap(True)
        self.remote_enabled.toggled.connect(self._check_remote)
        self.remote_url.textChanged.connect(self._check_remote)
        remote_row = QWidget()
        remote_layout = QVBoxLayout(remote_row)
        remote_layout.setContentsMargins(0, 0, 0, 0)
        remote_layout.addWidget(self.remote_enabled)
        remote_layout.addWidget(self.remote_url)
        remote_layout.addWidget(self.remote_problem)
        self._check_remote()

        self.data_location: Path | None = None  # chosen in this dialog, applied on OK
        self.data_label = QLabel(str(data_dir()))
        self.data_label.setWordWrap(True)
        self.data_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        open_data = QPushButton(tr("settings.open_data"))
        open_data.setAccessibleName(tr("settings.open_data"))
        open_data.clicked.connect(
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(data_dir()))))
        self.change_data = QPushButton(tr("settings.change_data"))
        self.change_data.setAccessibleName(tr("settings.change_data"))
        self.change_data.clicked.connect(self._choose_data_location)
        data_row = QWidget()
        data_layout = QHBoxLayout(data_row)
        data_layout.setContentsMargins(0, 0, 0, 0)
        data_layout.addWidget(self.data_label, 1)
        data_layout.addWidget(open_data)
        data_layout.addWidget(self.change_data)

        for label_key, widget, help_key in (
            ("settings.threads", self.threads, "settings.threads_help"),
            ("settings.answer_tokens", self.answer_tokens, "settings.answer_tokens_help"),
            ("settings.passages", self.passages, "settings.passages_help"),
            ("settings.threshold", self.threshold, "settings.threshold_help"),
            ("settings.remote", remote_row, "settings.remote_help"),
            ("settings.dims", self.dims, "settings.dims_help"),
            ("library.watch", self.watch, "settings.watch_help"),
            ("settings.ocr", self.ocr, "settings.ocr_help"),
            ("welcome.mirror", self.mirror, "settings.mirror_help"),
            ("settings.theme", self.theme, "settings.theme_help"),
            ("settings.language", self.language, "settings.language_help"),
            ("settings.data", data_row, "settings.data_help"),
        ):
            widget.setAccessibleName(tr(label_key))
            form.addRow(tr(label_key), _with_help(widget, help_key))

        restart = QLabel(tr("settings.restart"))
        restart.setObjectName("help")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(restart)
        layout.addWidget(buttons)

    def preferences(self) -> Preferences:
        return replace(
            self.original,
            threads=self.threads.value(),
            max_answer_tokens=self.answer_tokens.value(),
            passages_k=self.passages.value(),
            decline_below=round(self.threshold.value(), 2),
            index_dim=int(self.dims.currentData()),
            theme=self.theme.currentData(),
            language=self.language.currentData(),
            watch_folders=self.watch.isChecked(),
            ocr=self.ocr.isChecked(),
            mirror=self.mirror.text().strip(),
            remote_llm_enabled=self.remote_enabled.isChecked(),
            remote_llm_url=self.remote_url.text().strip(),
        ).validated()

    def _check_remote(self) -> None:
        """The address field is live only while the option is on, and says what is wrong
        with an address the core would not use (saving it would turn the option off)."""
        on = self.remote_enabled.isChecked()
        self.remote_url.setEnabled(on)
        problem = ""
        if on:
            try:
                parse_server_url(self.remote_url.text())
            except KuraError as exc:
                problem = tr("settings.remote_invalid", detail=str(exc))
        self.remote_problem.setText(problem)
        self.remote_problem.setVisible(bool(problem))

    def _choose_data_location(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, tr("settings.data"), str(data_dir()))
        if folder:
            self.data_location = Path(folder)
            self.data_label.setText(tr("settings.data_next", path=folder))

    def apply_data_location(self) -> None:
        """Remember the folder chosen here (if any); Kura uses it from the next start."""
        if self.data_location is not None:
            set_data_location(self.data_location)

    def _models(self) -> None:
        self.models_clicked.emit()
        self.reject()
