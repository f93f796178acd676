"""Conversations as the window sees them: ask, stream, stop, and keep the history.

One ``Conversation`` (the core's follow-up logic) per chat; each question is answered by
a worker that iterates the core's ``AnswerStream`` and yields its text pieces to the GUI
thread. Stop calls ``AnswerStream.cancel()`` (thread-safe; the model stops at the next
token). The question is saved before answering and the answer after, so a crash loses
at most the answer being written. Chat files are read and written on a worker, through
one ``CallLane``: in the order asked, so a save is never overtaken by a later read.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop_app.core.answer import (
    Answer,
    Answerer,
    AnswerEvent,
    AnswerStream,
    Checked,
    Conversation,
    Extract,
)
from desktop_app.core.chats import Chat, ChatMessage, ChatNotFound, ChatStore
from desktop_app.core.library import Library
from desktop_app.core.preferences import Preferences
from desktop_app.gui.jobs import CallLane, background, user_message
from desktop_app.gui.strings import tr

SEARCHING = "searching"  # yielded before retrieval
WRITING = "writing"  # yielded once the passages are chosen and the model starts


class ChatController(QObject):
    chats_changed = Signal(object)  # list[Chat], newest first
    chat_opened = Signal(object)  # Chat, or None for a new conversation
    answer_started = Signal(str)  # the question
    answer_phase = Signal(str)  # SEARCHING or WRITING
    answer_piece = Signal(str)
    answer_extract = Signal(object)  # Extract: the passages' best sentences, before writing
    answer_checked = Signal(object)  # SentenceCheck: a sentence of the answer, checked
    engine_changed = Signal()  # a new answerer: its model is not loaded yet
    answer_finished = Signal(object, object)  # Answer, the saved ChatMessage
    answer_failed = Signal(str)
    busy_changed = Signal(bool)
    llm_ready = Signal()
    llm_failed = Signal(str)  # the answer model could not be loaded
    answer_resumed = Signal(str)  # the answer so far, when its conversation is reopened
    exported = Signal(str)  # the Markdown file written
    export_failed = Signal(str)
    failed = Signal(str)  # a chat file could not be read or changed

    def __init__(self, preferences: Preferences, store: ChatStore | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.preferences = preferences
        self.store = store or ChatStore()
        self.answerer: Answerer | None = None
        self.current: Chat | None = None
        self._files = CallLane(self)
        self._listed: list[Chat] = []  # as the last refresh found them
        self._view = 0  # counts the conversations shown: a save may come back too late
        # The conversation the user asked for last: a file read that comes back after
        # another click (New chat, another conversation) must not replace it.
        self._wanted: str | None = None
        self._conversations: dict[str, Conversation] = {}
        self._asking = False
        self._stream: AnswerStream | None = None
        self._worker: Any = None
        self._answer_chat_id: str | None = None  # the conversation being answered
        self._partial = ""  # its answer so far

    # -- set-up -----------------------------------------------------------------------

    def set_library(self, library: Library) -> None:
        prefs = self.preferences
        self.answerer = Answerer(library, settings=prefs.answer_settings(),
                                 llm_settings=prefs.llm_settings())

    def set_preferences(self, preferences: Preferences) -> None:
        """The answer settings apply from the next question on. Another engine (a server
        on the network turned on or off, other threads) needs a new answerer: built now,
        or when the answer being written is done; conversations start afresh with it."""
        self.preferences = preferences
        if self.answerer is not None:
            self.answerer.settings = preferences.answer_settings()
            if preferences.llm_settings() != self.answerer.llm_settings and not self.busy:
                self._rebuild_answerer()

    @property
    def engine_outdated(self) -> bool:
        return (self.answerer is not None
                and self.preferences.llm_settings() != self.answerer.llm_settings)

    def _rebuild_answerer(self) -> None:
        old = self.answerer
        assert old is not None
        self.set_library(old.library)
        self._conversations.clear()
        if old.llm_loaded:  # free the old model (gigabytes) now, off the GUI thread
            background(old.llm.close)
        self.engine_changed.emit()

    @property
    def has_library(self) -> bool:
        return self.answerer is not None

    def load_llm(self) -> None:
        """Load the answer model in the background so the first question does not wait
        for it (a 4B model takes seconds to map)."""
        answerer = self.answerer
        if answerer is None or answerer.llm_loaded:
            return

        def load() -> None:
            answerer.llm  # noqa: B018 -- loads it on this worker thread

        background(load, on_result=lambda _r: self.llm_ready.emit(),
                   on_error=lambda exc: self.llm_failed.emit(user_message(exc)))

    @property
    def llm_loaded(self) -> bool:
        return bool(self.answerer and self.answerer.llm_loaded)

    # -- history ----------------------------------------------------------------------

    @property
    def current_id(self) -> str | None:
        return self.current.id if self.current else None

    def chat_title(self, chat_id: str) -> str:
        """The title as last listed (no file is read)."""
        return next((chat.title for chat in self._listed if chat.id == chat_id), "")

    def refresh(self) -> None:
        self._files.run(self.store.list, on_result=self._on_listed, on_error=self._file_failed)

    def open_chat(self, chat_id: str) -> None:
        self._wanted = chat_id
        self._files.run(lambda: self.store.get(chat_id), on_result=self._on_opened,
                        on_error=self._file_failed)

    def new_chat(self) -> None:
        self._show(None)

    def rename_chat(self, chat_id: str, title: str) -> None:
        def renamed(chat: Chat) -> None:
            if self.current_id == chat_id:
                self.current = chat
            self.refresh()

        self._files.run(lambda: self.store.rename(chat_id, title), on_result=renamed,
                        on_error=self._file_failed)

    def delete_chat(self, chat_id: str) -> None:
        if chat_id == self._answer_chat_id:
            self.stop()  # nothing left to write the answer into

        def deleted(_result: None) -> None:
            self._conversations.pop(chat_id, None)
            if self.current_id == chat_id:
                self.new_chat()
            self.refresh()

        self._files.run(lambda: self.store.delete(chat_id), on_result=deleted,
                        on_error=self._file_failed)

    def export(self, chat_id: str, path: Path) -> None:
        """Write the chat as Markdown to ``path``; ``exported`` or ``export_failed``."""
        def write() -> None:
            path.write_text(self.store.export_markdown(chat_id), encoding="utf-8")

        self._files.run(write, on_result=lambda _r: self.exported.emit(str(path)),
                        on_error=lambda exc: self.export_failed.emit(user_message(exc)))

    def _on_listed(self, chats: list[Chat]) -> None:
        self._listed = chats
        self.chats_changed.emit(chats)

    def _on_opened(self, chat: Chat) -> None:
        if chat.id != self._wanted:
            return  # the user has moved on since asking for it
        self._show(chat)
        if chat.id == self._answer_chat_id:  # still being answered: show it so far
            self.answer_resumed.emit(self._partial)

    def _show(self, chat: Chat | None) -> None:
        self._view += 1
        self._wanted = chat.id if chat else None
        self.current = chat
        self.chat_opened.emit(chat)

    def _file_failed(self, exc: BaseException) -> None:
        self.failed.emit(user_message(exc))

    # -- asking -----------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._asking

    def ask(self, question: str, collections: Sequence[str] | None) -> bool:
        """Save the question, then answer it; False when it cannot start (busy, empty,
        no library)."""
        question = question.strip()
        if not question or self.busy or self.answerer is None:
            return False
        chat_id, view = self.current_id, self._view
        asked = ChatMessage("user", question, time.time())

        def save() -> Chat:
            return self.store.append(chat_id or self.store.create().id, asked)

        def saved(chat: Chat) -> None:
            if self._view == view:  # the user did not move on meanwhile
                self.current = chat
            self._answer(chat.id, question, collections)

        def not_saved(exc: BaseException) -> None:
            self._idle()
            self.answer_failed.emit(user_message(exc))

        self._asking = True
        self._files.run(save, on_result=saved, on_error=not_saved)
        self.answer_started.emit(question)
        self.busy_changed.emit(True)
        return True

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.cancel()

    def _answer(self, chat_id: str, question: str, collections: Sequence[str] | None) -> None:
        assert self.answerer is not None
        conversation = self._conversations.setdefault(chat_id, Conversation(self.answerer))
        conversation.collections = list(collections) if collections else None
        stream = conversation.ask(question)
        self._stream = stream

        def run() -> Iterator[AnswerEvent]:
            yield SEARCHING
            started = False
            for event in stream.events():
                if not started and (stream.prompt is not None or isinstance(event, Extract)):
                    started = True
                    yield WRITING
                yield event

        def yielded(value: AnswerEvent) -> None:
            if isinstance(value, Extract):
                self.answer_extract.emit(value)
            elif isinstance(value, Checked):
                self.answer_checked.emit(value.check)
            elif value in (SEARCHING, WRITING):
                self.answer_phase.emit(value)
            else:
                self._partial += value
                self.answer_piece.emit(value)

        self._answer_chat_id = chat_id
        self._partial = ""
        self._worker = background(run, on_yield=yielded,
                                  on_error=lambda exc: self._failed(user_message(exc)),
                                  on_result=lambda _r: self._finished(chat_id, stream))
        self.refresh()

    def _finished(self, chat_id: str, stream: AnswerStream) -> None:
        answer: Answer | None = stream.answer
        if answer is None:
            self._failed(tr("ask.ended_early"))
            return
        message = ChatMessage(
            "assistant", answer.text, time.time(),
            sources=tuple(s.as_dict() for s in answer.sources),
            passages=tuple(s.as_dict() for s in answer.passages),
            declined=answer.declined, cancelled=answer.cancelled,
            collections=tuple(answer.collections),
            extract=tuple(e.as_dict() for e in answer.extract),
            checks=tuple(c.as_dict() for c in answer.checks),
            written_by=answer.written_by)

        # Busy until saved: a conversation reopened meanwhile still resumes the answer.
        def saved(chat: Chat) -> None:
            self._idle()
            if self.current_id == chat_id:
                self.current = chat
                self.answer_finished.emit(answer, message)
            self.refresh()

        def not_saved(exc: BaseException) -> None:
            if isinstance(exc, ChatNotFound):  # deleted while it was being answered
                self._idle()
                self.refresh()
            else:
                self._failed(user_message(exc))

        self._files.run(lambda: self.store.append(chat_id, message), on_result=saved,
                        on_error=not_saved)

    def _failed(self, error: str) -> None:
        shown = self.current is not None and self.current.id == self._answer_chat_id
        self._idle()
        if shown:
            self.answer_failed.emit(error)

    def _idle(self) -> None:
        self._asking = False
        self._worker = None
        self._stream = None
        self._answer_chat_id = None
        self._partial = ""
        self.busy_changed.emit(False)
        if self.engine_outdated:
            self._rebuild_answerer()
