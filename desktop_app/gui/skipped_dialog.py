"""Files Kura could not read, per collection, with the reason (in the user's language);
selected ones can be tried again (after the user fixed them, say)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.store import SkippedFile
from desktop_app.gui.strings import tr
from desktop_app.gui.translate import skip_text

PATH_ROLE = Qt.ItemDataRole.UserRole


class SkippedDialog(QDialog):
    retry_requested = Signal(object)  # list of paths

    def __init__(self, skipped: Sequence[SkippedFile], names: Mapping[int, str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("skipped.title"))
        self.resize(760, 420)
        self.tree = QTreeWidget()
        self.tree.setAccessibleName(tr("skipped.title"))
        self.tree.setHeaderLabels([tr("skipped.col.file"), tr("skipped.col.reason")])
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        groups: dict[int, QTreeWidgetItem] = {}
        for file in skipped:
            group = groups.get(file.collection_id)
            if group is None:
                group = QTreeWidgetItem([names.get(file.collection_id, "?"), ""])
                groups[file.collection_id] = group
                self.tree.addTopLevelItem(group)
            reason = skip_text(file.reason, file.path, file.message)
            item = QTreeWidgetItem([file.path, reason])
            item.setData(0, PATH_ROLE, file.path)
            item.setToolTip(1, reason)
            group.addChild(item)
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)
        empty = QLabel(tr("skipped.none"))
        empty.setVisible(not skipped)
        self.retry_button = QPushButton(tr("skipped.retry"))
        self.retry_button.setAccessibleName(tr("skipped.retry"))
        self.retry_button.setEnabled(bool(skipped))
        self.retry_button.clicked.connect(self._retry)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.retry_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(empty)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)

    def paths(self, selected_only: bool = True) -> list[str]:
        items: list[QTreeWidgetItem | None] = list(self.tree.selectedItems()) \
            if selected_only else []
        if not items:  # nothing selected: try them all
            groups = [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]
            items = [group.child(j) for group in groups if group is not None
                     for j in range(group.childCount())]
        return [p for item in items if item is not None and (p := item.data(0, PATH_ROLE))]

    def _retry(self) -> None:
        self.retry_requested.emit(self.paths())
        self.accept()
