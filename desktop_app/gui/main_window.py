"""The main window: composes the pages and panels and wires them to the controllers.

Layout: the welcome page (until the search model is there), then the workspace:
sidebar (library, conversations) | conversation | source preview (when a citation is
clicked). Drops anywhere on the window add folders or files to the library. While Kura
may send questions to an answer server on the network, the status bar names it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.answer import Answer, Source
from desktop_app.core.chats import ChatMessage, ChatStore
from desktop_app.core.library import Library
from desktop_app.core.model_files import ModelsStatus
from desktop_app.core.model_files.offline import (
    network_policy,
    parse_server_url,
    restrict_network,
)
from desktop_app.core.paths import data_dir
from desktop_app.core.preferences import Preferences, save_preferences
from desktop_app.core.store import StoreStatus
from desktop_app.gui.add_dialog import AddDialog
from desktop_app.gui.chat_controller import SEARCHING, ChatController
from desktop_app.gui.chat_panel import ChatPanel, local_paths
from desktop_app.gui.chats_list import ChatsList
from desktop_app.gui.documents_dialog import DocumentsDialog
from desktop_app.gui.library_controller import LibraryController
from desktop_app.gui.library_panel import LibraryPanel
from desktop_app.gui.models_controller import ModelsController
from desktop_app.gui.preview_pane import PreviewPane
from desktop_app.gui.search_dialog import SearchDialog
from desktop_app.gui.settings_dialog import SettingsDialog
from desktop_app.gui.skipped_dialog import SkippedDialog
from desktop_app.gui.strings import tr
from desktop_app.gui.theme import app_icon, apply_theme
from desktop_app.gui.welcome_page import WelcomePage

SHUTDOWN_WAIT_MS = 10_000


class MainWindow(QMainWindow):
    def __init__(self, preferences: Preferences, chat_store: ChatStore | None = None) -> None:
        super().__init__()
        self.preferences = preferences
        self.models = ModelsController(self)
        self.library = LibraryController(preferences, self)
        self.chats = ChatController(preferences, chat_store, self)
        self.models_status: ModelsStatus | None = None
        self._llm_requested = False
        # The answer server the answerer uses: the one set when the library opened (the
        # chats' answerer is built then), so no local answer model is needed.
        self._remote_llm = preferences.remote_llm()

        # Qt appends the application's display name ("— Kura") itself.
        self.setWindowTitle(tr("app.tagline"))
        self.setWindowIcon(app_icon())
        self.resize(1240, 800)
        self.setAcceptDrops(True)

        self.welcome = WelcomePage(self.models, preferences.mirror)
        self.library_panel = LibraryPanel()
        self.chats_list = ChatsList()
        self.chat_panel = ChatPanel()
        self.preview = PreviewPane(self.library)
        self.preview.hide()
        sidebar = QWidget()
        sidebar.setObjectName("sidebar")
        sidebar.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        side = QVBoxLayout(sidebar)
        side.addWidget(self.library_panel, 3)
        side.addWidget(self.chats_list, 2)
        self.splitter = QSplitter()
        self.splitter.addWidget(sidebar)
        self.splitter.addWidget(self.chat_panel)
        self.splitter.addWidget(self.preview)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([330, 620, 420])
        self.pages = QStackedWidget()
        self.pages.addWidget(self.welcome)
        self.pages.addWidget(self.splitter)
        self.setCentralWidget(self.pages)
        self.pages.setCurrentWidget(self.splitter)
        self._menus()
        self._connect()
        self.library_panel.set_watching(preferences.watch_folders)
        self.network_label = QLabel()
        self.network_label.setObjectName("networkStatus")
        self.statusBar().addPermanentWidget(self.network_label)
        self._show_network()

    # -- start-up ---------------------------------------------------------------------

    def start(self) -> None:
        """Everything slow, on workers: the window is already on screen."""
        self.models.check()
        self.library.open()
        self.chats.refresh()

    def _on_models(self, status: ModelsStatus) -> None:
        first = self.models_status is None
        self.models_status = status
        if first and not status.can_index:
            self.pages.setCurrentWidget(self.welcome)
        self.library.set_can_index(status.can_index)
        can_answer = status.can_answer or self._remote_llm is not None
        self.chat_panel.set_notice("" if can_answer else tr("ask.no_llm"))
        self._maybe_load_llm()

    def _on_library_opened(self, library: Library) -> None:
        self.chats.set_library(library)
        if self.models_status is not None:
            self.library.set_can_index(self.models_status.can_index)
        self._maybe_load_llm()

    def _on_engine_changed(self) -> None:
        """Settings chose another engine: load it, and say whether answers can be written."""
        self._llm_requested = False
        if self.models_status is not None:
            self._on_models(self.models_status)
        self._show_network()

    def _maybe_load_llm(self) -> None:
        status = self.models_status
        can_answer = status is not None and (status.can_answer or self._remote_llm is not None)
        if can_answer and self.chats.has_library and not self._llm_requested:
            self._llm_requested = True
            self.chats.load_llm()

    # -- library ----------------------------------------------------------------------

    def add_paths(self, paths: list[Path], collection: str | None = None) -> None:
        """Add folders/files: asks which collection unless ``collection`` is given."""
        paths = [p for p in paths if p.exists()]
        if not paths:
            return
        if not self.library.can_index:
            self.statusBar().showMessage(tr("library.model_wait"), 8000)
            return
        if collection is None:
            collection = AddDialog.ask(paths, self.library.collection_names(), self)
            if collection is None:
                return
        self.library.add(paths, collection or None)  # EACH_OWN: named after each folder

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, tr("library.add"))
        if folder:
            self.add_paths([Path(folder)])

    def _remove(self, name: str) -> None:
        answer = QMessageBox.question(self, tr("library.remove_title"),
                                      tr("library.remove_confirm", name=name))
        if answer == QMessageBox.StandardButton.Yes:
            self.library.remove_collection(name)

    def _rename(self, name: str) -> None:
        new, ok = QInputDialog.getText(self, tr("library.rename_title"),
                                       tr("library.rename_label"), text=name)
        if ok and new.strip() and new.strip() != name:
            self.library.rename_collection(name, new.strip())

    def show_documents(self, collection: str) -> DocumentsDialog:
        dialog = DocumentsDialog(collection, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.library.documents_loaded.connect(dialog.show_documents)
        self.library.documents_failed.connect(dialog.show_failure)
        dialog.open()
        self.library.load_documents(collection)
        return dialog

    def show_skipped(self) -> SkippedDialog:
        status = self.library.status
        names = {c.id: c.name for c in status.collections} if status else {}
        dialog = SkippedDialog(status.skipped if status else [], names, self)
        dialog.retry_requested.connect(self.library.retry)
        dialog.open()
        return dialog

    def _on_library_status(self, status: StoreStatus) -> None:
        self.library_panel.set_watching(self.library.watching)
        self.library_panel.show_status(status)
        self.chat_panel.set_collections([c.name for c in status.collections])

    # -- conversations ----------------------------------------------------------------

    def ask(self, question: str, collections: list[str] | None = None) -> bool:
        if not self.chats.has_library:  # the library is still opening
            self.statusBar().showMessage(tr("library.opening"), 5000)
            return False
        return self.chats.ask(question, collections)

    def _on_answer_started(self, question: str) -> None:
        self.chat_panel.start_answer(question)

    def _on_answer_phase(self, phase: str) -> None:
        loading = not self.chats.llm_loaded
        self.chat_panel.set_phase(tr("ask.thinking") if phase == SEARCHING else
                                  tr("ask.llm_loading") if loading else tr("ask.writing"))

    def _on_answer_finished(self, answer: Answer, message: ChatMessage) -> None:
        self.chat_panel.finish_answer(message.text, answer.sources, answer.passages,
                                      message.declined, message.cancelled,
                                      message.collections, answer.extract, answer.checks,
                                      answer.written_by)

    def _export(self, chat_id: str) -> None:
        path, _filter = QFileDialog.getSaveFileName(self, tr("chats.export"),
                                                    str(Path.home() / "kura-chat.md"),
                                                    "Markdown (*.md)")
        if path:
            self.chats.export(chat_id, Path(path))

    def _rename_chat(self, chat_id: str) -> None:
        new, ok = QInputDialog.getText(self, tr("chats.rename"), tr("chats.rename_label"),
                                       text=self.chats.chat_title(chat_id))
        if ok and new.strip():
            self.chats.rename_chat(chat_id, new.strip())

    def _delete_chat(self, chat_id: str) -> None:
        answer = QMessageBox.question(
            self, tr("chats.delete"),
            tr("chats.delete_confirm", title=self.chats.chat_title(chat_id)))
        if answer == QMessageBox.StandardButton.Yes:
            self.chats.delete_chat(chat_id)

    # -- dialogs ----------------------------------------------------------------------

    def open_search(self) -> SearchDialog | None:
        if not self.library.is_open:
            return None
        dialog = SearchDialog(self.library, self)
        dialog.source_chosen.connect(self.show_source)
        dialog.show()
        return dialog

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.preferences, self.models_status, self)
        dialog.models_clicked.connect(lambda: self.pages.setCurrentWidget(self.welcome))
        dialog.accepted.connect(lambda: self._save_preferences(dialog.preferences()))
        dialog.accepted.connect(dialog.apply_data_location)
        dialog.open()
        return dialog

    def _save_preferences(self, prefs: Preferences) -> None:
        changed_watch = prefs.watch_folders != self.preferences.watch_folders
        self.preferences = prefs
        save_preferences(prefs)
        # Answer settings apply to the next question; index dimensions and the language
        # after a restart (the dialog says so).
        self._remote_llm = prefs.remote_llm()
        self.chats.set_preferences(prefs)
        self.welcome.set_mirror(prefs.mirror)  # the mirror Download uses
        # The network policy follows at once: turned off, nothing more is sent; the
        # answerer is rebuilt with the new engine (ChatController.set_preferences).
        if network_policy() is not None:
            restrict_network(prefs.remote_llm())
        self._show_network()
        if changed_watch:
            self.library.set_watching(prefs.watch_folders)
        self.library.set_ocr(prefs.ocr)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, prefs.theme)

    def show_source(self, source: Source) -> None:
        self.preview.show_source(source)

    def _show_network(self) -> None:
        """Name the answer server in the status bar while answers are sent to it: the one
        the answerer uses, as long as the network policy (installed by ``main``; none in
        a window tests build) still allows it. Turned off in Settings, it disappears."""
        origin = parse_server_url(self._remote_llm).netloc if self._remote_llm else None
        policy = network_policy()
        if policy is not None and (policy.remote is None or policy.remote.netloc != origin):
            origin = None
        self.network_label.setText(tr("status.remote_llm", origin=origin) if origin else "")
        self.network_label.setVisible(origin is not None)

    def _about(self) -> None:
        from importlib.metadata import version

        QMessageBox.about(self, tr("menu.about"),
                          tr("about.text", version=version("kura"), data=data_dir()))

    # -- wiring -----------------------------------------------------------------------

    def _menus(self) -> None:
        file_menu = self.menuBar().addMenu(tr("menu.file"))
        for text, shortcut, slot in (
            (tr("menu.add"), QKeySequence.StandardKey.Open, self.choose_folder),
            (tr("menu.search"), QKeySequence.StandardKey.Find, self.open_search),
            (tr("menu.settings"), QKeySequence.StandardKey.Preferences, self.open_settings),
            (tr("menu.quit"), QKeySequence.StandardKey.Quit, self.close),
        ):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(slot)
            file_menu.addAction(action)
        stop = QAction(tr("ask.stop"), self)
        stop.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        stop.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        stop.triggered.connect(self.chats.stop)
        self.addAction(stop)
        help_menu = self.menuBar().addMenu(tr("menu.help"))
        help_menu.addAction(tr("menu.about"), self._about)

    def _connect(self) -> None:
        models, library, chats = self.models, self.library, self.chats
        models.status_changed.connect(self._on_models)
        models.role_ready.connect(lambda _role: models.check())
        self.welcome.continue_clicked.connect(lambda: self.pages.setCurrentWidget(self.splitter))
        self.welcome.mirror_changed.connect(self._set_mirror)

        library.opened.connect(self._on_library_opened)
        library.status_changed.connect(self._on_library_status)
        library.indexing_changed.connect(self.library_panel.show_indexing)
        library.error.connect(lambda text: self.statusBar().showMessage(text, 15000))
        panel = self.library_panel
        panel.add_clicked.connect(self.choose_folder)
        panel.sync_clicked.connect(library.sync)
        panel.remove_clicked.connect(self._remove)
        panel.rename_clicked.connect(self._rename)
        panel.documents_clicked.connect(self.show_documents)
        panel.skipped_clicked.connect(self.show_skipped)
        panel.watch_toggled.connect(
            lambda on: self._save_preferences(replace(self.preferences, watch_folders=on)))
        panel.pause_clicked.connect(library.pause)
        panel.resume_clicked.connect(library.resume)
        panel.stop_clicked.connect(library.stop)

        chats.chats_changed.connect(
            lambda items: self.chats_list.show_chats(items, chats.current_id))
        chats.chat_opened.connect(self.chat_panel.show_chat)
        chats.answer_started.connect(self._on_answer_started)
        chats.answer_phase.connect(self._on_answer_phase)
        chats.answer_piece.connect(self.chat_panel.append)
        chats.answer_extract.connect(self.chat_panel.set_extract)
        chats.engine_changed.connect(self._on_engine_changed)
        chats.answer_checked.connect(self.chat_panel.mark_checked)
        chats.answer_finished.connect(self._on_answer_finished)
        chats.answer_failed.connect(self.chat_panel.fail_answer)
        chats.busy_changed.connect(library.pause_for_answer)
        chats.busy_changed.connect(self.chat_panel.set_busy)
        chats.answer_resumed.connect(self.chat_panel.resume_answer)
        chats.llm_failed.connect(
            lambda error: self.chat_panel.set_notice(tr("ask.llm_failed", error=error)))
        chats.failed.connect(lambda text: self.statusBar().showMessage(text, 15000))
        chats.exported.connect(
            lambda path: self.statusBar().showMessage(tr("chats.exported", path=path), 8000))
        chats.export_failed.connect(
            lambda text: QMessageBox.warning(self, tr("chats.export"), text))
        self.chats_list.new_clicked.connect(chats.new_chat)
        self.chats_list.chat_selected.connect(chats.open_chat)
        self.chats_list.rename_clicked.connect(self._rename_chat)
        self.chats_list.delete_clicked.connect(self._delete_chat)
        self.chats_list.export_clicked.connect(self._export)
        self.chat_panel.ask_requested.connect(self.ask)
        self.chat_panel.stop_requested.connect(chats.stop)
        self.chat_panel.source_clicked.connect(self.show_source)
        self.chat_panel.paths_dropped.connect(self.add_paths)

    def _set_mirror(self, mirror: str) -> None:
        self.preferences = replace(self.preferences, mirror=mirror.strip()).validated()
        save_preferences(self.preferences)

    # -- drag and drop ----------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        event.acceptProposedAction()
        self.add_paths(local_paths(event.mimeData()))

    # -- closing ----------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop work at its next safe point, wait for it, then close the library (which
        saves the vector index). Nothing is lost either way: a killed Kura resumes."""
        self.chats.stop()
        self.library.shutdown()
        self.models.pause()
        finished = QThreadPool.globalInstance().waitForDone(SHUTDOWN_WAIT_MS)
        self.library.close(workers_done=finished)
        event.accept()
