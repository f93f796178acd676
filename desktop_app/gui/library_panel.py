"""The sidebar's library: collections with their counts and state, the buttons that act
on them, and the indexing progress (bar, files and passages, rate, ETA, pause, stop)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.store import CollectionSummary, StoreStatus
from desktop_app.gui.library_controller import IndexingState
from desktop_app.gui.strings import tr

NAME_ROLE = Qt.ItemDataRole.UserRole


def collection_state(summary: CollectionSummary, indexing: bool) -> str:
    parsed = summary.by_status.get("parsed", 0)
    skipped = summary.by_status.get("skipped", 0)
    if parsed:
        state = tr("library.state.indexing") if indexing else tr("library.state.pending")
    else:
        state = tr("library.state.ready")
    if skipped:
        state += " · " + tr("library.state.errors", count=skipped)
    return state


class TwoLineDelegate(QStyledItemDelegate):
    """Draws an item's text as two lines: the first (the name) bold, the second (counts
    and state) smaller and muted. The item keeps its plain text for screen readers."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
                 ) -> QSize:
        height = option.fontMetrics.lineSpacing() * 2 + 16
        return QSize(option.rect.width(), height)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        panel = QStyleOptionViewItem(option)
        self.initStyleOption(panel, index)
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")  # panel.text has U+2028
        panel.text = ""
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, panel, painter, widget)
        name, _, detail = text.partition("\n")
        rect = option.rect.adjusted(10, 6, -10, -6)
        line = option.fontMetrics.lineSpacing()
        painter.save()
        bold = QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(panel.palette.color(QPalette.ColorRole.Text))
        painter.drawText(rect.adjusted(0, 0, 0, -line), Qt.AlignmentFlag.AlignLeft,
                         QFontMetrics(bold).elidedText(name, Qt.TextElideMode.ElideRight,
                                                      rect.width()))
        painter.setFont(option.font)
        muted = QColor(panel.palette.color(QPalette.ColorRole.Text))
        muted.setAlpha(170)  # the name's colour, lighter: readable on any selection colour
        painter.setPen(muted)
        painter.drawText(rect.adjusted(0, line, 0, 0), Qt.AlignmentFlag.AlignLeft,
                         option.fontMetrics.elidedText(
                             detail, Qt.TextElideMode.ElideRight, rect.width()))
        painter.restore()


class LibraryPanel(QWidget):
    add_clicked = Signal()
    sync_clicked = Signal(str)  # collection name
    remove_clicked = Signal(str)
    rename_clicked = Signal(str)
    documents_clicked = Signal(str)
    skipped_clicked = Signal()
    watch_toggled = Signal(bool)
    pause_clicked = Signal()
    resume_clicked = Signal()
    stop_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.indexing = False
        self.watching = False
        self._status: StoreStatus | None = None

        title = QLabel(tr("library.title"))
        title.setProperty("heading", True)
        self.add_button = QPushButton(tr("library.add"))
        self.add_button.setToolTip(tr("library.add_tip"))
        self.add_button.setAccessibleName(tr("library.add"))
        self.add_button.clicked.connect(self.add_clicked)
        header = QHBoxLayout()
        header.addWidget(title)
        header.addStretch(1)
        header.addWidget(self.add_button)

        self.list = QListWidget()
        self.list.setObjectName("collections")
        self.list.setAccessibleName(tr("library.title"))
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setItemDelegate(TwoLineDelegate(self.list))
        self.empty = QLabel(tr("library.empty"))
        self.empty.setWordWrap(True)
        self.empty.setObjectName("hint")

        self.sync_button = QPushButton(tr("library.sync"))
        self.rename_button = QPushButton(tr("library.rename"))
        self.remove_button = QPushButton(tr("library.remove"))
        self.documents_button = QPushButton(tr("library.documents"))
        self.documents_button.setToolTip(tr("library.documents_tip"))
        self.skipped_button = QPushButton(tr("library.skipped"))
        for button, signal in ((self.sync_button, self.sync_clicked),
                               (self.rename_button, self.rename_clicked),
                               (self.remove_button, self.remove_clicked),
                               (self.documents_button, self.documents_clicked)):
            button.setAccessibleName(button.text())
            button.clicked.connect(lambda _c=False, s=signal: self._emit_selected(s))
        self.skipped_button.setAccessibleName(self.skipped_button.text())
        self.skipped_button.clicked.connect(self.skipped_clicked)
        actions = QHBoxLayout()
        for button in (self.sync_button, self.rename_button, self.remove_button):
            actions.addWidget(button)
        files = QHBoxLayout()
        files.addWidget(self.documents_button)
        files.addWidget(self.skipped_button)
        self.watch_box = QCheckBox(tr("library.watch"))
        self.watch_box.setToolTip(tr("settings.watch_help"))
        self.watch_box.toggled.connect(self.watch_toggled)

        self.progress = QProgressBar()
        self.progress.setObjectName("indexProgress")
        self.progress.setAccessibleName(tr("index.progress_name"))
        self.progress.setTextVisible(False)
        self.progress_text = QLabel()
        self.progress_text.setObjectName("progressText")
        self.progress_text.setWordWrap(True)
        self.pause_button = QPushButton(tr("index.pause"))
        self.pause_button.setAccessibleName(tr("index.pause"))
        self.pause_button.clicked.connect(self._toggle_pause)
        self.stop_button = QPushButton(tr("index.cancel"))
        self.stop_button.setAccessibleName(tr("index.cancel"))
        self.stop_button.clicked.connect(self.stop_clicked)
        progress_buttons = QHBoxLayout()
        progress_buttons.addStretch(1)
        progress_buttons.addWidget(self.pause_button)
        progress_buttons.addWidget(self.stop_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty)
        layout.addLayout(actions)
        layout.addLayout(files)
        layout.addWidget(self.watch_box)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_text)
        layout.addLayout(progress_buttons)
        self._paused = False
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.show_indexing(IndexingState("", None, False, False))
        self.show_status(None)

    # -- state in ---------------------------------------------------------------------

    def show_status(self, status: StoreStatus | None) -> None:
        self._status = status
        selected = self.selected()
        self.list.clear()
        collections = status.collections if status else []
        for summary in collections:
            text = tr("library.row", name=summary.name, documents=summary.documents,
                      chunks=summary.chunks,
                      state=collection_state(summary, self.indexing))
            item = QListWidgetItem(text)
            item.setData(NAME_ROLE, summary.name)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, text.replace("\n", ", "))
            item.setToolTip("\n".join(summary.folders))
            self.list.addItem(item)
            if summary.name == selected:
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)
        self.empty.setVisible(not collections)
        self.list.setVisible(bool(collections))
        skipped = len(status.skipped) if status else 0
        self.skipped_button.setText(tr("library.skipped") + (f" ({skipped})" if skipped else ""))
        self._update_buttons()

    def show_indexing(self, state: IndexingState) -> None:
        was = self.indexing
        self.indexing = state.running
        self._paused = state.paused
        self.progress_text.setText(state.text)
        self.progress_text.setVisible(bool(state.text))
        self.progress.setVisible(state.running)
        if state.fraction is None:
            self.progress.setRange(0, 0 if state.running and not state.paused else 1)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(state.fraction * 1000))
        self.pause_button.setVisible(state.running)
        self.stop_button.setVisible(state.running)
        self.pause_button.setText(tr("index.resume") if state.paused else tr("index.pause"))
        if was != self.indexing:
            self.show_status(self._status)

    def set_watching(self, on: bool) -> None:
        self.watching = on
        self.watch_box.blockSignals(True)
        self.watch_box.setChecked(on)
        self.watch_box.blockSignals(False)

    def selected(self) -> str | None:
        item = self.list.currentItem()
        return item.data(NAME_ROLE) if item else None

    # -- plumbing ---------------------------------------------------------------------

    def _emit_selected(self, signal: Signal) -> None:
        name = self.selected()
        if name:
            signal.emit(name)  # type: ignore[attr-defined]

    def _toggle_pause(self) -> None:
        (self.resume_clicked if self._paused else self.pause_clicked).emit()

    def _update_buttons(self) -> None:
        has = self.selected() is not None
        for button in (self.sync_button, self.rename_button, self.remove_button,
                       self.documents_button):
            button.setEnabled(has)
