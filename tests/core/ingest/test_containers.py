from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from desktop_app.core.ingest import SkipReason, UnreadableFile, containers, parse
from tests.support.documents import docx_handbook, epub_book, ole_file, pptx_deck, xlsx_book
from tests.support.hostile_files import declare_sizes, many_entries_zip, zip_bomb_docx

BUILDERS: dict[str, Callable[[Path], Path]] = {
    ".docx": docx_handbook, ".xlsx": xlsx_book, ".pptx": pptx_deck, ".epub": epub_book}


def test_a_real_office_file_passes(tmp_path: Path) -> None:
    containers.check_zip_container(docx_handbook(tmp_path / "a.docx"))


def test_encryption_marker_split_across_read_chunks_is_found(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = ole_file(tmp_path / "locked.xlsx", encrypted=True)
    marker_at = path.read_bytes().index("EncryptionInfo".encode("utf-16-le"))
    monkeypatch.setattr(containers, "_CHUNK", marker_at + 5)  # the name straddles two reads
    with pytest.raises(UnreadableFile) as caught:
        containers.check_zip_container(path)
    assert caught.value.reason is SkipReason.ENCRYPTED
    assert caught.value.message == "This Excel workbook is password-protected."


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "a.pptx"
    path.write_text("hello")
    with pytest.raises(UnreadableFile) as caught:
        containers.check_zip_container(path)
    assert caught.value.reason is SkipReason.CORRUPT
    assert caught.value.message == "The file is damaged or is not a real PowerPoint presentation."


# -- the directory: refused before anything is inflated --------------------------------


READERS_LIBRARY_ENTRY = {  # what each ZIP-based reader hands the file to
    ".docx": ("docx", "Document"),
    ".xlsx": ("openpyxl", "load_workbook"),
    ".pptx": ("pptx", "Presentation"),
    ".epub": ("ebooklib.epub", "read_epub"),
}


def libraries_must_not_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, a file that reaches its library fails the test (parse would word
    that as CORRUPT, not SUSPICIOUS): a refused container is never opened."""
    import importlib

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the library was asked to open a refused container")

    for module, name in READERS_LIBRARY_ENTRY.values():
        monkeypatch.setattr(importlib.import_module(module), name, refuse)


def test_a_real_zip_bomb_is_refused_from_its_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = zip_bomb_docx(tmp_path / "bomb.docx")
    libraries_must_not_open(monkeypatch)
    assert bomb.stat().st_size < 4 * 1024 * 1024  # 2 GiB of text in a couple of MB
    with zipfile.ZipFile(bomb) as archive:
        assert archive.getinfo("word/document.xml").file_size == 2 * 1024**3
    with pytest.raises(UnreadableFile) as caught:
        parse(bomb)
    assert caught.value.reason is SkipReason.SUSPICIOUS
    assert "2,147,48" in caught.value.detail
    assert caught.value.message == ("The file claims to unpack to far more data than a "
                                    "document holds; Kura did not open it.")


@pytest.mark.parametrize("suffix", sorted(READERS_LIBRARY_ENTRY))
def test_every_zip_reader_checks_the_directory_first(
        tmp_path: Path, suffix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real document of each format whose directory then claims 2 GiB for one part."""
    path = BUILDERS[suffix](tmp_path / f"real{suffix}")
    with zipfile.ZipFile(path) as archive:
        part = max(archive.infolist(), key=lambda info: info.file_size).filename
    declare_sizes(path, {part: 2 * 1024**3})
    libraries_must_not_open(monkeypatch)
    with pytest.raises(UnreadableFile) as caught:
        parse(path)
    assert caught.value.reason is SkipReason.SUSPICIOUS


@pytest.mark.parametrize("suffix", sorted(READERS_LIBRARY_ENTRY))
def test_real_documents_pass(tmp_path: Path, suffix: str) -> None:
    containers.check_zip_container(BUILDERS[suffix](tmp_path / f"real{suffix}"))


def test_a_part_unpacking_beyond_any_real_ratio_is_refused(tmp_path: Path) -> None:
    """Real parts unpack 2-16x; 20 MiB from a few hundred bytes is a bomb even though
    the total is far below the size cap. Small parts stay out of the ratio test."""
    small = declare_sizes(docx_handbook(tmp_path / "small.docx"),
                          {"word/styles.xml": 5 * 1024 * 1024})
    containers.check_zip_container(small)
    large = declare_sizes(docx_handbook(tmp_path / "large.docx"),
                          {"word/styles.xml": 20 * 1024 * 1024})
    with pytest.raises(UnreadableFile) as caught:
        containers.check_zip_container(large)
    assert caught.value.reason is SkipReason.SUSPICIOUS
    assert "word/styles.xml" in caught.value.detail
    # Parts each under the floor, absurd together.
    spread = docx_handbook(tmp_path / "spread.docx")
    with zipfile.ZipFile(spread) as archive:
        parts = [info.filename for info in archive.infolist()][:3]
    declare_sizes(spread, dict.fromkeys(parts, 9 * 1024 * 1024))
    with pytest.raises(UnreadableFile) as caught:
        containers.check_zip_container(spread)
    assert caught.value.reason is SkipReason.SUSPICIOUS


def test_too_many_entries_are_refused_before_the_directory_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    many = many_entries_zip(tmp_path / "many.docx", containers.MAX_ENTRIES + 1)
    containers.check_zip_container(
        many_entries_zip(tmp_path / "fine.docx", containers.MAX_ENTRIES))

    def no_directory(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("zipfile read the directory")

    monkeypatch.setattr(zipfile, "ZipFile", no_directory)
    with pytest.raises(UnreadableFile) as caught:
        containers.check_zip_container(many)
    assert caught.value.reason is SkipReason.SUSPICIOUS
    assert f"{containers.MAX_ENTRIES + 1:,} entries" in caught.value.detail


def test_a_damaged_directory_is_corrupt(tmp_path: Path) -> None:
    whole = docx_handbook(tmp_path / "whole.docx")
    cut = tmp_path / "cut.docx"
    cut.write_bytes(whole.read_bytes()[:-200])  # the end of the directory is gone
    with pytest.raises(UnreadableFile) as caught:
        containers.check_zip_container(cut)
    assert caught.value.reason is SkipReason.CORRUPT
