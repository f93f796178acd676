from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from desktop_app.core.ingest import SkipReason, UnreadableFile, parse, sheet_reader
from tests.support.documents import xlsx_book
from tests.support.hostile_files import bogus_dimension_xlsx


def test_one_section_per_sheet_with_header_keyed_rows(tmp_path: Path) -> None:
    document = parse(xlsx_book(tmp_path / "team.xlsx"))
    assert document.kind == "xlsx"
    assert document.title == "Team sheet"
    assert [(s.location, s.heading) for s in document.sections] == [
        ("People", "People"), ("Figures", "Figures")]  # the empty sheet is left out
    assert document.sections[0].text == (
        "Name: Ada | Role: Engineer | Started: 2021-03-01\n"
        "Name: Grace | Started: 2019-07-15")
    # Numbers in the first row: no header, values joined as they are.
    assert document.sections[1].text == "2023 | 1.5 | 7\n2024 | 2.25 | 8"


def test_rows_are_capped_with_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import openpyxl

    monkeypatch.setattr(sheet_reader, "MAX_ROWS", 4)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Item", "Qty"])
    for i in range(20):
        sheet.append([f"part-{i}", i])
    path = tmp_path / "big.xlsx"
    book.save(str(path))
    lines = parse(path).sections[0].text.splitlines()
    assert lines[:4] == [f"Item: part-{i} | Qty: {i}" for i in range(4)]
    assert lines[4:] == ["(Only the first 4 rows were read.)"]


def test_truncated_workbook_is_corrupt(tmp_path: Path) -> None:
    whole = xlsx_book(tmp_path / "whole.xlsx")
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(UnreadableFile) as caught:
        parse(cut)
    assert caught.value.reason is SkipReason.CORRUPT
    assert caught.value.message == "The file is damaged or is not a real Excel workbook."


def test_cell_values_read_as_people_see_them() -> None:
    import datetime as dt

    cell = sheet_reader._cell
    assert [cell(None), cell(True), cell(3.0), cell(0.1), cell("  a \n b ")] == [
        "", "TRUE", "3", "0.1", "a b"]
    assert cell(dt.datetime(2024, 5, 6, 7, 8, 9)) == "2024-05-06 07:08:09"
    assert cell(dt.date(2024, 5, 6)) == "2024-05-06"


def test_a_sheet_is_read_by_its_real_cells_not_its_declared_size(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sheet claims A1:XFD1048576 (16,384 columns by 1,048,576 rows) for 4 cells.
    Trusting it means a million rows of 16,384 values; the spy stops that at once."""
    path = bogus_dimension_xlsx(tmp_path / "bogus.xlsx")
    widths: list[int] = []
    sheet_text = sheet_reader._sheet_text

    def spy(values: Iterable[tuple[object, ...]]) -> str:
        def counted() -> Iterator[tuple[object, ...]]:
            for row in values:
                widths.append(len(row))
                assert len(widths) <= 10, "rows beyond the real ones were produced"
                yield row
        return sheet_text(counted())

    monkeypatch.setattr(sheet_reader, "_sheet_text", spy)
    document = sheet_reader.read(path)
    assert [s.text for s in document.sections] == ["Task: Renew the passport | Due: March"]
    assert widths == [2, 2]  # as wide as the real cells, not 16,384
