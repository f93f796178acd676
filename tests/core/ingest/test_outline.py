from __future__ import annotations

from desktop_app.core.ingest.outline import Outline


def test_heading_paths_nest_and_unwind() -> None:
    outline = Outline()
    outline.line("preface")
    outline.heading(1, "Install")
    outline.heading(2, "Linux")
    outline.line("apt install kura   ")
    outline.heading(2, "Windows")
    outline.line("")
    outline.line("run setup")
    outline.heading(1, "Use")
    outline.line("ask")
    sections = outline.finish()
    assert [(s.location, s.heading, s.text) for s in sections] == [
        (None, None, "preface"),
        ("Install > Linux", "Linux", "apt install kura"),
        ("Install > Windows", "Windows", "run setup"),
        ("Use", "Use", "ask"),
    ]


def test_headings_only_document_is_not_empty() -> None:
    outline = Outline()
    outline.heading(1, "TODO")
    assert [s.text for s in outline.finish()] == ["TODO"]
