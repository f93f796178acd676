"""Change the formats table for one test: a stand-in reader, or a format Kura lacks.

``discover``, ``parse`` and ``explain`` look the table up at each call, so replacing
``formats.FORMATS`` (with ``monkeypatch``, undone when the test ends) is all it takes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from desktop_app.core.ingest import formats
from desktop_app.core.ingest.document import ParsedDocument
from desktop_app.core.ingest.formats import Format, FormatTable, Kind


def use_reader(monkeypatch: pytest.MonkeyPatch, kind: Kind,
               read: Callable[[Path], ParsedDocument]) -> None:
    """Files of ``kind`` are read by ``read`` until the test ends."""
    rows = [replace(row, read=read) if row.kind is kind else row for row in formats.FORMATS]
    monkeypatch.setattr(formats, "FORMATS", FormatTable(rows))


def add_format(monkeypatch: pytest.MonkeyPatch, row: Format) -> None:
    """Kura reads ``row``'s format too until the test ends."""
    monkeypatch.setattr(formats, "FORMATS", FormatTable([*formats.FORMATS, row]))
