"""The core's messages in the window's language: every code the core can send (skip
reasons, preview notes, error codes) has a text in every language, the English window
says what the command line says, and the Chinese window says it in Chinese."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import desktop_app.core
from desktop_app.core.errors import KuraError
from desktop_app.core.ingest import SkipReason, UnreadableFile
from desktop_app.core.ingest.errors import SENTENCES, explain
from desktop_app.core.ingest.formats import FORMATS
from desktop_app.core.preferences import Preferences
from desktop_app.core.preview import NoteCode, TextPreview
from desktop_app.core.store import SkippedFile
from desktop_app.gui import strings
from desktop_app.gui.library_controller import LibraryController
from desktop_app.gui.preview_pane import PreviewPane
from desktop_app.gui.skipped_dialog import SkippedDialog
from desktop_app.gui.strings import set_language
from desktop_app.gui.translate import error_text, note_text, skip_text

# A file of each format with a noun, and of none, of an old Office type and of no type.
PATHS = [f"/d/x.{row.extensions[0]}" for row in FORMATS] + ["/d/x.doc", "/d/x.psd", "/d/x"]


def kura_error_classes() -> Iterator[type[KuraError]]:
    for module in pkgutil.walk_packages(desktop_app.core.__path__, "desktop_app.core."):
        importlib.import_module(module.name)  # a subclass exists once its module is loaded

    def walk(cls: type[KuraError]) -> Iterator[type[KuraError]]:
        if cls.__module__.startswith("desktop_app."):  # not a test's own subclass
            yield cls
        for sub in cls.__subclasses__():
            yield from walk(sub)

    return walk(KuraError)


def keys_the_core_can_send() -> set[str]:
    keys = {f"skip.{code}" for code in SENTENCES}
    keys |= {"format.file"} | {f"format.{row.kind}" for row in FORMATS if row.noun}
    keys |= {f"preview.note.{code}" for code in NoteCode}
    keys |= {f"error.{cls.code}" for cls in kura_error_classes()}
    return keys


@pytest.mark.parametrize("language", strings.LANGUAGES)
def test_every_code_the_core_sends_has_a_text(language: strings.Language) -> None:
    missing = keys_the_core_can_send() - set(strings.CATALOGS[language])
    assert sorted(missing) == []


@pytest.mark.parametrize("reason", list(SkipReason))
def test_the_english_window_says_what_the_command_line_says(reason: SkipReason) -> None:
    for path in PATHS:
        assert skip_text(reason, path) == explain(reason, Path(path)), (reason, path)


def test_a_reason_this_kura_does_not_know_shows_the_stored_sentence() -> None:
    assert skip_text("from_the_future", "/d/a.md", "Too new.") == "Too new."
    assert skip_text(None, "/d/a.md", None) == "?"


def test_the_chinese_window_shows_skip_reasons_in_chinese(qtbot) -> None:
    set_language("zh_CN")
    files = [SkippedFile(1, "/d/a.docx", "corrupt", "The file is damaged or is not a real "
                                                    "Word document."),
             SkippedFile(1, "/d/scan.pdf", "empty", "The file has no text.")]
    dialog = SkippedDialog(files, {1: "Docs"})
    qtbot.addWidget(dialog)
    group = dialog.tree.topLevelItem(0)
    assert group is not None
    shown = [group.child(i).text(1) for i in range(group.childCount())]
    assert shown == ["文件已损坏，或者并不是真正的 Word 文档。",
                     "文件中没有文字——可能是扫描的图片。"]


def test_the_chinese_window_shows_preview_notes_in_chinese(qtbot, tmp_path: Path) -> None:
    set_language("zh_CN")
    pane = PreviewPane(LibraryController(Preferences()))
    qtbot.addWidget(pane)
    gone = tmp_path / "gone.md"  # moved after it was indexed
    changed = TextPreview(gone, "The passage.", 0, 12, None, NoteCode.CHANGED)
    pane._show(changed)  # what the controller's preview_ready leads to
    assert pane.note.text() == "文件在建立索引后已被修改；显示的是索引时的段落。"
    locked = TextPreview(gone, "The passage.", 0, 12, None, NoteCode.UNREADABLE,
                         UnreadableFile(tmp_path / "a.pdf", SkipReason.ENCRYPTED).wording)
    assert note_text(locked) == "该PDF 文件设有密码保护。显示的是索引时的段落。"
    set_language("en")
    assert note_text(locked) == locked.note  # the English window: the core's sentence


def test_errors_are_worded_by_their_code() -> None:
    from desktop_app.core.chats import ChatNotFound

    assert error_text(ChatNotFound("no chat 12")) == "no chat 12"  # English: the message
    set_language("zh_CN")
    assert error_text(ChatNotFound("no chat 12")) == "找不到该对话：no chat 12"
    assert error_text(KuraError("no collection named 'X'")) == \
        "Kura 无法完成此操作：no collection named 'X'"
    unreadable = UnreadableFile(Path("/d/a.txt"), SkipReason.BINARY, "NUL bytes")
    assert error_text(unreadable) == "/d/a.txt：这看起来是二进制数据，不是文字。"


def test_the_window_keeps_what_the_stored_sentence_says_of_folders_and_limits() -> None:
    """Whether it was a folder and the size limit are not stored with the reason code;
    the stored English sentence tells which wording the library chose (found in review:
    the window said "file" for a folder and dropped the limit)."""
    set_language("en")
    folder = explain(SkipReason.PERMISSION_DENIED, Path("/d/locked"), folder=True)
    assert skip_text("permission_denied", "/d/locked", folder) == folder
    big = explain(SkipReason.TOO_LARGE, Path("/d/big.pdf"), limit=200 * 1024 * 1024)
    assert "200 MB" in big and skip_text("too_large", "/d/big.pdf", big) == big
    plain = explain(SkipReason.VANISHED, Path("/d/x.md"))
    assert skip_text("vanished", "/d/x.md", plain + " [Errno 5] I/O error") == plain
    set_language("zh_CN")
    try:
        chinese = skip_text("permission_denied", "/d/locked", folder)
        assert chinese == strings.tr("skip.permission_denied_folder")
        assert skip_text("vanished", "/d/x.md", plain) == strings.tr("skip.vanished")
    finally:
        set_language("en")
