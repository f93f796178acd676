"""The formats table: a file's format by its name, one row per format, and a new row is
all a new format needs."""

from __future__ import annotations

import importlib
from collections import Counter
from pathlib import Path

import pytest

from desktop_app.core.ingest import (
    ParsedDocument,
    Section,
    Skipped,
    SkipReason,
    UnreadableFile,
    discover,
    kind_of,
    parse,
)
from desktop_app.core.ingest.formats import FORMATS, Format, FormatTable, Kind
from tests.core.ingest.format_table import add_format


@pytest.mark.parametrize(("name", "kind"), [
    ("report.pdf", "pdf"), ("REPORT.PDF", "pdf"), ("a.docx", "docx"), ("a.pptx", "pptx"),
    ("a.xlsx", "xlsx"), ("a.epub", "epub"), ("a.html", "html"), ("a.htm", "html"),
    ("a.xhtml", "html"), ("a.md", "markdown"), ("a.markdown", "markdown"), ("a.rst", "rst"),
    ("a.txt", "text"), ("a.log", "text"), ("a.csv", "csv"), ("a.tsv", "csv"),
    ("a.py", "code"), ("a.tsx", "code"), ("a.rs", "code"), ("a.yaml", "code"),
    ("a.json", "code"), ("a.vue", "code"), ("a.sql", "code"), ("a.kt", "code"),
    ("README", "text"), ("Makefile", "code"), ("Dockerfile", "code"),
    ("年假政策.md", "markdown"), ("archive.tar.gz", None), ("photo.psd", None),
    ("legacy.doc", None), ("noext", None),
])
def test_kind_of(name: str, kind: str | None) -> None:
    assert kind_of(Path(name)) == kind
    assert kind_of(f"/some/folder/{name}") == kind


def test_each_kind_has_one_row_and_each_extension_one_kind() -> None:
    assert Counter(row.kind for row in FORMATS) == Counter(Kind)
    for field in ("extensions", "names"):
        keys = Counter(key for row in FORMATS for key in getattr(row, field))
        assert [key for key, count in keys.items() if count > 1] == [], field


def test_stored_kinds_keep_their_values() -> None:
    """``documents.kind`` holds these strings: renaming one would orphan stored rows."""
    assert {kind.value for kind in Kind} == {
        "pdf", "docx", "pptx", "xlsx", "epub", "html", "markdown", "rst", "text", "csv", "code",
        "image"}


def test_every_rows_libraries_import() -> None:
    libraries = {library for row in FORMATS for library in row.libraries}
    assert libraries  # the selftest reports these
    for library in libraries:
        importlib.import_module(library.module)


def _read_nothing(path: Path) -> ParsedDocument:
    raise AssertionError("never called")


def test_a_table_refuses_an_extension_claimed_twice_or_written_wrong() -> None:
    with pytest.raises(ValueError, match="'md' is claimed by both markdown and text"):
        FormatTable([*FORMATS, Format(Kind.TEXT, ("md",), _read_nothing)])
    with pytest.raises(ValueError, match="lower case, without a dot"):
        FormatTable([Format(Kind.PDF, (".PDF",), _read_nothing)])


def test_a_new_row_is_all_a_new_format_needs(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """discover, parse and the skip messages pick a row up without any other change."""
    note = tmp_path / "shopping.kuranote"
    note.write_text("milk; eggs")
    unknown = list(discover(tmp_path))
    assert [(i.reason, i.message) for i in unknown if isinstance(i, Skipped)] == [
        (SkipReason.UNSUPPORTED, "Kura cannot read .kuranote files.")]

    def read_note(path: Path) -> ParsedDocument:
        items = path.read_text().split(";")
        return ParsedDocument(path, "ignored: the row says", "Shopping",
                              [Section(item.strip(), f"item {i}") for i, item in
                               enumerate(items, 1)])

    # A real format adds a Kind member beside its row; a test cannot add an enum member.
    add_format(monkeypatch, Format("kuranote", ("kuranote",), read_note, "Kura note"))

    assert list(discover(tmp_path)) == [note]
    document = parse(note)
    assert (document.kind, document.title) == ("kuranote", "Shopping")
    assert [(s.location, s.text) for s in document.sections] == [
        ("item 1", "milk"), ("item 2", "eggs")]
    assert kind_of(note) == "kuranote"
    assert UnreadableFile(note, SkipReason.CORRUPT).message == (
        "The file is damaged or is not a real Kura note.")
    assert UnreadableFile(note, SkipReason.ENCRYPTED).message == (
        "This Kura note is password-protected.")
