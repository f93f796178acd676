from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from desktop_app.core.ingest import ParsedDocument, Section


def test_section_defaults_and_immutability() -> None:
    section = Section("text", "page 3", page=3)
    assert (section.page, section.heading) == (3, None)
    assert Section("t", None) == Section("t", None, None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        section.text = "changed"  # type: ignore[misc]


def test_parsed_document_encoding_defaults_to_none() -> None:
    document = ParsedDocument(Path("a.pdf"), "pdf", None, [Section("x", "page 1", page=1)])
    assert document.encoding is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        document.kind = "docx"  # type: ignore[misc]
