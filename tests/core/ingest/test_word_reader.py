from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.core.ingest import SkipReason, UnreadableFile, parse
from tests.support.documents import docx_handbook, ole_file


def test_sections_follow_heading_styles(tmp_path: Path) -> None:
    document = parse(docx_handbook(tmp_path / "handbook.docx"))
    assert document.kind == "docx"
    assert document.title == "Kura Handbook"
    assert [(s.location, s.heading) for s in document.sections] == [
        (None, None),
        ("Install > Linux", "Linux"),
        ("Install > Windows", "Windows"),
        ("Usage", "Usage"),
    ]
    assert document.sections[0].text == "Read this first."
    linux = document.sections[1].text
    assert "Run the AppImage from your Downloads folder." in linux
    assert "System | Size\nUbuntu 24.04 | 90 MB" in linux  # the table, row by row
    assert "Install" not in linux  # headings travel in location, not in the text


def test_title_falls_back_to_the_title_paragraph_then_heading_1(tmp_path: Path) -> None:
    import docx

    path = docx_handbook(tmp_path / "no-title.docx", core_title=None)
    assert parse(path).title == "Install"
    document = docx.Document(str(path))
    document.paragraphs[0].insert_paragraph_before("The Handbook", style="Title")
    document.save(str(path))
    assert parse(path).title == "The Handbook"


def test_random_bytes_are_not_a_word_document(tmp_path: Path) -> None:
    path = tmp_path / "fake.docx"
    path.write_bytes(bytes((i * 37 + 11) % 256 for i in range(4096)))
    with pytest.raises(UnreadableFile) as caught:
        parse(path)
    assert caught.value.reason is SkipReason.CORRUPT
    assert caught.value.message == "The file is damaged or is not a real Word document."


def test_zip_that_is_not_a_word_document(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "photos.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("photo.txt", "not word")
    with pytest.raises(UnreadableFile) as caught:
        parse(path)
    assert caught.value.reason is SkipReason.CORRUPT
    assert caught.value.detail  # the library's own words are kept for the log


def test_password_protected_word_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile) as caught:
        parse(ole_file(tmp_path / "locked.docx", encrypted=True))
    assert caught.value.reason is SkipReason.ENCRYPTED
    assert caught.value.message == "This Word document is password-protected."


def test_old_doc_renamed_to_docx_is_not_called_encrypted(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile) as caught:
        parse(ole_file(tmp_path / "old.docx", encrypted=False))
    assert caught.value.reason is SkipReason.CORRUPT
