"""Conversations as the window sees them: ask, stream, stop, and keep the history.

One ``Conversation`` (the core's follow-up logic) per chat; each question is answered by
a worker that iterates the core's ``AnswerStream`` and yields its text pieces to the GUI
thread. Stop calls ``AnswerStream.cancel()`` (thread-safe; the model stops at the next
token). The question is saved before answering and the answer after, so a crash loses
at most the answer being written.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop_app.core.answer import Answer, Answerer, AnswerStream, Conversation
from desktop_app.core.chats import Chat, ChatMessage, ChatNotFound, ChatStore
from desktop_app.core.library import Library
from desktop_app.core.preferences import Preferences
from desktop_app.gui.jobs import background
from desktop_app.gui.strings import tr

SEARCHING = "searching"  # yielded before retrieval
WRITING = "writing"  # yielded once the passages are chosen and the model starts


class ChatController(QObject):
    chats_changed = Signal(object)  # list[Chat], newest first
    chat_opened = Signal(object)  # Chat
    answer_started = Signal(str)  # the question
    answer_phase = Signal(str)  # SEARCHING or WRITING
    answer_piece = Signal(str)
    answer_finished = Signal(object, object)  # Answer, the saved ChatMessage
    answer_failed = Signal(str)
    busy_changed = Signal(bool)
    llm_ready = Signal()
    llm_failed = Signal(str)  # the answer model could not be loaded
    answer_resumed = Signal(str)  # the answer so far, when its conversation is reopened

    def __init__(self, preferences: Preferences, store: ChatStore | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.preferences = preferences
        self.store = store or ChatStore()
        self.answerer: Answerer | None = None
        self.current: Chat | None = None
        self._conversations: dict[str, Conversation] = {}
        self._stream: AnswerStream | None = None
        self._worker: Any = None
        self._answer_chat_id: str | None = None  # the conversation being answered
        self._partial = ""  # its answer so far

    # -- set-up -----------------------------------------------------------------------

    def set_library(self, library: Library) -> None:
        prefs = self.preferences
        self.answerer = Answerer(library, settings=prefs.answer_settings(),
                                 llm_settings=prefs.llm_settings())

    def load_llm(self) -> None:
        """Load the answer model in the background so the first question does not wait
        for it (a 4B model takes seconds to map)."""
        answerer = self.answerer
        if answerer is None or answerer.llm_loaded:
            return

        def load() -> None:
            answerer.llm  # noqa: B018 -- loads it on this worker thread

        background(load, on_result=lambda _r: self.llm_ready.emit(),
                   on_error=lambda exc: self.llm_failed.emit(str(exc)))

    @property
    def llm_loaded(self) -> bool:
        return bool(self.answerer and self.answerer.llm_loaded)

    # -- history ----------------------------------------------------------------------

    def refresh(self) -> None:
        self.chats_changed.emit(self.store.list())

    def open_chat(self, chat_id: str) -> None:
        self.current = self.store.get(chat_id)
        self.chat_opened.emit(self.current)
        if chat_id == self._answer_chat_id:  # still being answered: show it so far
            self.answer_resumed.emit(self._partial)

    def new_chat(self) -> None:
        self.current = None
        self.chat_opened.emit(None)

    def rename_chat(self, chat_id: str, title: str) -> None:
        chat = self.store.rename(chat_id, title)
        if self.current and self.current.id == chat_id:
            self.current = chat
        self.refresh()

    def delete_chat(self, chat_id: str) -> None:
        if chat_id == self._answer_chat_id:
            self.stop()  # nothing left to write the answer into
        self.store.delete(chat_id)
        self._conversations.pop(chat_id, None)
        if self.current and self.current.id == chat_id:
            self.new_chat()
        self.refresh()

    def export_markdown(self, chat_id: str) -> str:
        return self.store.export_markdown(chat_id)

    # -- asking -----------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def ask(self, question: str, collections: Sequence[str] | None) -> bool:
        """Start answering; False when it cannot start (busy, empty, no library)."""
        question = question.strip()
        if not question or self.busy or self.answerer is None:
            return False
        if self.current is None:
            self.current = self.store.create()
        chat_id = self.current.id
        self.current = self.store.append(chat_id, ChatMessage("user", question, time.time()))
        conversation = self._conversations.setdefault(chat_id, Conversation(self.answerer))
        conversation.collections = list(collections) if collections else None
        stream = conversation.ask(question)
        self._stream = stream

        def run() -> Iterator[str]:
            yield SEARCHING
            started = False
            for piece in stream:
                if not started and stream.prompt is not None:
                    started = True
                    yield WRITING
                yield piece

        def yielded(value: str) -> None:
            if value in (SEARCHING, WRITING):
                self.answer_phase.emit(value)
            else:
                self._partial += value
                self.answer_piece.emit(value)

        self._answer_chat_id = chat_id
        self._partial = ""

        self._worker = background(run, on_yield=yielded,
                                  on_error=lambda exc: self._failed(str(exc)),
                                  on_result=lambda _r: self._finished(chat_id, stream))
        self.answer_started.emit(question)
        self.busy_changed.emit(True)
        self.refresh()
        return True

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.cancel()

    def _finished(self, chat_id: str, stream: AnswerStream) -> None:
        answer: Answer | None = stream.answer
        if answer is None:
            self._failed(tr("ask.ended_early"))
            return
        self._idle()
        message = ChatMessage(
            "assistant", answer.text, time.time(),
            sources=tuple(s.as_dict() for s in answer.sources),
            passages=tuple(s.as_dict() for s in answer.passages),
            declined=answer.declined, cancelled=answer.cancelled,
            collections=tuple(answer.collections))
        try:
            chat = self.store.append(chat_id, message)
        except ChatNotFound:  # deleted while it was being answered
            self.refresh()
            return
        if self.current and self.current.id == chat_id:
            self.current = chat
            self.answer_finished.emit(answer, message)
        self.refresh()

    def _failed(self, error: str) -> None:
        shown = self.current is not None and self.current.id == self._answer_chat_id
        self._idle()
        if shown:
            self.answer_failed.emit(error)

    def _idle(self) -> None:
        self._worker = None
        self._stream = None
        self._answer_chat_id = None
        self._partial = ""
        self.busy_changed.emit(False)
