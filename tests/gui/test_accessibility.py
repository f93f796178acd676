"""Accessibility and the keyboard: every control a screen reader meets has a name, the
window speaks Chinese when asked to, and the shortcuts (Ctrl+O, Ctrl+F, Esc) work."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QFileDialog,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QWidget,
)

from desktop_app.core.answer import Source
from desktop_app.core.preferences import Preferences
from desktop_app.gui.add_dialog import AddDialog
from desktop_app.gui.chat_controller import ChatController
from desktop_app.gui.jobs import ProgressView
from desktop_app.gui.library_controller import IndexingState
from desktop_app.gui.main_window import MainWindow
from desktop_app.gui.search_dialog import SearchDialog
from desktop_app.gui.strings import tr

TIMEOUT = 15_000
CHECKED = (QPushButton, QLineEdit, QPlainTextEdit, QListWidget, QComboBox, QSpinBox,
           QProgressBar)


def unnamed(root: QWidget) -> list[str]:
    """Visible controls under ``root`` with neither an accessible name nor (buttons) a
    text. A spin box's or combo box's own line edit is part of that named control."""
    missing = []
    for kind in CHECKED:
        for widget in root.findChildren(kind):
            if not widget.isVisible():
                continue
            if isinstance(widget, QLineEdit) and isinstance(
                    widget.parent(), QAbstractSpinBox | QComboBox):
                continue
            if widget.accessibleName().strip():
                continue
            if isinstance(widget, QAbstractButton) and widget.text().replace("&", "").strip():
                continue
            missing.append(f"{type(widget).__name__} {widget.objectName()!r} in "
                           f"{type(widget.parent()).__name__}")
    return missing


def shown(qtbot, window: MainWindow) -> MainWindow:
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=TIMEOUT)
    return window


def count_checked(root: QWidget) -> int:
    return sum(1 for kind in CHECKED for w in root.findChildren(kind) if w.isVisible())


def test_every_control_of_the_workspace_has_a_name(make_window, qtbot) -> None:
    window = shown(qtbot, make_window())
    window.library_panel.show_indexing(IndexingState("Reading files: 1 of 2", 0.5, True, False))
    window.chat_panel.start_answer("q")
    window.chat_panel.finish_answer("a [1]", [Source.from_dict({"number": 1, "path": "/x.md"})],
                                    [], False, False, [])
    assert window.pages.currentWidget() is window.splitter
    assert count_checked(window) >= 8  # the check saw the sidebar and the conversation
    assert unnamed(window) == []


def test_every_control_of_the_welcome_page_has_a_name(make_window, qtbot) -> None:
    window = shown(qtbot, make_window())
    window.pages.setCurrentWidget(window.welcome)
    window.welcome.show_download_state("running")
    window.welcome.show_progress("embedder", ProgressView("model.onnx: 10 B of 100 B", 0.1))
    window.welcome.show_progress("llm", ProgressView("x.gguf: 10 B of 100 B", 0.1))
    assert window.welcome.role_bars["embedder"].isVisible()
    assert count_checked(window.welcome) >= 7
    assert unnamed(window) == []


def test_every_control_of_the_dialogs_has_a_name(make_window, qtbot, tmp_path: Path) -> None:
    window = shown(qtbot, make_window())
    settings = window.open_settings()
    qtbot.waitExposed(settings)
    assert count_checked(settings) >= 8
    assert unnamed(settings) == []
    settings.reject()

    add = AddDialog([tmp_path], ["Handbook"], window)
    add.show()
    assert unnamed(add) == []
    add.reject()

    with qtbot.waitSignal(window.library.opened, timeout=TIMEOUT):
        window.library.open()
    search = window.open_search()
    assert isinstance(search, SearchDialog)
    assert unnamed(search) == []
    search.close()


def test_the_window_speaks_chinese_when_asked_to(make_window, qtbot) -> None:
    window = shown(qtbot, make_window(Preferences(language="zh_CN")))
    assert window.chat_panel.ask_button.text() == "提问"
    assert window.chat_panel.stop_button.text() == "停止"
    assert window.library_panel.add_button.text() == "添加文件夹…"
    assert window.chats_list.new_button.text() == "新对话"
    assert window.welcome.download_button.text() == "下载"
    assert window.chat_panel.question.placeholderText().startswith("就你的文档提一个问题")
    assert "用你自己的文档回答问题" in window.windowTitle()
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus == ["文件(&F)", "帮助(&H)"]
    settings = window.open_settings()
    assert settings.windowTitle() == "设置"
    assert unnamed(window) == [] and unnamed(settings) == []
    settings.reject()


def test_the_system_language_is_used_when_none_is_chosen(
        make_window, qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtCore import QLocale

    monkeypatch.setattr(QLocale, "system", staticmethod(lambda: QLocale("zh_CN")))
    window = make_window(Preferences(language="system"))
    assert window.chat_panel.ask_button.text() == "提问"


# -- the keyboard -------------------------------------------------------------------


def test_ctrl_o_asks_for_a_folder(make_window, qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple] = []

    def fake(*args: object, **kwargs: object) -> str:
        asked.append(args)
        return ""  # the user cancelled

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(fake))
    window = shown(qtbot, make_window())
    window.chat_panel.question.setFocus()
    qtbot.keyClick(window.chat_panel.question, Qt.Key.Key_O,
                   Qt.KeyboardModifier.ControlModifier)
    assert len(asked) == 1
    assert asked[0][0] is window
    assert window.findChildren(AddDialog) == []


def test_a_folder_before_the_search_model_is_there_explains_the_wait(
        make_window, qtbot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: str(tmp_path)))
    window = shown(qtbot, make_window())
    qtbot.keyClick(window.chat_panel.question, Qt.Key.Key_O,
                   Qt.KeyboardModifier.ControlModifier)
    assert window.statusBar().currentMessage() == tr("library.model_wait")
    assert window.library.lane.busy is False


def test_ctrl_f_opens_the_search_once_the_library_is_open(make_window, qtbot) -> None:
    window = shown(qtbot, make_window())

    def press() -> None:
        qtbot.keyClick(window.chat_panel.question, Qt.Key.Key_F,
                       Qt.KeyboardModifier.ControlModifier)

    press()
    assert window.findChildren(SearchDialog) == []  # no library yet: nothing to search
    with qtbot.waitSignal(window.library.opened, timeout=TIMEOUT):
        window.library.open()
    press()
    dialogs = window.findChildren(SearchDialog)
    assert len(dialogs) == 1 and dialogs[0].isVisible()
    assert dialogs[0].controller is window.library
    dialogs[0].close()


def test_esc_stops_the_answer(make_window, qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    stops: list[ChatController] = []
    # Patched on the class: the window connects Esc to the bound method when it is built.
    monkeypatch.setattr(ChatController, "stop", lambda self: stops.append(self))
    window = shown(qtbot, make_window())
    window.chat_panel.question.setFocus()
    qtbot.keyClicks(window.chat_panel.question, "half a question")
    qtbot.keyClick(window.chat_panel.question, Qt.Key.Key_Escape)
    assert stops == [window.chats]
    assert window.chat_panel.question.toPlainText() == "half a question"  # Esc only stops


def test_the_stop_button_stops_the_answer(make_window, qtbot,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    stops: list[ChatController] = []
    monkeypatch.setattr(ChatController, "stop", lambda self: stops.append(self))
    window = shown(qtbot, make_window())
    window.chat_panel.start_answer("q")
    window.chat_panel.stop_button.click()
    assert stops == [window.chats]


def test_a_search_that_fails_says_why(make_window, qtbot) -> None:
    """Ctrl+F, a query, Enter: without the search model the search fails, and the dialog
    must show the reason rather than an empty list."""
    window = shown(qtbot, make_window())
    with qtbot.waitSignal(window.library.opened, timeout=TIMEOUT):
        window.library.open()
    qtbot.keyClick(window.chat_panel.question, Qt.Key.Key_F,
                   Qt.KeyboardModifier.ControlModifier)
    (dialog,) = window.findChildren(SearchDialog)
    qtbot.waitExposed(dialog)
    dialog.query.setText("reset password")
    qtbot.keyClick(dialog.query, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.none.text() != tr("search.none"), timeout=TIMEOUT)
    assert dialog.results.count() == 0
    assert dialog.none.isVisible(), dialog.none.text()
    dialog.close()
