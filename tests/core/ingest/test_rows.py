from __future__ import annotations

import datetime as dt

from desktop_app.core.ingest.rows import format_row, format_rows, looks_like_header


def test_header_detection() -> None:
    assert looks_like_header(["Name", "Age", "City"])
    assert not looks_like_header(["Ada", "36", "London"])  # a number: data
    assert not looks_like_header(["Name", "Name"])  # duplicates: data
    assert not looks_like_header(["", "", "x"])  # mostly empty
    assert not looks_like_header(["A sentence " * 10])  # prose, not a column name
    assert not looks_like_header(["Year", "2024"], [str, int])
    assert not looks_like_header(["Start"], [dt.datetime])


def test_rows_are_keyed_by_header_and_skip_empty_values() -> None:
    assert format_row(["Ada", "", "London"], ["Name", "Phone", "City"]) == (
        "Name: Ada | City: London")
    assert format_row(["Ada", "x", "extra"], ["Name", "Tag"]) == "Name: Ada | Tag: x | extra"
    assert format_row(["1", "2", "", ""], None) == "1 | 2"


def test_cap_adds_a_note() -> None:
    lines = list(format_rows([["a"], [""], ["b"], ["c"]], None, max_rows=2))
    assert lines == ["a", "b", "(Only the first 2 rows were read.)"]
    assert list(format_rows([["a"], ["b"]], None, max_rows=2)) == ["a", "b"]
