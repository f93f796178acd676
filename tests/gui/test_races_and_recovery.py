"""The window when things overlap or go wrong: a job or an answer that raises, a
conversation deleted or reopened while it is answered, late previews and searches, a
collection removed while it is indexed, closing while work runs, settings that must
reach the next action. Each test was written against a defect found in review."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop_app.core.answer import Answerer, Source
from desktop_app.core.chats import ChatStore
from desktop_app.core.preferences import Preferences
from desktop_app.gui import library_controller
from desktop_app.gui.chat_controller import ChatController
from desktop_app.gui.chats_list import ChatsList
from desktop_app.gui.jobs import JobLane
from desktop_app.gui.library_controller import LibraryController
from desktop_app.gui.preview_pane import PreviewPane
from desktop_app.gui.search_dialog import SearchDialog
from tests.gui.test_end_to_end import (  # noqa: F401 -- fixtures
    PREFS,
    close_window,
    drop,
    drop_into,
    models,
    open_window,
    wait_indexed,
    window_answering,
)
from tests.support.samples import FIXTURES

IT_FOLDER = FIXTURES / "corp_kb" / "IT 与安全"


# -- workers: a RuntimeError is swallowed by superqt ----------------------------------


def test_a_library_job_that_raises_runtime_error_ends(qtbot: QtBot) -> None:
    lane = JobLane()

    def job() -> Iterator[int]:
        yield 1
        raise RuntimeError("llama_decode returned -3")  # what native libraries raise

    failed: list[object] = []
    lane.failed.connect(lambda _name, exc: failed.append(exc))
    lane.submit("sync", job)
    qtbot.wait(2000)  # the job raises at once
    assert not lane.busy, "the lane is stuck: no later job (add, sync, watch) will run"
    assert failed, "and the user was never told"


def test_an_answer_that_raises_runtime_error_ends(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken:
        prompt = None
        answer = None

        def events(self) -> Iterator[str]:
            raise RuntimeError("llama_decode returned -3")
            yield ""  # pragma: no cover -- makes this a generator

        def cancel(self) -> None:
            pass

    monkeypatch.setattr("desktop_app.gui.chat_controller.Conversation.ask",
                        lambda self, question: Broken())
    controller = ChatController(Preferences(), ChatStore(tmp_path / "chats"))
    library: Any = object()  # never searched: the stream raises first
    controller.answerer = Answerer(library, llm_settings=Preferences().llm_settings())
    states: list[bool] = []
    controller.busy_changed.connect(states.append)
    assert controller.ask("how?", None)
    qtbot.wait(2000)  # the answer raises at once
    assert states[-1] is False, "the window still shows the answer as running"
    assert not controller.busy, "every later question is refused"


# -- answers and conversations ---------------------------------------------------------


@pytest.mark.slow
def test_deleting_the_conversation_being_answered_leaves_the_window_usable(
    qtbot: QtBot, models: None, drop_into: list[list[str]]  # noqa: F811
) -> None:
    window = window_answering(qtbot)
    chats = window.chats
    assert chats.current is not None
    with qtbot.captureExceptions() as exceptions:
        chats.delete_chat(chats.current.id)  # what "Delete" → Yes does
        qtbot.waitUntil(lambda: chats._worker is None, timeout=120_000)
        qtbot.wait(200)
    panel = window.chat_panel
    try:
        assert not exceptions, f"a slot raised: {exceptions[0][1]!r}"
        assert not chats.busy
        assert panel.ask_button.isEnabled(), "Ask stays disabled until Kura restarts"
        assert not panel.stop_button.isVisible()
    finally:
        close_window(window)


@pytest.mark.slow
def test_reopening_the_conversation_being_answered_shows_its_answer(
    qtbot: QtBot, models: None, drop_into: list[list[str]]  # noqa: F811
) -> None:
    window = window_answering(qtbot)
    chats = window.chats
    assert chats.current is not None
    chat_id = chats.current.id
    with qtbot.waitSignal(chats.answer_finished, timeout=120_000):
        window.chats_list.chat_selected.emit(chat_id)  # the user clicks it in the list
    cards = window.chat_panel.answer_cards()
    try:
        assert len(cards) == 1 and cards[0].text, "the question shows, its answer does not"
    finally:
        close_window(window)


# -- the preview and the search --------------------------------------------------------


def test_a_preview_of_an_earlier_citation_does_not_replace_the_later_one(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = tmp_path / "big.md"  # say, a large PDF page: slower to render
    slow.write_text("# Big\nThe old passage.\n", encoding="utf-8")
    fast = tmp_path / "small.md"
    fast.write_text("# Small\nThe new passage.\n", encoding="utf-8")
    real = library_controller.preview
    slow_done: list[bool] = []

    def preview(path: Path, *args: object, **kwargs: object) -> object:
        if Path(path) == slow:
            time.sleep(0.5)
            slow_done.append(True)
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(library_controller, "preview", preview)
    pane = PreviewPane(LibraryController(Preferences()))
    qtbot.addWidget(pane)
    shown: list[object] = []
    pane.shown.connect(shown.append)
    pane.show_source(Source.from_dict({"path": str(slow), "text": "The old passage."}))
    pane.show_source(Source.from_dict({"path": str(fast), "text": "The new passage."}))
    qtbot.waitUntil(lambda: bool(slow_done) and bool(shown), timeout=5000)
    qtbot.wait(200)  # the slow result's signal, had it been delivered
    assert pane.title.text() == "small.md"
    assert pane.current is not None and pane.current.path == fast, \
        "the title names small.md while the pane shows big.md's text"


def test_an_older_search_failing_does_not_wipe_newer_results(qtbot: QtBot) -> None:
    class Library:
        def search(self, text: str) -> object:
            if text == "old":
                time.sleep(0.4)
                raise OSError("the index was busy")
            return SimpleNamespace(query=text, results=[])

    controller = LibraryController(Preferences())
    controller.library = Library()  # type: ignore[assignment]
    dialog = SearchDialog(controller)
    qtbot.addWidget(dialog)
    dialog.query.setText("old")
    dialog.run()
    dialog.query.setText("new")
    dialog.run()
    qtbot.wait(800)
    assert "busy" not in dialog.none.text(), "an error about a query no longer asked"


# -- keyboard and settings -------------------------------------------------------------


def test_enter_on_a_conversation_opens_it(qtbot: QtBot, tmp_path: Path) -> None:
    store = ChatStore(tmp_path / "chats")
    chat = store.create("Passwords")
    chats_list = ChatsList()
    qtbot.addWidget(chats_list)
    chats_list.show_chats([chat], None)
    chats_list.list.setCurrentRow(0)
    opened: list[str] = []
    chats_list.chat_selected.connect(opened.append)
    qtbot.keyClick(chats_list.list, Qt.Key.Key_Return)
    assert opened == [chat.id]


def test_a_mirror_set_in_settings_is_the_one_downloads_use(
    qtbot: QtBot, make_window
) -> None:
    window = make_window(Preferences())
    dialog = window.open_settings()
    dialog.mirror.setText("https://hf-mirror.com")
    dialog.accept()
    assert window.preferences.mirror == "https://hf-mirror.com"
    assert window.welcome.mirror.text() == "https://hf-mirror.com"


# -- the library -----------------------------------------------------------------------


@pytest.mark.slow
def test_removing_a_collection_while_it_is_indexed(
    qtbot: QtBot, models: None, tmp_path: Path  # noqa: F811
) -> None:
    big = tmp_path / "big"
    big.mkdir()
    for n in range(150):
        (big / f"note-{n:03d}.md").write_text(f"# Note {n}\nMeeting room {n} is on "
                                              f"floor {n % 7}.\n", encoding="utf-8")
    small = tmp_path / "small"
    small.mkdir()
    (small / "vpn.md").write_text("# VPN\nInstall the client before connecting.\n",
                                  encoding="utf-8")
    window = open_window(qtbot)
    controller = window.library
    qtbot.waitUntil(lambda: not controller.lane.busy, timeout=60_000)
    errors: list[str] = []
    controller.error.connect(errors.append)
    removed: list[bool] = []

    def remove_once_scanning(_name: str, event: object) -> None:
        if not removed and getattr(event, "stage", "") == "scan" \
                and getattr(event, "done", 0) >= 5:
            removed.append(True)
            controller.remove_collection("big")

    controller.lane.progressed.connect(remove_once_scanning)
    controller.add([big, small], None)  # each folder its own collection
    qtbot.waitUntil(lambda: bool(removed), timeout=60_000)
    qtbot.waitUntil(lambda: not controller.lane.busy, timeout=120_000)
    qtbot.wait(300)
    controller.refresh()
    qtbot.wait(1000)
    status = controller.status
    try:
        assert not errors, f"the user saw: {errors}"
        assert controller.collection_names() == ["small"], \
            "the other folder of the same drop was never added"
        assert status is not None and status.collections[0].documents == 1
    finally:
        close_window(window)


@pytest.mark.slow
def test_closing_while_indexing_starts_nothing_on_the_closed_library(
    qtbot: QtBot, models: None, tmp_path: Path  # noqa: F811
) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    for n in range(150):
        (folder / f"note-{n:03d}.md").write_text(f"# Note {n}\nRoom {n} is on floor "
                                                 f"{n % 7}.\n", encoding="utf-8")
    window = open_window(qtbot)
    controller = window.library
    qtbot.waitUntil(lambda: not controller.lane.busy, timeout=60_000)
    assert window.preferences.watch_folders  # the default
    with qtbot.waitSignal(controller.lane.progressed, timeout=60_000):
        controller.add([folder], None)
    errors: list[str] = []
    controller.error.connect(errors.append)
    close_window(window)  # stops the job, waits for it, closes the library
    qtbot.wait(1000)  # the event loop still runs: the app quits after posted events
    assert not errors, f"workers ran on the closed library: {errors}"
    assert not controller.watching, "a watcher was started after the window closed"
