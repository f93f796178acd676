from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from desktop_app.core.errors import KuraError
from desktop_app.core.ingest import SkipReason, UnreadableFile
from desktop_app.core.ingest.errors import SENTENCES, SkipWording, explain, skip_wording


@pytest.mark.parametrize(("name", "reason", "message"), [
    ("a.pdf", SkipReason.ENCRYPTED, "This PDF is password-protected."),
    ("a.docx", SkipReason.ENCRYPTED, "This Word document is password-protected."),
    ("a.epub", SkipReason.ENCRYPTED, "This e-book is locked with copy protection (DRM)."),
    ("a.docx", SkipReason.CORRUPT, "The file is damaged or is not a real Word document."),
    ("a.xlsx", SkipReason.CORRUPT, "The file is damaged or is not a real Excel workbook."),
    ("a.pdf", SkipReason.CORRUPT, "The file is damaged or is not a real PDF."),
    ("a.txt", SkipReason.CORRUPT, "The file is damaged and cannot be read."),
    ("a.psd", SkipReason.UNSUPPORTED, "Kura cannot read .psd files."),
    ("Makefile.am", SkipReason.UNSUPPORTED, "Kura cannot read .am files."),
    ("noext", SkipReason.UNSUPPORTED, "Kura cannot read files of this type."),
    ("a.pdf", SkipReason.EMPTY, "The file has no text — it may be a scanned image."),
    ("a.txt", SkipReason.EMPTY, "The file has no text in it."),
    ("a.txt", SkipReason.PERMISSION_DENIED, "Kura is not allowed to read this file."),
    ("a.txt", SkipReason.VANISHED, "The file was moved or deleted while Kura was reading it."),
    ("a.txt", SkipReason.BINARY, "This looks like binary data, not text."),
])
def test_each_reason_has_a_plain_sentence(name: str, reason: SkipReason, message: str) -> None:
    assert UnreadableFile(Path(name), reason, "technical detail").message == message


def test_old_office_formats_say_how_to_fix_it() -> None:
    message = UnreadableFile(Path("budget.XLS"), SkipReason.UNSUPPORTED).message
    assert message == "Kura cannot read old .xls files — save it as .xlsx to include it."


def test_too_large_names_the_limit() -> None:
    error = UnreadableFile(Path("big.pdf"), SkipReason.TOO_LARGE, limit=200 * 1024 * 1024)
    assert error.message == "The file is larger than the 200 MB limit."
    assert UnreadableFile(Path("b.pdf"), SkipReason.TOO_LARGE).message == (
        "The file is too large for Kura to read.")


def test_folder_wording() -> None:
    assert explain(SkipReason.PERMISSION_DENIED, Path("x"), folder=True) == (
        "Kura is not allowed to read this folder.")


def test_the_wording_is_a_code_and_what_fills_it_in() -> None:
    """What the window words in the user's language: the format as a kind, not a noun."""
    assert skip_wording(SkipReason.CORRUPT, Path("a.docx")) == SkipWording(
        "corrupt_format", kind="docx", noun="Word document")
    assert skip_wording(SkipReason.UNSUPPORTED, Path("a.DOC")) == SkipWording(
        "unsupported_legacy", suffix=".doc", new_suffix=".docx")
    assert skip_wording(SkipReason.VANISHED, Path("x"), folder=True).code == "vanished_folder"
    assert skip_wording(SkipReason.TOO_LARGE, Path("a.txt"), limit=2 * 1024 * 1024) == \
        SkipWording("too_large_limit", limit="2 MB")
    assert UnreadableFile(Path("a.pdf"), SkipReason.EMPTY).wording.code == "empty_scanned"


def test_every_wording_code_has_a_sentence() -> None:
    codes = {skip_wording(reason, Path(name), limit=limit, folder=folder).code
             for reason in SkipReason
             for name in ("a.pdf", "a.epub", "a.txt", "a.doc", "a.psd", "noext")
             for limit in (None, 1024) for folder in (False, True)}
    assert codes == set(SENTENCES)


def test_every_reason_is_explained() -> None:
    for reason in SkipReason:
        message = explain(reason, Path("file.pdf"), limit=1024 * 1024)
        assert message.endswith(".") and message[0].isupper()


def test_error_carries_path_reason_detail_and_is_a_kura_error() -> None:
    error = UnreadableFile(Path("/x/a.pdf"), SkipReason.CORRUPT, "xref broken")
    assert isinstance(error, KuraError)
    assert (error.path, error.reason, error.detail) == (Path("/x/a.pdf"), "corrupt", "xref broken")
    assert "not a real PDF" in str(error) and "xref broken" in str(error)


def test_error_survives_pickling_for_worker_processes() -> None:
    error = UnreadableFile(Path("a.pdf"), SkipReason.TOO_LARGE, "3 GB", limit=10 * 1024 * 1024)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.path, copy.reason, copy.detail, copy.message) == (
        error.path, error.reason, error.detail, error.message)


def test_reasons_are_strings_for_storage() -> None:
    assert SkipReason.TOO_LARGE == "too_large"
    assert {r.name for r in SkipReason} == {
        "ENCRYPTED", "CORRUPT", "UNSUPPORTED", "EMPTY", "TOO_LARGE", "PERMISSION_DENIED",
        "VANISHED", "BINARY", "TOO_SLOW", "TOO_MUCH_MEMORY", "CRASHED", "SUSPICIOUS",
        "NOT_PROSE", "SCANNED", "OCR_UNSURE"}
