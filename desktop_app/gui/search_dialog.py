"""Ctrl+F: search the library directly (keywords and meaning), without asking the model;
a result opens its passage in the preview. The search runs through the
``LibraryController``."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.answer import Source
from desktop_app.core.search import SearchResponse
from desktop_app.gui.library_controller import LibraryController
from desktop_app.gui.strings import tr

SOURCE_ROLE = Qt.ItemDataRole.UserRole


class SearchDialog(QDialog):
    source_chosen = Signal(object)  # a Source, as answers have

    def __init__(self, controller: LibraryController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        controller.search_finished.connect(self._show)
        controller.search_failed.connect(self._failed)
        self.setWindowTitle(tr("search.title"))
        self.resize(640, 480)
        self.query = QLineEdit()
        self.query.setPlaceholderText(tr("search.placeholder"))
        self.query.setAccessibleName(tr("search.title"))
        self.results = QListWidget()
        self.results.setWordWrap(True)
        self.results.setAccessibleName(tr("search.title"))
        # One signal: a double click is a click and an activation, two previews.
        self.results.itemActivated.connect(self._chosen)
        self.results.itemClicked.connect(
            lambda item: None if self._last_chosen is item else self._chosen(item))
        self.none = QLabel(tr("search.none"))
        self.none.hide()
        # Search as the user types, once they pause: a query embeds in ~50 ms.
        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self.run)
        self.query.textChanged.connect(lambda _t: self._debounce.start())
        self.query.returnPressed.connect(self.run)
        layout = QVBoxLayout(self)
        layout.addWidget(self.query)
        layout.addWidget(self.none)
        layout.addWidget(self.results, 1)
        self._asked = ""
        self._last_chosen: QListWidgetItem | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def run(self) -> None:
        text = self.query.text().strip()
        if not text or text == self._asked:
            return
        self._asked = text
        self.controller.search(text)

    def _show(self, response: SearchResponse) -> None:
        if response.query != self._asked:
            return  # an older search (or another dialog's) finished after this one began
        self.results.clear()
        self.none.setText(tr("search.none"))
        for n, result in enumerate(response.results, 1):
            source = Source.from_result(result, n)
            where = f" — {result.chunk.location}" if result.chunk.location else ""
            item = QListWidgetItem(f"{Path(result.path).name}{where}\n{result.snippet}")
            item.setData(SOURCE_ROLE, source)
            self.results.addItem(item)
        self.none.setVisible(not response.results)

    def _failed(self, asked: str, error: str) -> None:
        if asked != self._asked:
            return  # a newer search is on its way
        self.results.clear()
        self.none.setText(error)
        self.none.show()
        self._asked = ""  # the same words can be tried again

    def _chosen(self, item: QListWidgetItem) -> None:
        self._last_chosen = item
        self.source_chosen.emit(item.data(SOURCE_ROLE))
