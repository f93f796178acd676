"""``kura-app`` (and ``kura app``): start the window.

The window is on screen before anything slow happens: opening the library, checking the
model files and loading the models all run on workers after the first paint.

Network: right after the offline switches, ``main`` installs the process-wide policy
(``core/model_files/offline.py``): this computer only, plus the answer server when the
user turned that option on.

Before anything else, ``main`` opens the log (``<data dir>/logs/kura.log``) and routes
Qt's own messages and every uncaught exception there; a failure shows a dialog that
names the log instead of a window that silently never appears (``crash.py``).
``kura-app --selftest`` checks that every native part loads and exits (``selftest.py``).

One window per data dir (``single_instance.py``): a second launch brings the first
window to the front and exits 0, or says that Kura is already open when the first does
not answer. The window's library holds the library's lock for the window's lifetime
(``core/library_lock.py``), so a ``kura add`` in a terminal waits for it to close.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QLocale, QMessageLogContext, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop_app.core.chats import ChatStore
from desktop_app.core.logs import log_startup, setup_logging
from desktop_app.core.model_files import enable_offline
from desktop_app.core.model_files.offline import restrict_network
from desktop_app.core.paths import data_dir
from desktop_app.core.preferences import Preferences, load_preferences
from desktop_app.gui import strings
from desktop_app.gui.crash import CrashReporter, ShowDialog, report_startup_failure
from desktop_app.gui.jobs import ensure_pool
from desktop_app.gui.main_window import MainWindow
from desktop_app.gui.single_instance import (
    InstanceServer,
    Reply,
    bring_to_front,
    claim,
    server_name,
)
from desktop_app.gui.theme import app_icon, apply_theme, follow_system


def choose_language(prefs: Preferences) -> strings.Language:
    if prefs.language in strings.LANGUAGES:
        return prefs.language
    return strings.language_for_locale(QLocale.system().name())


def create_window(prefs: Preferences | None = None,
                  chat_store: ChatStore | None = None) -> MainWindow:
    """Style the running QApplication and build the window (tests call this too)."""
    app = QApplication.instance()
    assert isinstance(app, QApplication), "create a QApplication first"
    prefs = prefs or load_preferences()
    strings.set_language(choose_language(prefs))
    app.setApplicationName("Kura")
    app.setApplicationDisplayName("Kura")
    app.setWindowIcon(app_icon())
    apply_theme(app, prefs.theme)
    follow_system(app, prefs.theme)
    ensure_pool()
    return MainWindow(prefs, chat_store)


_log = logging.getLogger("kura.app")
_QT_LEVELS = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
              QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
              QtMsgType.QtFatalMsg: logging.CRITICAL}


def _qt_message(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """Qt's warnings, and above all its last words before a fatal error (a platform
    plugin that cannot load), go to the log too, not only to a console nobody sees."""
    _log.log(_QT_LEVELS.get(kind, logging.WARNING), "Qt: %s", message)
    if kind not in (QtMsgType.QtDebugMsg, QtMsgType.QtInfoMsg) and sys.stderr is not None:
        print(message, file=sys.stderr, flush=True)
    if kind == QtMsgType.QtFatalMsg and "platform plugin" in message:
        hint = platform_plugin_hint(message)
        _log.critical(hint)
        if sys.stderr is not None:
            print(hint, file=sys.stderr, flush=True)


def platform_plugin_hint(qt_message: str) -> str:
    """What to do when Qt cannot load its platform plugin: name the system libraries that
    are actually missing and the packages that provide them."""
    from desktop_app.gui.system_libraries import unresolved_libraries, xcb_plugin

    hint = "Qt could not open a window"
    try:
        missing = unresolved_libraries(xcb_plugin(), qt_message)
    except Exception:  # the hint must never hide Qt's own message
        missing = None
    if missing and missing.libraries:
        return f"{hint}: {missing.advice()}"
    return f"{hint}. `kura-app --selftest` checks what the window needs."


def open_log() -> Path | None:
    """The log in the data dir; in the temp dir if the data dir cannot be written."""
    from desktop_app.core.paths import data_dir

    for folder in (data_dir, lambda: Path(tempfile.gettempdir()) / "Kura"):
        try:
            return setup_logging(folder())
        except OSError as exc:
            if sys.stderr is not None:
                print(f"Kura: cannot write a log: {exc}", file=sys.stderr)
    return None


def _parse_arguments(args: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """``kura-app``'s own options, and the rest of the command line for Qt (which takes
    options of its own, such as ``-platform offscreen``)."""
    parser = argparse.ArgumentParser(prog="kura-app", description="Open Kura's window.",
                                     allow_abbrev=False)
    parser.add_argument("--selftest", action="store_true",
                        help="check that every native part loads, print a report and exit "
                             "(exit code 1 if one failed)")
    options, qt_args = parser.parse_known_args(args[1:])
    return options, [*args[:1], *qt_args]


def main(argv: Sequence[str] | None = None, *, show_error: ShowDialog | None = None) -> int:
    """Start Kura's window; ``--selftest`` runs the self-test instead. ``show_error``
    replaces ``QMessageBox.exec`` for the error dialog (tests)."""
    args = list(argv) if argv is not None else list(sys.argv)
    log_path = open_log()
    log_startup(args, log=log_path)
    enable_offline()  # before any library that might phone home is imported
    # From here on nothing in the process reaches another machine but the answer server
    # the user named (if any) and model downloads.
    restrict_network(load_preferences().remote_llm())
    options, qt_args = _parse_arguments(args)
    if options.selftest:
        from desktop_app.gui.selftest import main as selftest_main

        return selftest_main()
    reporter = CrashReporter(log_path, show_error)
    reporter.install()  # before Qt: a failure from here on is logged, never silent
    qInstallMessageHandler(_qt_message)
    instance: InstanceServer | Reply | None = None
    try:
        existing = QApplication.instance()
        app = existing if isinstance(existing, QApplication) else QApplication(qt_args)
        reporter.install()  # again, now that a dialog can be shown
        instance = claim(server_name(data_dir()))
        if isinstance(instance, Reply):
            reporter.uninstall()
            return _already_open(instance, show_error)
        window = create_window()
        instance.activate_requested.connect(lambda: bring_to_front(window))
        window.show()
        _log.info("window shown: %s", window.windowTitle())
        QTimer.singleShot(0, window.start)
    except Exception as exc:
        report_startup_failure(exc, log_path, show_error)
        reporter.uninstall()
        if isinstance(instance, InstanceServer):
            instance.close()
        return 1
    code = app.exec()
    instance.close()
    _log.info("Kura closed (exit code %s)", code)
    return code


def _already_open(reply: Reply, show: ShowDialog | None) -> int:
    """A Kura window of this data dir is open: it came to the front, or it did not
    answer (then say so). Either way this launch has nothing more to do."""
    if reply is Reply.ACTIVATED:
        _log.info("Kura is already open: its window was brought to the front")
        return 0
    _log.warning("Kura is already open, and its window did not answer")
    box = QMessageBox(QMessageBox.Icon.Information, strings.tr("app.title"),
                      strings.tr("app.already_open"))
    box.setObjectName("alreadyOpenDialog")
    (show or QMessageBox.exec)(box)
    return 0


if __name__ == "__main__":
    sys.exit(main())
