"""What a person sees when Kura fails instead of nothing: a readable message box that
names the log file, and the full traceback in the log.

``CrashReporter.install()`` takes over ``sys.excepthook`` (exceptions in the GUI thread:
PySide6 passes exceptions raised in slots and event handlers there) and
``threading.excepthook`` (a ``threading.Thread`` that died). Every exception is logged;
a dialog is shown on the GUI thread, one at a time and once per distinct error, so a
paint handler that fails on every frame does not bury the screen in dialogs.

``report_startup_failure`` is for a start-up that did not get as far as a window: the
message goes to stderr and the log, and to a dialog if Qt is up.

The dialog is built by ``build_dialog`` and shown by an injectable ``show`` callable
(``QMessageBox.exec`` by default), so tests check its text without a modal loop.

The texts live here rather than in ``strings.py`` because they must work before (and
without) the rest of the window: they are few, and in the same two languages.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop_app.gui import strings

_log = logging.getLogger("kura.crash")

ShowDialog = Callable[[QMessageBox], Any]


def text(key: str, **values: object) -> str:
    return strings.tr(f"crash.{key}", **values)


def describe(exc: BaseException) -> str:
    """One line a person can read: the exception's own message, and its kind."""
    message = str(exc).strip() or "(no message)"
    first = message.splitlines()[0]
    return f"{first} ({type(exc).__name__})"


def crash_message(exc: BaseException, log_path: Path | None, startup: bool = False) -> str:
    """The dialog's (and stderr's) text: what happened, and where the log is."""
    lead = text("startup") if startup else text("error")
    parts = [lead, describe(exc)]
    if not startup:
        parts.append(text("keep_going"))
    parts.append(text("log", path=log_path) if log_path else text("no_log"))
    return "\n\n".join(parts)


def build_dialog(exc: BaseException, log_path: Path | None,
                 startup: bool = False) -> QMessageBox:
    box = QMessageBox()
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(text("title"))
    box.setText(crash_message(exc, log_path, startup))
    box.setDetailedText("".join(traceback.format_exception(type(exc), exc,
                                                           exc.__traceback__)))
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # copy the path
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    if log_path is not None:
        button = box.addButton(text("open_log"), QMessageBox.ButtonRole.ActionRole)
        folder = QUrl.fromLocalFile(str(log_path.parent))
        button.clicked.connect(lambda: QDesktopServices.openUrl(folder))
    box.setObjectName("crashDialog")
    return box


def _exec(box: QMessageBox) -> None:
    box.exec()


class _Relay(QObject):
    """Brings an exception from any thread to the GUI thread (queued signal)."""

    raised = Signal(object)


class CrashReporter:
    """Logs every uncaught exception and shows it in a dialog; see the module docstring.
    ``show`` receives the ready QMessageBox (default: ``exec()`` it)."""

    def __init__(self, log_path: Path | None, show: ShowDialog | None = None) -> None:
        self.log_path = log_path
        self.show = show or _exec
        self.shown: set[str] = set()
        self._showing = False
        self._relay: _Relay | None = None
        self._previous: tuple[Any, Any] | None = None

    def install(self) -> None:
        if self._previous is None:
            self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self.excepthook
        threading.excepthook = self.thread_excepthook
        app = QApplication.instance()
        if app is not None and self._relay is None:
            self._relay = _Relay()
            self._relay.moveToThread(app.thread())
            self._relay.raised.connect(self.present)

    def uninstall(self) -> None:
        if self._previous is not None:
            sys.excepthook, threading.excepthook = self._previous
            self._previous = None

    # -- hooks ------------------------------------------------------------------------

    def excepthook(self, exc_type: type[BaseException], exc: BaseException,
                   tb: TracebackType | None) -> None:
        if exc.__traceback__ is None and tb is not None:
            exc = exc.with_traceback(tb)
        if issubclass(exc_type, KeyboardInterrupt):
            _log.info("Interrupted (Ctrl+C)")
            app = QApplication.instance()
            if app is not None:
                app.quit()
            return
        self._handle(exc, threading.current_thread().name)

    def thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or issubclass(args.exc_type, SystemExit):
            return
        name = args.thread.name if args.thread is not None else "a thread"
        self._handle(args.exc_value, name)

    def _handle(self, exc: BaseException, where: str) -> None:
        _log.critical("Uncaught exception in %s", where,
                      exc_info=(type(exc), exc, exc.__traceback__))
        app = QApplication.instance()
        if app is None:
            print(crash_message(exc, self.log_path), file=sys.stderr)
        elif QThread.currentThread() is app.thread() or self._relay is None:
            self.present(exc)
        else:
            self._relay.raised.emit(exc)

    # -- the dialog -------------------------------------------------------------------

    def present(self, exc: BaseException) -> None:
        """Show the dialog for ``exc`` (GUI thread) unless one is open or this error was
        already shown."""
        key = f"{type(exc).__qualname__}: {exc}"
        if self._showing or key in self.shown:
            return
        self.shown.add(key)
        self._showing = True
        try:
            self.show(build_dialog(exc, self.log_path))
        except Exception:  # the dialog itself must never raise into the hook
            _log.exception("Could not show the error dialog")
        finally:
            self._showing = False


def report_startup_failure(exc: BaseException, log_path: Path | None,
                           show: ShowDialog | None = None) -> str:
    """Kura could not start: log it, say so on stderr, and in a dialog when Qt runs.
    Returns the message."""
    _log.critical("Start-up failed", exc_info=(type(exc), exc, exc.__traceback__))
    message = crash_message(exc, log_path, startup=True)
    if sys.stderr is not None:  # None in a windowed build on Windows
        print(message, file=sys.stderr)
    if QApplication.instance() is not None:
        try:
            (show or _exec)(build_dialog(exc, log_path, startup=True))
        except Exception:
            _log.exception("Could not show the error dialog")
    return message
