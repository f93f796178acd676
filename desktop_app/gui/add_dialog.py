"""Where dropped folders go: a new collection named after the folder (editable), or one
the user already has. Several folders dropped at once become one collection each unless
the user names one collection for them all."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from desktop_app.gui.strings import tr

EACH_OWN = ""  # ask()'s answer for "every folder its own collection"


def default_collection_name(paths: Sequence[Path]) -> str:
    first = Path(paths[0])
    return (first.name if first.is_dir() else first.parent.name) or "Library"


class AddDialog(QDialog):
    def __init__(self, paths: Sequence[Path], existing: Sequence[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("library.add_title"))
        what = Path(paths[0]).name if len(paths) == 1 else f"{len(paths)} × …"
        label = QLabel(tr("library.add_label", what=what))
        self.name = QComboBox()
        self.name.setEditable(True)
        self.name.setAccessibleName(tr("library.add_title"))
        self.each_own = len(paths) > 1
        if self.each_own:
            self.name.addItem(tr("library.add_each"), EACH_OWN)
        else:
            self.name.addItem(default_collection_name(paths))
        self.name.addItems([n for n in existing if n != self.name.itemText(0)])
        self.name.setCurrentIndex(0)
        help_text = QLabel(tr("library.add_help"))
        help_text.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (label, self.name, help_text, buttons):
            layout.addWidget(widget)

    def collection(self) -> str:
        if self.each_own and self.name.currentIndex() == 0 \
                and self.name.currentText() == self.name.itemText(0):
            return EACH_OWN
        return self.name.currentText().strip()

    @classmethod
    def ask(cls, paths: Sequence[Path], existing: Sequence[str],
            parent: QWidget | None = None) -> str | None:
        """The collection to add ``paths`` to, ``EACH_OWN``, or None if cancelled."""
        dialog = cls(paths, existing, parent)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        choice = dialog.collection()
        return choice if choice or dialog.each_own else default_collection_name(paths)
