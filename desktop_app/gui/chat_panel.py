"""The conversation: the transcript of cards, the question box, the collection choice,
Ask and Stop. Enter asks, Shift+Enter starts a new line, Esc stops."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QDragEnterEvent, QDragMoveEvent, QDropEvent, QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.answer import Extract, ExtractItem, SentenceCheck, Source
from desktop_app.core.chats import Chat
from desktop_app.gui.message_cards import AnswerCard, QuestionCard
from desktop_app.gui.strings import tr


class QuestionEdit(QPlainTextEdit):
    """The question box. Files and folders dropped on it are for the library, not their
    paths as text: they come out as ``paths_dropped`` (Qt gives a drop to the innermost
    widget that accepts drops, and a text box does)."""

    submitted = Signal()
    paths_dropped = Signal(object)  # list[Path]

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return not source.hasUrls() and super().canInsertFromMimeData(source)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
            return
        super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
            return
        super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        paths = local_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.paths_dropped.emit(paths)
            return
        super().dropEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.submitted.emit()
            return
        super().keyPressEvent(event)


def local_paths(mime: QMimeData) -> list[Path]:
    return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()] \
        if mime.hasUrls() else []


class ScopeButton(QToolButton):
    """Which collections to search: all (the default) or the ones ticked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setToolTip(tr("ask.scope_tip"))
        self.setAccessibleName(tr("ask.scope_tip"))
        self._menu = QMenu(self)
        self.setMenu(self._menu)
        self._all = QAction(tr("ask.scope_all"), self, checkable=True, checked=True)
        self._all.toggled.connect(self._on_all)
        self._actions: dict[str, QAction] = {}
        self._update_text()

    def set_collections(self, names: Sequence[str]) -> None:
        chosen = set(self.selected() or [])
        self._menu.clear()
        self._menu.addAction(self._all)
        self._menu.addSeparator()
        self._actions = {}
        for name in names:
            action = QAction(name, self, checkable=True, checked=name in chosen)
            action.toggled.connect(self._on_one)
            self._menu.addAction(action)
            self._actions[name] = action
        if not any(a.isChecked() for a in self._actions.values()):
            self._all.setChecked(True)
        self._update_text()

    def selected(self) -> list[str] | None:
        """None means every collection."""
        if self._all.isChecked():
            return None
        return [n for n, a in self._actions.items() if a.isChecked()] or None

    def select(self, names: Sequence[str] | None) -> None:
        for name, action in self._actions.items():
            action.setChecked(bool(names) and name in (names or ()))
        self._all.setChecked(not names)
        self._update_text()

    def _on_all(self, checked: bool) -> None:
        if checked:
            for action in self._actions.values():
                action.blockSignals(True)
                action.setChecked(False)
                action.blockSignals(False)
        self._update_text()

    def _on_one(self, _checked: bool) -> None:
        any_one = any(a.isChecked() for a in self._actions.values())
        self._all.blockSignals(True)
        self._all.setChecked(not any_one)
        self._all.blockSignals(False)
        self._update_text()

    def _update_text(self) -> None:
        chosen = self.selected()
        self.setText(tr("ask.scope_all") if not chosen else
                     chosen[0] if len(chosen) == 1 else tr("ask.scope_some", count=len(chosen)))


class ChatPanel(QWidget):
    ask_requested = Signal(str, object)  # question, list of collections or None
    paths_dropped = Signal(object)  # list[Path] dropped on the question box
    stop_requested = Signal()
    source_clicked = Signal(object)  # Source

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatPanel")
        self.cards: list[QWidget] = []
        self.current_answer: AnswerCard | None = None

        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.transcript = QWidget()
        self.transcript.setObjectName("transcript")
        self.cards_layout = QVBoxLayout(self.transcript)
        self.cards_layout.addStretch(1)
        self.scroll_area.setWidget(self.transcript)
        self.hint = QLabel(tr("library.drop_hint"))
        self.hint.setObjectName("hint")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.notice = QLabel()
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.hide()

        self.question = QuestionEdit()
        self.question.setObjectName("question")
        self.question.setPlaceholderText(tr("ask.placeholder"))
        self.question.setAccessibleName(tr("ask.placeholder"))
        self.question.setFixedHeight(72)
        self.question.submitted.connect(self._submit)
        self.question.paths_dropped.connect(self.paths_dropped)
        self.scope = ScopeButton()
        self.ask_button = QPushButton(tr("ask.send"))
        self.ask_button.setProperty("primary", True)
        self.ask_button.setAccessibleName(tr("ask.send"))
        self.ask_button.clicked.connect(self._submit)
        self.stop_button = QPushButton(tr("ask.stop"))
        self.stop_button.setObjectName("stop")
        self.stop_button.setAccessibleName(tr("ask.stop"))
        self.stop_button.setToolTip("Esc")
        self.stop_button.clicked.connect(self.stop_requested)
        self.stop_button.hide()

        controls = QHBoxLayout()
        controls.addWidget(self.scope)
        controls.addStretch(1)
        controls.addWidget(self.stop_button)
        controls.addWidget(self.ask_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.hint)
        layout.addWidget(self.scroll_area, 1)
        layout.addWidget(self.notice)
        layout.addWidget(self.question)
        layout.addLayout(controls)
        self._show_hint(True)

    # -- the conversation -------------------------------------------------------------

    def show_chat(self, chat: Chat | None) -> None:
        self.clear()
        if chat is None:
            return
        for message in chat.messages:
            if message.role == "user":
                self._add(QuestionCard(message.text))
            else:
                card = self._answer_card()
                card.finish(message.text, [Source.from_dict(s) for s in message.sources],
                            [Source.from_dict(p) for p in message.passages],
                            message.declined, message.cancelled, message.collections,
                            [ExtractItem.from_dict(e) for e in message.extract],
                            [SentenceCheck.from_dict(c) for c in message.checks],
                            message.written_by)
        self._scroll_to_end()

    def clear(self) -> None:
        for card in self.cards:
            card.deleteLater()
        self.cards = []
        self.current_answer = None
        self._show_hint(True)

    def start_answer(self, question: str) -> None:
        self._add(QuestionCard(question))
        self.current_answer = self._answer_card()
        self.question.clear()
        self.set_busy(True)
        self._scroll_to_end()

    def resume_answer(self, text: str) -> None:
        """The conversation being answered was opened again: its answer goes on here."""
        self.current_answer = self._answer_card()
        self.current_answer.set_phase(tr("ask.writing"))
        if text:
            self.current_answer.append(text)
        self.set_busy(True)
        self._scroll_to_end()

    def set_phase(self, text: str) -> None:
        if self.current_answer:
            self.current_answer.set_phase(text)

    def append(self, piece: str) -> None:
        if self.current_answer:
            self.current_answer.append(piece)
            self._scroll_to_end()

    def set_extract(self, extract: Extract) -> None:
        if self.current_answer:
            self.current_answer.set_extract(extract.sentences, extract.passages)
            self._scroll_to_end()

    def mark_checked(self, check: SentenceCheck) -> None:
        if self.current_answer:
            self.current_answer.mark_checked(check)

    def finish_answer(self, text: str, sources: Sequence[Source], passages: Sequence[Source],
                      declined: bool, cancelled: bool, collections: Sequence[str],
                      extract: Sequence[ExtractItem] = (),
                      checks: Sequence[SentenceCheck] = (), written_by: str = "") -> None:
        if self.current_answer:
            self.current_answer.finish(text, sources, passages, declined, cancelled,
                                       collections, extract, checks, written_by)
        self.current_answer = None
        self.set_busy(False)
        self._scroll_to_end()

    def fail_answer(self, error: str) -> None:
        if self.current_answer:
            self.current_answer.fail(error)
        self.current_answer = None
        self.set_busy(False)

    def set_busy(self, busy: bool) -> None:
        self.stop_button.setVisible(busy)
        self.ask_button.setEnabled(not busy)

    def set_collections(self, names: Sequence[str]) -> None:
        """The collections a question can be scoped to."""
        self.scope.set_collections(names)

    def set_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    def answer_cards(self) -> list[AnswerCard]:
        return [c for c in self.cards if isinstance(c, AnswerCard)]

    # -- plumbing ---------------------------------------------------------------------

    def _submit(self) -> None:
        text = self.question.toPlainText().strip()
        if text and self.ask_button.isEnabled():
            self.ask_requested.emit(text, self.scope.selected())

    def _answer_card(self) -> AnswerCard:
        card = AnswerCard()
        card.source_clicked.connect(self.source_clicked)
        self._add(card)
        return card

    def _add(self, card: QWidget) -> None:
        self._show_hint(False)
        self.cards.append(card)
        self.cards_layout.insertWidget(self.cards_layout.count() - 1, card)

    def _show_hint(self, empty: bool) -> None:
        self.hint.setVisible(empty)
        self.scroll_area.setVisible(not empty)

    def _scroll_to_end(self) -> None:
        bar = self.scroll_area.verticalScrollBar()
        QTimer.singleShot(0, lambda: bar.setValue(bar.maximum()))
