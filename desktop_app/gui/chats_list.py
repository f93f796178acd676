"""The sidebar's conversations: newest first; new, rename, delete, export as Markdown."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.chats import Chat
from desktop_app.gui.strings import tr

ID_ROLE = Qt.ItemDataRole.UserRole


class ChatsList(QWidget):
    new_clicked = Signal()
    chat_selected = Signal(str)
    rename_clicked = Signal(str)
    delete_clicked = Signal(str)
    export_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel(tr("chats.title"))
        title.setProperty("heading", True)
        self.new_button = QPushButton(tr("chats.new"))
        self.new_button.setAccessibleName(tr("chats.new"))
        self.new_button.clicked.connect(self.new_clicked)
        header = QHBoxLayout()
        header.addWidget(title)
        header.addStretch(1)
        header.addWidget(self.new_button)
        self.list = QListWidget()
        self.list.setObjectName("chats")
        self.list.setAccessibleName(tr("chats.title"))
        self.list.itemClicked.connect(lambda item: self.chat_selected.emit(item.data(ID_ROLE)))
        self.list.itemActivated.connect(  # Enter, for the keyboard and screen readers
            lambda item: self.chat_selected.emit(item.data(ID_ROLE)))
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.list, 1)

    def show_chats(self, chats: Sequence[Chat], current: str | None) -> None:
        self.list.clear()
        for chat in chats:
            item = QListWidgetItem(chat.title or tr("chats.untitled"))
            item.setData(ID_ROLE, chat.id)
            self.list.addItem(item)
            if chat.id == current:
                self.list.setCurrentItem(item)

    def _menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        chat_id = item.data(ID_ROLE)
        menu = QMenu(self)
        menu.addAction(tr("chats.rename"), lambda: self.rename_clicked.emit(chat_id))
        menu.addAction(tr("chats.export"), lambda: self.export_clicked.emit(chat_id))
        menu.addSeparator()
        menu.addAction(tr("chats.delete"), lambda: self.delete_clicked.emit(chat_id))
        menu.exec(self.list.mapToGlobal(pos))
