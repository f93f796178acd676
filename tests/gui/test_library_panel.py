"""The sidebar's library: collections with their counts (from a real library on the real
embedder), the indexing progress with Pause/Resume/Stop, and the skipped files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel, QTreeWidgetItem

from desktop_app.core.library import Library
from desktop_app.core.store import DocumentInfo, StoreStatus
from desktop_app.gui.documents_dialog import DocumentsDialog
from desktop_app.gui.library_controller import IndexingState
from desktop_app.gui.library_panel import LibraryPanel
from desktop_app.gui.skipped_dialog import SkippedDialog
from desktop_app.gui.strings import tr

LEAVE = """# Annual leave

Employees get twenty days of paid annual leave per calendar year. Unused days carry over
until the end of March, after which they lapse.

## Sick leave

Sick leave needs a doctor's note after three days.
"""
VPN = """# VPN

Install the VPN client from the IT portal and sign in with your company account.
"""
EXPENSES = """# Expenses

Submit receipts within thirty days; the finance team reimburses within two weeks.
"""
PENDING = """# Parking

Staff parking is on level two; visitors register at the front desk.
"""


@pytest.fixture(scope="module")
def real_library(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[
        tuple[StoreStatus, dict[str, Path], list[DocumentInfo]]]:
    """A real library: Handbook (two notes and an empty file it must skip), Finance (one
    note), and Pending (read but not embedded yet); its status and its documents."""
    root = tmp_path_factory.mktemp("library-panel")
    folders = {name: root / name for name in ("Handbook", "Finance", "Pending")}
    for folder in folders.values():
        folder.mkdir()
    (folders["Handbook"] / "leave.md").write_text(LEAVE, encoding="utf-8")
    (folders["Handbook"] / "vpn.md").write_text(VPN, encoding="utf-8")
    (folders["Handbook"] / "empty.txt").write_bytes(b"")
    (folders["Finance"] / "expenses.md").write_text(EXPENSES, encoding="utf-8")
    (folders["Pending"] / "later.md").write_text(PENDING, encoding="utf-8")
    library = Library(home=root / "home", embedder=embedder)
    list(library.add([folders["Handbook"], folders["Finance"]]))
    list(library.add([folders["Pending"]], embed=False))
    yield library.status(), folders, library.documents()
    library.close()


@pytest.fixture(scope="module")
def library_status(real_library) -> tuple[StoreStatus, dict[str, Path]]:
    status, folders, _documents = real_library
    return status, folders


@pytest.fixture
def panel(qtbot) -> LibraryPanel:
    panel = LibraryPanel()
    qtbot.addWidget(panel)
    panel.show()
    return panel


def rows(panel: LibraryPanel) -> list[str]:
    return [panel.list.item(i).text() for i in range(panel.list.count())]


# -- collections --------------------------------------------------------------------


def test_no_library_yet_shows_the_hint(panel: LibraryPanel) -> None:
    assert panel.empty.isVisible() and not panel.list.isVisible()
    assert panel.empty.text() == tr("library.empty")
    assert not panel.sync_button.isEnabled() and not panel.remove_button.isEnabled()
    assert panel.skipped_button.text() == tr("library.skipped")
    assert not panel.progress.isVisible() and not panel.pause_button.isVisible()


def test_collections_are_listed_with_their_counts(panel: LibraryPanel,
                                                  library_status) -> None:
    status, folders = library_status
    panel.show_status(status)
    by_name = {c.name: c for c in status.collections}
    assert by_name["Handbook"].documents == 3 and by_name["Handbook"].chunks >= 2
    assert by_name["Finance"].documents == 1 and by_name["Finance"].chunks >= 1
    assert rows(panel) == [
        f"Finance\n1 documents · {by_name['Finance'].chunks} passages · up to date",
        f"Handbook\n3 documents · {by_name['Handbook'].chunks} passages · up to date"
        " · 1 skipped",
        f"Pending\n1 documents · {by_name['Pending'].chunks} passages · "
        "waiting to be indexed",
    ]
    assert panel.list.isVisible() and not panel.empty.isVisible()
    assert panel.list.item(1).toolTip() == str(folders["Handbook"].resolve())
    assert panel.selected() == "Finance"  # the first row is selected
    assert panel.sync_button.isEnabled() and panel.rename_button.isEnabled()


def test_rows_say_indexing_while_indexing_runs(panel: LibraryPanel, library_status) -> None:
    status, _folders = library_status
    panel.show_status(status)
    panel.show_indexing(IndexingState("Indexing passages: 1 of 4", 0.25, True, False))
    assert rows(panel)[2].endswith(tr("library.state.indexing"))
    panel.show_indexing(IndexingState(tr("index.done"), 1.0, False, False))
    assert rows(panel)[2].endswith(tr("library.state.pending"))


def test_the_buttons_act_on_the_selected_collection(qtbot, panel: LibraryPanel,
                                                    library_status) -> None:
    status, _folders = library_status
    panel.show_status(status)
    panel.list.setCurrentRow(1)
    for button, signal in ((panel.sync_button, panel.sync_clicked),
                           (panel.rename_button, panel.rename_clicked),
                           (panel.remove_button, panel.remove_clicked)):
        with qtbot.waitSignal(signal, timeout=1000) as clicked:
            button.click()
        assert clicked.args == ["Handbook"]
    panel.show_status(status)  # a refresh keeps the selection
    assert panel.selected() == "Handbook"
    with qtbot.waitSignal(panel.add_clicked, timeout=1000):
        panel.add_button.click()


def test_the_skipped_files_button_shows_the_count(qtbot, panel: LibraryPanel,
                                                  library_status) -> None:
    status, _folders = library_status
    panel.show_status(status)
    assert len(status.skipped) == 1
    assert panel.skipped_button.text() == f"{tr('library.skipped')} (1)"
    with qtbot.waitSignal(panel.skipped_clicked, timeout=1000):
        panel.skipped_button.click()


def test_the_documents_button_asks_for_the_selected_collection(qtbot,
                                                               panel: LibraryPanel) -> None:
    from desktop_app.core.store import CollectionSummary

    assert not panel.documents_button.isEnabled()  # no collection selected yet
    counts = {"parsed": 1, "embedded": 2, "skipped": 0}
    status = StoreStatus([CollectionSummary(i, name, 0.0, (f"/{name}",), 3, 5, counts)
                          for i, name in enumerate(("Finance", "Handbook", "Pending"), 1)],
                         counts, 15, 10, 1)
    panel.show_status(status)
    panel.list.setCurrentRow(2)
    assert panel.documents_button.isEnabled()
    assert panel.documents_button.text() == tr("library.documents")
    with qtbot.waitSignal(panel.documents_clicked, timeout=1000) as clicked:
        panel.documents_button.click()
    assert clicked.args == ["Pending"]


@pytest.mark.slow
def test_the_documents_dialog_shows_a_real_librarys_files(qtbot, real_library) -> None:
    _status, _folders, documents = real_library
    dialogs = {}
    for name in ("Handbook", "Pending"):
        dialogs[name] = DocumentsDialog(name)
        qtbot.addWidget(dialogs[name])
        # What the controller sends: every row, for the collection asked for.
        dialogs[name].show_documents(name, [d for d in documents if d.collection == name])
    chunks = {Path(d.path).name: str(d.chunks) for d in documents}
    empty = next(d for d in documents if Path(d.path).name == "empty.txt")
    assert [row[:3] for row in dialogs["Handbook"].rows()] == [
        ["empty.txt", tr("documents.state.skipped", reason=empty.message), "0"],
        ["leave.md", tr("documents.state.embedded"), chunks["leave.md"]],
        ["vpn.md", tr("documents.state.embedded"), chunks["vpn.md"]],
    ]
    assert empty.reason == "empty" and empty.message
    assert int(chunks["leave.md"]) >= 1 and int(chunks["vpn.md"]) >= 1
    assert all(row[3] != "—" for row in dialogs["Handbook"].rows())  # every file was read
    [pending] = dialogs["Pending"].rows()
    assert pending[:2] == ["later.md", tr("documents.state.parsed")] and pending[4] == "—"


def test_the_watch_switch(qtbot, panel: LibraryPanel) -> None:
    with qtbot.assertNotEmitted(panel.watch_toggled, wait=50):
        panel.set_watching(True)  # showing the state is not a user's toggle
    assert panel.watch_box.isChecked()
    with qtbot.waitSignal(panel.watch_toggled, timeout=1000) as toggled:
        panel.watch_box.click()
    assert toggled.args == [False]


# -- indexing progress --------------------------------------------------------------


def test_indexing_shows_text_bar_and_pause_resume_stop(qtbot, panel: LibraryPanel) -> None:
    panel.show_indexing(IndexingState("Indexing passages: 30 of 100", 0.3, True, False))
    assert panel.progress_text.isVisible()
    assert panel.progress_text.text() == "Indexing passages: 30 of 100"
    assert panel.progress.isVisible()
    assert (panel.progress.minimum(), panel.progress.maximum(), panel.progress.value()) == (
        0, 1000, 300)
    assert panel.pause_button.isVisible() and panel.stop_button.isVisible()
    assert panel.pause_button.text() == tr("index.pause")
    with qtbot.waitSignal(panel.pause_clicked, timeout=1000), \
            qtbot.assertNotEmitted(panel.resume_clicked):
        panel.pause_button.click()

    panel.show_indexing(IndexingState(tr("index.paused"), 0.3, True, True))
    assert panel.pause_button.text() == tr("index.resume")
    assert panel.progress_text.text() == tr("index.paused")
    with qtbot.waitSignal(panel.resume_clicked, timeout=1000), \
            qtbot.assertNotEmitted(panel.pause_clicked):
        panel.pause_button.click()

    panel.show_indexing(IndexingState("Looking for files…", None, True, False))
    assert (panel.progress.minimum(), panel.progress.maximum()) == (0, 0)  # busy
    assert panel.pause_button.text() == tr("index.pause")
    with qtbot.waitSignal(panel.stop_clicked, timeout=1000):
        panel.stop_button.click()

    panel.show_indexing(IndexingState(tr("index.done"), 1.0, False, False))
    assert panel.progress_text.text() == tr("index.done")
    assert not panel.progress.isVisible()
    assert not panel.pause_button.isVisible() and not panel.stop_button.isVisible()


# -- skipped files ------------------------------------------------------------------


def skipped_items(dialog: SkippedDialog) -> list[tuple[str, QTreeWidgetItem]]:
    out = []
    for i in range(dialog.tree.topLevelItemCount()):
        group = dialog.tree.topLevelItem(i)
        out += [(group.text(0), group.child(j)) for j in range(group.childCount())]
    return out


def test_the_skipped_dialog_lists_files_with_their_reasons(qtbot, library_status) -> None:
    status, _folders = library_status
    names = {c.id: c.name for c in status.collections}
    dialog = SkippedDialog(status.skipped, names)
    qtbot.addWidget(dialog)
    items = skipped_items(dialog)
    assert len(items) == 1
    group, item = items[0]
    (skipped,) = status.skipped
    assert group == "Handbook"
    assert item.text(0) == skipped.path and Path(skipped.path).name == "empty.txt"
    assert item.text(1) == skipped.message and skipped.message
    assert dialog.retry_button.isEnabled()


def test_retry_sends_the_selected_paths_or_all(qtbot, library_status) -> None:
    status, _folders = library_status
    names = {c.id: c.name for c in status.collections}
    dialog = SkippedDialog(status.skipped, names)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.retry_requested, timeout=1000) as retried, \
            qtbot.waitSignal(dialog.accepted, timeout=1000):
        dialog.retry_button.click()
    assert retried.args == [[status.skipped[0].path]]


def test_retry_sends_only_the_selected_files(qtbot) -> None:
    from desktop_app.core.store import SkippedFile

    files = [SkippedFile(1, "/d/a.docx", "corrupt", "not a zip file"),
             SkippedFile(1, "/d/b.txt", "empty", None),
             SkippedFile(2, "/e/c.psd", "unsupported", "Photoshop files are not read")]
    dialog = SkippedDialog(files, {1: "Docs", 2: "Art"})
    qtbot.addWidget(dialog)
    items = skipped_items(dialog)
    assert [(g, i.text(0), i.text(1)) for g, i in items] == [  # worded from the reason code
        ("Docs", "/d/a.docx", "The file is damaged or is not a real Word document."),
        ("Docs", "/d/b.txt", "The file has no text in it."),
        ("Art", "/e/c.psd", "Kura cannot read .psd files.")]
    items[2][1].setSelected(True)
    items[0][1].setSelected(True)
    assert sorted(dialog.paths()) == ["/d/a.docx", "/e/c.psd"]
    assert dialog.paths(selected_only=False) == ["/d/a.docx", "/d/b.txt", "/e/c.psd"]


def test_nothing_skipped(qtbot) -> None:
    dialog = SkippedDialog([], {})
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.retry_button.isEnabled()
    shown = [label.text() for label in dialog.findChildren(QLabel) if label.isVisible()]
    assert tr("skipped.none") in shown
    assert dialog.tree.topLevelItemCount() == 0


def test_the_windows_skipped_dialog_retries_through_the_library(
        make_window, qtbot, monkeypatch: pytest.MonkeyPatch, library_status) -> None:
    status, _folders = library_status
    window = make_window()
    retried: list[list[str]] = []
    monkeypatch.setattr(window.library, "retry", retried.append)
    window.library.status = status
    window._on_library_status(status)
    assert window.library_panel.skipped_button.text().endswith("(1)")
    window.library_panel.skipped_button.click()
    dialogs = [d for d in window.findChildren(SkippedDialog) if d.isVisible()]
    assert len(dialogs) == 1
    dialogs[0].retry_button.click()
    assert retried == [[status.skipped[0].path]]
