"""parse(): the checks before any reader, and every bad file explained, never raised raw."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from desktop_app.core.ingest import (
    Kind,
    ParsedDocument,
    Section,
    SkipReason,
    UnreadableFile,
    parse,
)
from desktop_app.core.settings import MAX_FILE_BYTES
from tests.core.ingest.format_table import use_reader
from tests.support.documents import pdf
from tests.support.permissions import run_obeying_permissions


def _reason(path: Path, **kwargs: int) -> UnreadableFile:
    with pytest.raises(UnreadableFile) as caught:
        parse(path, **kwargs)
    return caught.value


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.docx"
    path.touch()
    error = _reason(path)
    assert error.reason is SkipReason.EMPTY
    assert error.message == "The file has no text in it."


def test_unsupported_kind(tmp_path: Path) -> None:
    path = tmp_path / "poster.psd"
    path.write_bytes(b"8BPS" + bytes(100))
    error = _reason(path)
    assert error.reason is SkipReason.UNSUPPORTED
    assert error.message == "Kura cannot read .psd files."


def test_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("x" * 2048)
    error = _reason(path, max_bytes=1024)
    assert error.reason is SkipReason.TOO_LARGE
    assert error.message == "The file is larger than the 1024 bytes limit."
    assert parse(path, max_bytes=4096).sections[0].text == "x" * 2048
    assert "200 MB" in UnreadableFile(path, SkipReason.TOO_LARGE,
                                      limit=MAX_FILE_BYTES).message


def test_vanished_file(tmp_path: Path) -> None:
    path = tmp_path / "gone.md"
    path.write_text("# soon gone")
    path.unlink()
    error = _reason(path)
    assert error.reason is SkipReason.VANISHED
    assert error.message == "The file was moved or deleted while Kura was reading it."


def test_file_vanishing_during_the_read(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "moving.md"
    path.write_text("# here")

    def vanish(p: Path) -> ParsedDocument:
        p.unlink()
        return ParsedDocument(p, "markdown", None, [Section(p.read_text(), None)])

    use_reader(monkeypatch, Kind.MARKDOWN, vanish)
    assert _reason(path).reason is SkipReason.VANISHED


def test_permission_denied_when_opening(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "private.txt"
    path.write_text("salary list")
    real_open = Path.open

    def forbidden(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", forbidden)
    error = _reason(path)
    assert error.reason is SkipReason.PERMISSION_DENIED
    assert error.message == "Kura is not allowed to read this file."


def test_permission_denied_inside_a_reader(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.4")

    def denied(p: Path) -> ParsedDocument:
        raise PermissionError(13, "Permission denied")

    use_reader(monkeypatch, Kind.PDF, denied)
    assert _reason(path).reason is SkipReason.PERMISSION_DENIED


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux capabilities")
def test_permission_denied_for_real(tmp_path: Path) -> None:
    """A real chmod-000 file, read by a process the kernel holds to the mode bits (also
    when the tests run as root, as CI does)."""
    path = tmp_path / "locked.md"
    path.write_text("# secret")
    path.chmod(0)
    try:
        out = run_obeying_permissions(f"""
            from pathlib import Path
            from desktop_app.core.ingest import UnreadableFile, parse
            try:
                parse(Path({str(path)!r}))
            except UnreadableFile as error:
                print(error.reason.value)
        """)
    finally:
        path.chmod(0o600)
    assert out.split() == [SkipReason.PERMISSION_DENIED.value]


@pytest.mark.parametrize("exception", [KeyError("word/document.xml"), ValueError("bad xml"),
                                       IndexError("list index"), RecursionError("deep")])
def test_unexpected_reader_errors_become_corrupt(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 exception: Exception) -> None:
    path = tmp_path / "odd.docx"
    path.write_bytes(b"PK\x03\x04 whatever")

    def broken(p: Path) -> ParsedDocument:
        raise exception

    use_reader(monkeypatch, Kind.DOCX, broken)
    error = _reason(path)
    assert error.reason is SkipReason.CORRUPT
    assert type(exception).__name__ in error.detail
    assert error.__cause__ is exception


def test_lxml_errors_become_corrupt(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "broken-xml.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types><<<not xml")
    error = _reason(path)
    assert error.reason is SkipReason.CORRUPT


def test_sections_without_text_make_the_document_empty(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.md"
    path.write_text("# x")

    def blank(p: Path) -> ParsedDocument:
        return ParsedDocument(p, "markdown", "  ", [Section(" \n ", "A"), Section("", "B")])

    use_reader(monkeypatch, Kind.MARKDOWN, blank)
    assert _reason(path).reason is SkipReason.EMPTY


def test_empty_sections_are_dropped_and_blank_titles_become_none(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.md"
    path.write_text("# x")

    def mixed(p: Path) -> ParsedDocument:
        return ParsedDocument(p, "markdown", " ", [Section(" ", "A"), Section("kept", "B")])

    use_reader(monkeypatch, Kind.MARKDOWN, mixed)
    document = parse(path)
    assert document.title is None
    assert [s.location for s in document.sections] == ["B"]


def test_folders_and_pipes_are_not_files(tmp_path: Path) -> None:
    folder = tmp_path / "folder.md"
    folder.mkdir()
    assert _reason(folder).reason is SkipReason.UNSUPPORTED
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.txt"
        os.mkfifo(fifo)
        assert _reason(fifo).reason is SkipReason.UNSUPPORTED  # and it did not block


def test_old_office_file_is_unsupported_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "report.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0" + bytes(600))
    assert _reason(path).message == (
        "Kura cannot read old .doc files — save it as .docx to include it.")


@pytest.mark.parametrize("suffix", [".pdf", ".docx", ".pptx", ".xlsx", ".epub", ".html", ".md",
                                    ".rst", ".txt", ".csv", ".py"])
def test_garbage_in_any_format_is_explained_not_raised(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"garbage{suffix}"
    path.write_bytes(bytes((i * 7919 + 13) % 256 for i in range(8192)))
    error = _reason(path)
    assert error.reason in (SkipReason.CORRUPT, SkipReason.BINARY)
    assert error.message.endswith(".")


def test_parse_accepts_a_string_path(tmp_path: Path) -> None:
    path = pdf(tmp_path / "a.pdf", ["hello"])
    assert parse(str(path)).path == path  # type: ignore[arg-type]


CORP_KB = Path("/work/shared/fixtures/corp_kb")


@pytest.mark.skipif(not CORP_KB.is_dir(), reason="the shared fixture knowledge base is absent")
def test_the_fixture_knowledge_base_parses() -> None:
    files = sorted(CORP_KB.rglob("*.md"))
    assert len(files) == 8
    assert len({f.parent for f in files}) == 4
    for path in files:
        document = parse(path)
        headings = [line[2:].strip() for line in path.read_text(encoding="utf-8").splitlines()
                    if line.startswith("# ")]
        assert document.kind == "markdown"
        assert document.encoding == "utf-8"
        assert document.title == headings[0]
        assert document.sections
        assert {s.heading for s in document.sections} <= set(headings)
        assert document.sections[0].heading == headings[0]
        assert all(s.text.strip() for s in document.sections)
        body = path.read_text(encoding="utf-8").split("\n", 1)[1].strip()
        assert document.sections[0].text.startswith(body[:20])


def test_every_reader_gets_its_page_furniture_and_link_bars_dropped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Boilerplate is taken off in parse(), whatever the reader: here a slide deck
    whose slides all carry the same footer and a number."""
    path = tmp_path / "deck.pptx"
    path.write_bytes(b"PK\x03\x04 whatever")
    topics = ["Budget", "Hiring", "Roadmap", "Risks"]

    def deck(p: Path) -> ParsedDocument:
        return ParsedDocument(p, "pptx", "Plan", [
            Section(f"{topic}\nWhat we decided about {topic.lower()}.\nACME Corp | Internal\n"
                    f"{n}", f"slide {n}", page=n, heading=topic)
            for n, topic in enumerate(topics, start=1)])

    use_reader(monkeypatch, Kind.PPTX, deck)
    assert [s.text for s in parse(path).sections] == [
        f"{topic}\nWhat we decided about {topic.lower()}." for topic in topics]


def test_markdown_link_bars_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "page.md"
    path.write_text("-   [Home](index.html)\n-   [Menu](menu.html)\n\n# Backups\n\n"
                    "Back up /etc every night.\n\n[Prev](a.html) | [Next](b.html)\n",
                    encoding="utf-8")
    document = parse(path)
    assert [(s.location, s.text) for s in document.sections] == [
        ("Backups", "Back up /etc every night.")]
