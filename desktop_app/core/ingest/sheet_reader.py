"""Excel workbooks (.xlsx) through openpyxl: one section per sheet, rows as text lines.

``read_only=True`` streams rows instead of building every cell object (a 100k-row sheet
would otherwise take gigabytes); ``data_only=True`` gives the values Excel last computed
rather than formulas, which is what the person saw.

A read-only sheet trusts the size its file declares (``<dimension ref="A1:XFD1048576"/>``)
and pads every row to that width and the sheet to that height: three real cells would
become a million rows of 16,384 empty values. The declared size is dropped, so rows are
as wide as their own last cell and the sheet ends at its last real row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

import openpyxl

from desktop_app.core.ingest.containers import check_zip_container
from desktop_app.core.ingest.document import ParsedDocument, Section
from desktop_app.core.ingest.rows import MAX_ROWS, format_rows, looks_like_header


def read(path: Path) -> ParsedDocument:
    check_zip_container(path)
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sections = []
        for sheet in workbook.worksheets:
            sheet.reset_dimensions()  # the real cells decide the size, not the claim
            text = _sheet_text(sheet.iter_rows(values_only=True))
            if text:
                sections.append(Section(text=text, location=sheet.title, heading=sheet.title))
        title = (workbook.properties.title or "").strip() or None
    finally:
        workbook.close()  # read-only workbooks keep the file open until closed
    return ParsedDocument(path=path, kind="xlsx", title=title, sections=sections)


def _sheet_text(values: Iterable[tuple[object, ...]]) -> str:
    rows = list(islice(_non_empty(values), MAX_ROWS + 2))
    if not rows:
        return ""
    first_text = [_cell(v) for v in rows[0]]
    first_types = [type(v) for v in rows[0]]
    header = (first_text if len(rows) > 1 and looks_like_header(first_text, first_types)
              else None)
    body = rows[1:] if header else rows
    return "\n".join(format_rows(([_cell(v) for v in row] for row in body), header, MAX_ROWS))


def _non_empty(values: Iterable[tuple[object, ...]]) -> Iterator[tuple[object, ...]]:
    for row in values:
        end = len(row)
        while end and _cell(row[end - 1]) == "":
            end -= 1  # read-only sheets pad rows to the sheet's width with None
        if end:
            yield row[:end]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"  # as Excel shows them
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds" if value.microsecond == 0 else "auto")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return " ".join(str(value).split())
