from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.core.ingest import kind_of


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
