"""PowerPoint (.pptx) through python-pptx: one section per slide, speaker notes included.

The slide number is the citation ("slide 4"); the slide title is the chunk title. Notes
often hold what the presenter actually said, so they are kept, after a "Notes:" line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pptx
from pptx.shapes.base import BaseShape
from pptx.shapes.group import GroupShape

from desktop_app.core.ingest.containers import check_zip_container
from desktop_app.core.ingest.decoding import clean_lines
from desktop_app.core.ingest.document import ParsedDocument, Section


def read(path: Path) -> ParsedDocument:
    check_zip_container(path)
    presentation = pptx.Presentation(str(path))
    sections: list[Section] = []
    first_title: str | None = None
    for number, slide in enumerate(presentation.slides, start=1):
        title_shape = slide.shapes.title
        title = _one_line(title_shape.text_frame.text) if title_shape is not None else ""
        first_title = first_title or title or None
        lines = [title] if title else []
        title_id = title_shape.shape_id if title_shape is not None else None
        for shape in _shapes(slide.shapes):
            if shape.shape_id != title_id:
                lines.extend(_shape_lines(shape))
        notes = _notes(slide)
        if notes:
            lines += ["", "Notes:", notes]
        text = clean_lines("\n".join(lines))
        if text:
            sections.append(Section(text=text, location=f"slide {number}", page=number,
                                    heading=title or None))
    core_title = (presentation.core_properties.title or "").strip()
    return ParsedDocument(path=path, kind="pptx", title=core_title or first_title,
                          sections=sections)


def _shapes(shapes: Iterable[BaseShape]) -> Iterator[BaseShape]:
    """Every shape, with grouped shapes taken out of their groups (to any depth)."""
    stack = list(shapes)[::-1]
    while stack:
        shape = stack.pop()
        if isinstance(shape, GroupShape):
            stack.extend(list(shape.shapes)[::-1])
        else:
            yield shape


def _shape_lines(shape: BaseShape) -> list[str]:
    if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        return [_lines(shape.text_frame.text)]  # type: ignore[attr-defined]
    if getattr(shape, "has_table", False) and shape.has_table:
        rows = []
        for row in shape.table.rows:  # type: ignore[attr-defined]
            cells = [_one_line(cell.text) for cell in row.cells]
            if any(cells):
                rows.append(" | ".join(cells))
        return rows
    return []


def _notes(slide: object) -> str:
    if not getattr(slide, "has_notes_slide", False):
        return ""
    frame = slide.notes_slide.notes_text_frame  # type: ignore[attr-defined]
    return clean_lines(_lines(frame.text)) if frame is not None else ""


def _lines(text: str) -> str:
    # python-pptx returns a line break inside a paragraph as a vertical tab.
    return text.replace("\v", "\n")


def _one_line(text: str) -> str:
    return " ".join(text.split())
