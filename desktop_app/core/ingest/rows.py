"""Tables as text lines, shared by the spreadsheet and CSV readers.

A row becomes one line. When the table has a header row, every value is labelled with
its column ("Name: Ada | Role: Engineer"): a chunk cut from the middle of a long table
still says what each number means, which is what makes it findable by a question.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

MAX_ROWS = 50_000  # per sheet or CSV file: beyond that it is a database, not a document
_MAX_HEADER_CELL = 80  # characters; longer first-row cells are prose, not column names


def looks_like_header(first: Sequence[str], types: Sequence[type] | None = None) -> bool:
    """True if ``first`` reads like column names: short, distinct, not numbers.

    ``types`` (the original cell types, for spreadsheets) lets a real number or date in
    the first row rule it out even when its text would pass.
    """
    named = [cell for cell in first if cell]
    if not named or len(named) * 2 < len(first):
        return False
    if types is not None and any(t is not str for t, cell in zip(types, first, strict=True)
                                 if cell):
        return False
    if len(set(named)) != len(named):
        return False
    return all(len(cell) <= _MAX_HEADER_CELL and not _is_number(cell) for cell in named)


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def format_rows(rows: Iterable[Sequence[str]], header: Sequence[str] | None,
                max_rows: int = MAX_ROWS) -> Iterator[str]:
    """One line per non-empty row; a final note if the table was cut at ``max_rows``."""
    count = 0
    for row in rows:
        if not any(row):
            continue
        if count == max_rows:
            yield f"(Only the first {max_rows:,} rows were read.)"
            return
        count += 1
        yield format_row(row, header)


def format_row(row: Sequence[str], header: Sequence[str] | None) -> str:
    if header is None:
        return " | ".join(_trim(row))
    parts = []
    for i, value in enumerate(row):
        if not value:
            continue  # "Phone: " on every row is noise, not information
        name = header[i] if i < len(header) else ""
        parts.append(f"{name}: {value}" if name else value)
    return " | ".join(parts)


def _trim(row: Sequence[str]) -> Sequence[str]:
    end = len(row)
    while end and not row[end - 1]:
        end -= 1
    return row[:end]
