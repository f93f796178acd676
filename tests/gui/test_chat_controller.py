"""The ChatController keeps chat files off the GUI thread: every read and write runs on
a worker, in the order asked, so a read never overtakes a save asked for before it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from desktop_app.core.chats import ChatStore
from desktop_app.core.preferences import Preferences
from desktop_app.gui.chat_controller import ChatController

TIMEOUT = 5000


@pytest.fixture
def store_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                  ) -> tuple[ChatStore, list[int]]:
    """A store that notes the thread of every file access."""
    store = ChatStore(tmp_path / "chats")
    threads: list[int] = []
    for name in ("list", "get", "create", "append", "rename", "delete", "export_markdown"):
        real: Callable[..., Any] = getattr(store, name)

        def noted(*args: Any, _real: Callable[..., Any] = real) -> Any:
            threads.append(threading.get_ident())
            return _real(*args)

        monkeypatch.setattr(store, name, noted)
    return store, threads


def test_a_read_after_a_write_sees_it_and_neither_runs_on_the_gui_thread(
        qtbot: QtBot, store_threads: tuple[ChatStore, list[int]]) -> None:
    store, threads = store_threads
    chat = store.create("Old")
    threads.clear()
    controller = ChatController(Preferences(), store)
    listed: list[list[Any]] = []
    controller.chats_changed.connect(listed.append)
    controller.rename_chat(chat.id, "New")
    with qtbot.waitSignal(controller.chat_opened, timeout=TIMEOUT) as opened:
        controller.open_chat(chat.id)
    assert opened.args[0].title == "New" and controller.current_id == chat.id
    qtbot.waitUntil(lambda: bool(listed), timeout=TIMEOUT)
    assert [c.title for c in listed[-1]] == ["New"]
    assert controller.chat_title(chat.id) == "New"  # from the listing: no file read
    assert threads and threading.get_ident() not in threads


def test_export_and_delete_run_on_a_worker(
        qtbot: QtBot, store_threads: tuple[ChatStore, list[int]], tmp_path: Path) -> None:
    store, threads = store_threads
    chat = store.create("Passwords")
    threads.clear()
    controller = ChatController(Preferences(), store)
    target = tmp_path / "chat.md"
    with qtbot.waitSignal(controller.exported, timeout=TIMEOUT) as exported:
        controller.export(chat.id, target)
    assert exported.args == [str(target)]
    assert target.read_text("utf-8").startswith("# Passwords")
    with qtbot.waitSignal(controller.chats_changed, timeout=TIMEOUT) as changed:
        controller.delete_chat(chat.id)
    assert changed.args[0] == []
    with qtbot.waitSignal(controller.failed, timeout=TIMEOUT) as failed:
        controller.open_chat(chat.id)  # deleted: said so, not raised
    assert chat.id in failed.args[0]
    assert threading.get_ident() not in threads


def test_a_conversation_read_after_the_user_moved_on_is_not_shown(
        qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Click a conversation, then New chat before its file is read: the new chat stays
    (found in review: the late read replaced it)."""
    store = ChatStore(tmp_path / "chats")
    chat = store.create("Old")
    release = threading.Event()
    real_get = store.get

    def slow_get(chat_id: str) -> Any:
        release.wait(TIMEOUT / 1000)
        return real_get(chat_id)

    monkeypatch.setattr(store, "get", slow_get)
    controller = ChatController(Preferences(), store)
    shown: list[Any] = []
    controller.chat_opened.connect(shown.append)
    controller.open_chat(chat.id)
    controller.new_chat()
    release.set()
    qtbot.wait(300)  # the read comes back meanwhile
    with qtbot.waitSignal(controller.chats_changed, timeout=TIMEOUT):
        controller.refresh()  # the file lane is in order: the read has come back before
    assert shown == [None] and controller.current_id is None

    with qtbot.waitSignal(controller.chat_opened, timeout=TIMEOUT) as opened:
        controller.open_chat(chat.id)
    assert opened.args[0].id == chat.id  # asked for and still wanted: shown


def test_another_engine_in_settings_gives_a_new_answerer_from_the_next_question(
        qtbot: QtBot, tmp_path: Path) -> None:
    from dataclasses import replace

    from desktop_app.core.answer import Answerer

    controller = ChatController(Preferences(), ChatStore(tmp_path / "chats"))
    library: Any = object()  # never searched here
    controller.set_library(library)
    first = controller.answerer
    assert isinstance(first, Answerer)
    controller._conversations["chat"] = object()  # type: ignore[assignment]
    controller.set_preferences(replace(Preferences(), max_answer_tokens=300))
    assert controller.answerer is first  # the same engine: answer settings only
    assert first.settings.max_answer_tokens == 300
    with qtbot.waitSignal(controller.engine_changed, timeout=TIMEOUT):
        controller.set_preferences(replace(Preferences(), threads=1))
    assert controller.answerer is not first and controller.answerer is not None
    assert controller.answerer.llm_settings.threads == 1
    assert controller.answerer.library is library and not controller._conversations
