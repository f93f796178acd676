"""The error dialog: readable, names the log, shown once per error, from any thread;
and a failed start-up that says why instead of dying silently."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer, qInstallMessageHandler
from PySide6.QtWidgets import QMessageBox

from desktop_app.core import logs
from desktop_app.gui import app as app_module
from desktop_app.gui import crash, strings


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    path = logs.setup_logging(tmp_path / "data", faults=False)
    yield path
    logs.close_logging()


@pytest.fixture
def reporter(log_file: Path) -> Iterator[tuple[crash.CrashReporter, list[QMessageBox]]]:
    shown: list[QMessageBox] = []
    rep = crash.CrashReporter(log_file, show=shown.append)
    rep.install()
    yield rep, shown
    rep.uninstall()


def _raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


def test_message_names_the_error_and_the_log(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "kura.log"
    text = crash.crash_message(ValueError("the index file is damaged"), log)
    assert "Kura ran into an unexpected error." in text
    assert "the index file is damaged (ValueError)" in text
    assert str(log) in text
    startup = crash.crash_message(OSError("no space left"), log, startup=True)
    assert startup.startswith("Kura could not start.")
    assert str(log) in startup
    assert "No log file" in crash.crash_message(ValueError("x"), None)


def test_dialog_text_details_and_log_button(qtbot, tmp_path: Path) -> None:
    log = tmp_path / "logs" / "kura.log"
    box = crash.build_dialog(_raised(RuntimeError("worker died")), log)
    qtbot.addWidget(box)
    assert str(log) in box.text()
    assert "worker died (RuntimeError)" in box.text()
    assert "Traceback (most recent call last)" in box.detailedText()
    assert box.icon() == QMessageBox.Icon.Critical
    labels = [b.text() for b in box.buttons()]
    assert "Show log folder" in labels


def test_dialog_speaks_chinese(qtbot, tmp_path: Path) -> None:
    strings.set_language("zh_CN")
    box = crash.build_dialog(ValueError("坏了"), tmp_path / "kura.log")
    qtbot.addWidget(box)
    assert "Kura 遇到了意外错误" in box.text()
    assert str(tmp_path / "kura.log") in box.text()


@pytest.mark.qt_no_exception_capture
def test_gui_thread_exception_is_logged_and_shown_once(qtbot, reporter, log_file) -> None:
    rep, shown = reporter
    assert sys.excepthook == rep.excepthook

    def broken_slot() -> None:
        raise KeyError("chunk 42")

    for _ in range(3):  # the same error again and again: one dialog
        QTimer.singleShot(0, broken_slot)
    qtbot.waitUntil(lambda: len(shown) == 1)
    qtbot.wait(50)
    assert len(shown) == 1
    qtbot.addWidget(shown[0])
    assert str(log_file) in shown[0].text()
    assert "'chunk 42' (KeyError)" in shown[0].text()
    text = log_file.read_text(encoding="utf-8")
    assert "CRITICAL kura.crash [MainThread] Uncaught exception in MainThread" in text
    assert "KeyError: 'chunk 42'" in text


@pytest.mark.qt_no_exception_capture
def test_thread_exception_reaches_the_gui_thread(qtbot, reporter, log_file) -> None:
    rep, shown = reporter
    seen_on: list[bool] = []
    rep.show = lambda box: (seen_on.append(threading.current_thread() is
                                           threading.main_thread()), shown.append(box))

    def work() -> None:
        raise OSError("disk vanished")

    thread = threading.Thread(target=work, name="indexer")
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: len(shown) == 1)
    qtbot.addWidget(shown[0])
    assert seen_on == [True]
    assert "disk vanished (OSError)" in shown[0].text()
    assert "Uncaught exception in indexer" in log_file.read_text(encoding="utf-8")


def test_ctrl_c_is_not_an_error(reporter) -> None:
    rep, shown = reporter
    with pytest.MonkeyPatch.context() as mp:
        quits: list[bool] = []
        mp.setattr("PySide6.QtWidgets.QApplication.quit", lambda *_: quits.append(True))
        rep.excepthook(KeyboardInterrupt, KeyboardInterrupt(), None)
    assert shown == []
    assert quits == [True]


def test_uninstall_restores_the_hooks(log_file: Path) -> None:
    before = (sys.excepthook, threading.excepthook)
    rep = crash.CrashReporter(log_file, show=lambda box: None)
    rep.install()
    rep.install()  # twice: still restores the original ones
    rep.uninstall()
    assert (sys.excepthook, threading.excepthook) == before


def test_startup_failure_goes_to_stderr_log_and_dialog(qtbot, log_file, capsys) -> None:
    shown: list[QMessageBox] = []
    message = crash.report_startup_failure(_raised(ImportError("no module named onnx")),
                                           log_file, show=shown.append)
    qtbot.addWidget(shown[0])
    assert str(log_file) in message
    assert message in capsys.readouterr().err
    assert shown[0].text() == message
    assert "Start-up failed" in log_file.read_text(encoding="utf-8")


@pytest.mark.qt_no_exception_capture
def test_main_reports_a_failed_start(qtbot, monkeypatch, private_user_dirs, capsys) -> None:
    """main(): the window cannot be built -> exit code 1, a dialog naming the log, the
    traceback in the log; the hooks it installed are removed again."""
    before = sys.excepthook

    def no_window(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the library database is locked")

    monkeypatch.setattr(app_module, "create_window", no_window)
    monkeypatch.setattr(app_module, "enable_offline", lambda: None)  # process-wide env
    monkeypatch.setattr(app_module, "restrict_network", lambda _url: None)  # process-wide
    shown: list[QMessageBox] = []
    try:
        code = app_module.main(["kura-app"], show_error=shown.append)
    finally:
        qInstallMessageHandler(None)
        logs.close_logging()
    assert code == 1
    log = private_user_dirs / "logs" / "kura.log"
    qtbot.addWidget(shown[0])
    assert str(log) in shown[0].text()
    assert "the library database is locked (RuntimeError)" in shown[0].text()
    text = log.read_text(encoding="utf-8")
    assert "Kura 0.1.0 starting" in text
    assert "RuntimeError: the library database is locked" in text
    assert "Kura could not start." in capsys.readouterr().err
    assert sys.excepthook == before


def test_qt_messages_reach_the_log(log_file: Path, caplog) -> None:
    from PySide6.QtCore import QMessageLogContext, QtMsgType

    with caplog.at_level(logging.INFO):
        app_module._qt_message(QtMsgType.QtWarningMsg, QMessageLogContext(),
                               "could not load the Qt platform plugin")
    assert "could not load the Qt platform plugin" in log_file.read_text(encoding="utf-8")
