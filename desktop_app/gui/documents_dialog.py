"""Every document of a collection: whether it is indexed, read and waiting, or skipped
(and why), its passages, and when Kura last read and indexed it; sortable by any column.

The rows are ``DocumentInfo`` from ``LibraryController.load_documents`` (read on a
worker); the dialog only shows them, like ``kura status --documents``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.store import DocumentInfo
from desktop_app.gui.strings import tr
from desktop_app.gui.translate import skip_text

PATH_ROLE = Qt.ItemDataRole.UserRole
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
FILE, STATE, PASSAGES, READ, EMBEDDED, OCR = range(6)
_STATE_ORDER = {"embedded": 0, "parsed": 1, "skipped": 2}


def state_text(doc: DocumentInfo) -> str:
    if doc.state == "skipped":
        return tr("documents.state.skipped", reason=skip_text(doc.reason, doc.path, doc.message))
    return tr(f"documents.state.{doc.state}")


def ocr_text(doc: DocumentInfo) -> str:
    """What OCR read of it: pages and mean confidence; empty for a document with text."""
    if doc.ocr is None:
        return ""
    return tr("documents.ocr", pages=doc.ocr.pages, confidence=f"{doc.ocr.confidence:.0%}")


def time_text(timestamp: float | None) -> str:
    """Local time, to the minute; a dash for never."""
    if timestamp is None:
        return "—"
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def _item(text: str, sort_key: object) -> QStandardItem:
    item = QStandardItem(text)
    item.setData(sort_key, SORT_ROLE)
    item.setEditable(False)
    return item


class DocumentsDialog(QDialog):
    def __init__(self, collection: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.collection = collection
        self.setWindowTitle(tr("documents.title", name=collection))
        self.resize(860, 480)
        self.model = QStandardItemModel(0, 6, self)
        self.model.setHorizontalHeaderLabels([
            tr("documents.col.file"), tr("documents.col.state"), tr("documents.col.passages"),
            tr("documents.col.read"), tr("documents.col.embedded"), tr("documents.col.ocr"),
        ])
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setObjectName("documents")
        self.table.setAccessibleName(tr("documents.title", name=collection))
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(FILE, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(STATE, QHeaderView.ResizeMode.Stretch)
        self.summary = QLabel(tr("documents.loading"))
        self.summary.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)

    def show_documents(self, collection: str | None, documents: Sequence[DocumentInfo]) -> None:
        """The rows for ``collection`` (rows for another collection are not ours)."""
        if collection != self.collection:
            return
        self.model.removeRows(0, self.model.rowCount())
        for doc in documents:
            file = _item(doc.relative_path, doc.relative_path.casefold())
            file.setData(doc.path, PATH_ROLE)
            file.setToolTip(doc.path)
            state = _item(state_text(doc), f"{_STATE_ORDER.get(doc.state, 3)} {doc.reason or ''}")
            if doc.state == "skipped":
                state.setToolTip(f"{skip_text(doc.reason, doc.path, doc.message)} ({doc.reason})")
            passages = _item(str(doc.chunks), doc.chunks)
            passages.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            read = _item(time_text(doc.read_at), doc.read_at or 0.0)
            embedded = _item(time_text(doc.embedded_at), doc.embedded_at or 0.0)
            ocr = _item(ocr_text(doc), doc.ocr.confidence if doc.ocr else -1.0)
            if doc.ocr is not None and doc.ocr.low_pages:
                ocr.setToolTip(tr("documents.ocr_low",
                                  pages=", ".join(map(str, doc.ocr.low_pages))))
            self.model.appendRow([file, state, passages, read, embedded, ocr])
        counts = {s: sum(1 for d in documents if d.state == s) for s in _STATE_ORDER}
        self.summary.setText(tr("documents.summary", count=len(documents), **counts)
                             if documents else tr("documents.none"))
        self.table.resizeColumnsToContents()

    def show_failure(self, collection: str | None, error: str) -> None:
        if collection == self.collection:
            self.summary.setText(tr("documents.failed", error=error))

    def rows(self) -> list[list[str]]:
        """The cells as shown, in the order shown (sorting included)."""
        return [[str(self.proxy.index(r, c).data() or "") for c in range(self.proxy.columnCount())]
                for r in range(self.proxy.rowCount())]
