"""Word documents (.docx) through python-docx: sections at Heading styles, tables as rows.

Word has no structure other than paragraph styles, so "Heading 1..9" (and styles based on
them) are the outline. Body paragraphs and tables are read in document order.
"""

from __future__ import annotations

import re
from pathlib import Path

import docx
from docx.styles.style import BaseStyle
from docx.table import Table
from docx.text.paragraph import Paragraph

from desktop_app.core.ingest.containers import check_zip_container
from desktop_app.core.ingest.document import ParsedDocument
from desktop_app.core.ingest.outline import Outline

_HEADING_STYLE = re.compile(r"^heading (\d)$", re.IGNORECASE)


def read(path: Path) -> ParsedDocument:
    check_zip_container(path)
    document = docx.Document(str(path))
    outline = Outline()
    first_title: str | None = None  # the first "Title" paragraph, else the first Heading 1
    first_h1: str | None = None
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in _table_rows(block):
                outline.line(row)
            outline.line("")
            continue
        text = block.text.strip()
        if not text:
            continue  # empty paragraphs are Word's way of adding space
        level = _heading_level(block)
        if level is not None:
            outline.heading(level, text)
            if level == 1 and first_h1 is None:
                first_h1 = text
        else:
            if first_title is None and _style_name(block) == "title":
                first_title = text
            outline.line(text)
            outline.line("")  # a blank line between paragraphs, as in Markdown
    title = (document.core_properties.title or "").strip() or first_title or first_h1
    return ParsedDocument(path=path, kind="docx", title=title, sections=outline.finish())


def _style_name(paragraph: Paragraph) -> str:
    style = paragraph.style
    return (style.name or "").lower() if style is not None else ""


def _heading_level(paragraph: Paragraph) -> int | None:
    """1–9 for "Heading N" or a custom style based on it (up the chain), else None."""
    style: BaseStyle | None = paragraph.style
    for _ in range(5):  # base-style chains are short; a cycle must not hang us
        if style is None:
            return None
        match = _HEADING_STYLE.match(style.name or "")
        if match:
            return int(match.group(1))
        style = getattr(style, "base_style", None)
    return None


def _table_rows(table: Table) -> list[str]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            # A merged cell is returned once per grid column it spans; read it once.
            if cell._tc is previous:
                continue
            previous = cell._tc
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            rows.append(" | ".join(cells))
    return rows
