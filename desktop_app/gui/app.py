"""``kura-app`` (and ``kura app``): start the window.

The window is on screen before anything slow happens: opening the library, checking the
model files and loading the models all run on workers after the first paint.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from PySide6.QtCore import QLocale, QTimer
from PySide6.QtWidgets import QApplication

from desktop_app.core.chats import ChatStore
from desktop_app.core.model_files import enable_offline
from desktop_app.core.preferences import Preferences, load_preferences
from desktop_app.gui import strings
from desktop_app.gui.jobs import ensure_pool
from desktop_app.gui.main_window import MainWindow
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


def main(argv: Sequence[str] | None = None) -> int:
    enable_offline()  # before any library that might phone home is imported
    app = QApplication(list(argv) if argv is not None else sys.argv)
    window = create_window()
    window.show()
    QTimer.singleShot(0, window.start)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
