"""The Documents dialog: every document of a collection with its state (the skip reason
for skipped ones), passages and times, sortable; and the window opening it for the
selected collection, the rows read through the LibraryController on a worker."""

from __future__ import annotations

import os
import re
from pathlib import Path

from PySide6.QtCore import QPoint, Qt

from desktop_app.core.store import Database, DocumentInfo
from desktop_app.core.store.rows import OcrSummary
from desktop_app.gui.documents_dialog import (
    EMBEDDED,
    FILE,
    OCR,
    PASSAGES,
    PATH_ROLE,
    STATE,
    DocumentsDialog,
    time_text,
)
from desktop_app.gui.strings import tr
from tests.support.store import chunks, embed_pending

T0 = 1_700_000_000.0
DAMAGED = "The file is damaged or is not a real Word document."  # worded from "corrupt"
ROWS = [
    DocumentInfo("Docs", "/d/leave.md", "/d", "embedded", None, None, 12, T0, T0 + 60),
    DocumentInfo("Docs", "/d/sub/vpn.md", "/d", "parsed", None, None, 9, T0 + 30, None),
    DocumentInfo("Docs", "/d/broken.docx", "/d", "skipped", "corrupt", DAMAGED, 0, T0 + 90,
                 None),
]
VPN = os.path.join("sub", "vpn.md")


def dialog_for(qtbot, rows=ROWS, collection: str = "Docs") -> DocumentsDialog:
    dialog = DocumentsDialog(collection)
    qtbot.addWidget(dialog)
    dialog.show_documents(collection, rows)
    return dialog


def test_every_document_with_its_state_passages_and_times(qtbot) -> None:
    dialog = DocumentsDialog("Docs")
    qtbot.addWidget(dialog)
    assert dialog.summary.text() == tr("documents.loading")
    assert dialog.windowTitle() == tr("documents.title", name="Docs")
    dialog.show_documents("Docs", ROWS)
    assert dialog.rows() == [  # by file name at first
        ["broken.docx", f"Skipped: {DAMAGED}", "0", time_text(T0 + 90), "—", ""],
        ["leave.md", "Indexed", "12", time_text(T0), time_text(T0 + 60), ""],
        [VPN, "Read, waiting to be indexed", "9", time_text(T0 + 30), "—", ""],
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", time_text(T0))
    assert dialog.summary.text() == "3 documents: 1 indexed, 1 waiting to be indexed, 1 skipped"
    first = dialog.proxy.index(0, FILE)
    assert first.data(PATH_ROLE) == "/d/broken.docx"
    assert first.data(Qt.ItemDataRole.ToolTipRole) == "/d/broken.docx"
    assert "corrupt" in dialog.proxy.index(0, STATE).data(Qt.ItemDataRole.ToolTipRole)


def test_a_scan_shows_what_ocr_read_and_the_pages_it_left_out(qtbot) -> None:
    scan = DocumentInfo("Docs", "/d/scan.pdf", "/d", "embedded", None, None, 7, T0, T0 + 9,
                        OcrSummary(12, 0.934, (3, 7)))
    dialog = dialog_for(qtbot, [scan])
    assert dialog.rows()[0][OCR] == "12 pages · 93% sure"
    tip = dialog.proxy.index(0, OCR).data(Qt.ItemDataRole.ToolTipRole)
    assert tip == "OCR was not sure of page(s) 3, 7: left out of search"


def test_columns_sort_by_value_not_by_text(qtbot) -> None:
    dialog = dialog_for(qtbot)
    dialog.table.sortByColumn(PASSAGES, Qt.SortOrder.DescendingOrder)
    assert [r[PASSAGES] for r in dialog.rows()] == ["12", "9", "0"]  # as text "9" > "12"
    dialog.table.sortByColumn(STATE, Qt.SortOrder.AscendingOrder)
    assert [r[FILE] for r in dialog.rows()] == ["leave.md", VPN, "broken.docx"]
    dialog.table.sortByColumn(EMBEDDED, Qt.SortOrder.DescendingOrder)
    assert dialog.rows()[0][FILE] == "leave.md"  # the only one indexed
    dialog.show()
    qtbot.waitExposed(dialog)
    header = dialog.table.horizontalHeader()
    x = header.sectionViewportPosition(PASSAGES) + header.sectionSize(PASSAGES) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(x, header.height() // 2))  # the user clicks a header
    assert header.sortIndicatorSection() == PASSAGES
    passages = [int(r[PASSAGES]) for r in dialog.rows()]
    assert passages in ([0, 9, 12], [12, 9, 0])


def test_rows_for_another_collection_are_not_shown(qtbot) -> None:
    dialog = dialog_for(qtbot, rows=[])
    assert dialog.summary.text() == tr("documents.none") and dialog.rows() == []
    dialog.show_documents("Other", ROWS)
    dialog.show_failure("Other", "boom")
    assert dialog.rows() == [] and dialog.summary.text() == tr("documents.none")
    dialog.show_failure("Docs", "no collection named 'Docs'")
    assert dialog.summary.text() == tr("documents.failed", error="no collection named 'Docs'")


def test_the_window_shows_the_selected_collections_documents(
        make_window, qtbot, private_user_dirs: Path, tmp_path: Path) -> None:
    """Written through the store with stand-in vectors: no model is needed to list."""
    handbook, finance = tmp_path / "Handbook", tmp_path / "Finance"
    with Database(private_user_dirs / "library.sqlite3") as db:
        hb, fin = db.create_collection("Handbook"), db.create_collection("Finance")
        db.add_folder(hb, handbook)
        db.add_folder(fin, finance)
        db.replace_document(hb, handbook / "leave.md", 1, 1, "h", "markdown", None,
                            chunks("leave one", "leave two"))
        db.replace_document(fin, finance / "expenses.md", 1, 1, "h", "markdown", None,
                            chunks("expenses"))
        embed_pending(db)
        db.upsert_skipped(hb, handbook / "empty.txt", 0, 1, "empty", "The file has no text.")

    window = make_window()
    window.library.open()  # just the library: no model check, so nothing is indexed
    panel = window.library_panel
    qtbot.waitUntil(lambda: panel.list.count() == 2, timeout=15_000)
    panel.list.setCurrentRow(1)
    assert panel.selected() == "Handbook" and panel.documents_button.isEnabled()
    with qtbot.waitSignal(window.library.documents_loaded, timeout=15_000) as loaded:
        panel.documents_button.click()
    assert loaded.args[0] == "Handbook"
    dialogs = [d for d in window.findChildren(DocumentsDialog) if d.isVisible()]
    assert len(dialogs) == 1
    assert [row[:3] for row in dialogs[0].rows()] == [
        ["empty.txt", "Skipped: The file has no text in it.", "0"],  # worded from "empty"
        ["leave.md", "Indexed", "2"],
    ]
    assert dialogs[0].rows()[1][EMBEDDED] != "—"
