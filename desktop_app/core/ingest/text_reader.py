"""Plain text, Markdown, reStructuredText, CSV and source code.

All of them are decoded the same way (``decoding.decode``); they differ only in where a
section starts: at Markdown headings, at reST underlined titles, nowhere for plain text
and code (a source file is one unit; the chunker splits it by size). Each has its own
``read_*`` function, named by its row in ``formats.py``.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

from desktop_app.core.ingest.decoding import clean_lines, decode
from desktop_app.core.ingest.document import ParsedDocument, Section
from desktop_app.core.ingest.outline import Outline
from desktop_app.core.ingest.rows import MAX_ROWS, format_rows, looks_like_header

_Splitter = Callable[[str], tuple[str | None, list[Section]]]


def read_plain(path: Path) -> ParsedDocument:
    return _read(path, "text", _whole)


def read_code(path: Path) -> ParsedDocument:
    return _read(path, "code", _whole)


def read_markdown(path: Path) -> ParsedDocument:
    return _read(path, "markdown", _markdown)


def read_rst(path: Path) -> ParsedDocument:
    return _read(path, "rst", _rst)


def read_csv(path: Path) -> ParsedDocument:
    return _read(path, "csv", _tsv if path.suffix.lower() == ".tsv" else _csv)


def _read(path: Path, kind: str, split: _Splitter) -> ParsedDocument:
    text, encoding = decode(path.read_bytes(), path)
    title, sections = split(text)
    return ParsedDocument(path=path, kind=kind, title=title, sections=sections,
                          encoding=encoding)


def _whole(text: str) -> tuple[str | None, list[Section]]:
    body = clean_lines(text)
    return None, [Section(text=body, location=None)] if body else []


# --- Markdown -----------------------------------------------------------------------

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_NOT_PARAGRAPH = re.compile(r"^\s*([-*+>|]|\d+[.)]|#)|^\s{4,}")  # lists, quotes, tables, code
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)(.+?)\1")
_FRONT_MATTER_TITLE = re.compile(r"^title\s*:\s*(.+?)\s*$", re.IGNORECASE)
_YAML_KEY = re.compile(r"^[A-Za-z_][\w-]*\s*:")


def _markdown(text: str) -> tuple[str | None, list[Section]]:
    lines = text.splitlines()
    title, lines = _front_matter(lines)
    outline = Outline()
    fence: str | None = None
    first_h1: str | None = None
    previous_is_paragraph = False
    for line in lines:
        if fence is not None:
            outline.line(line)
            stripped = line.strip()
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                fence = None
            continue
        opening = _FENCE.match(line)
        atx = _ATX.match(line)
        setext = _SETEXT.match(line)
        if opening:
            fence = opening.group(1)
            outline.line(line)
            previous_is_paragraph = False
        elif atx:
            level, name = len(atx.group(1)), _inline(atx.group(2) or "")
            if name:
                outline.heading(level, name)
                if level == 1 and first_h1 is None:
                    first_h1 = name
            previous_is_paragraph = False
        elif setext and previous_is_paragraph:
            # "Title\n=====": the title line was taken as text; it was a heading.
            name = _inline(outline.pop_line())
            level = 1 if setext.group(1).startswith("=") else 2
            outline.heading(level, name)
            if level == 1 and first_h1 is None:
                first_h1 = name
            previous_is_paragraph = False
        else:
            outline.line(line)
            previous_is_paragraph = bool(line.strip()) and not _NOT_PARAGRAPH.match(line)
    return title or first_h1, outline.finish()


def _front_matter(lines: list[str]) -> tuple[str | None, list[str]]:
    """Strip a leading YAML block (``---`` ... ``---``); return its ``title:`` if any."""
    if not lines or lines[0].strip() != "---" or len(lines) < 2:
        return None, lines
    if not _YAML_KEY.match(lines[1]):
        return None, lines  # "---" then prose: a thematic break opening the file
    for end in range(1, min(len(lines), 200)):
        if lines[end].strip() in ("---", "..."):
            title = None
            for line in lines[1:end]:
                match = _FRONT_MATTER_TITLE.match(line)
                if match:
                    title = match.group(1).strip("'\"") or None
                    break
            return title, lines[end + 1:]
    return None, lines  # no closing line: it was a thematic break, not front matter


def _inline(text: str) -> str:
    """Heading text without Markdown decoration: "**Set up** [Kura](url)" -> "Set up Kura"."""
    text = _LINK.sub(r"\1", text)
    text = _EMPHASIS.sub(r"\2", text)
    return text.strip()


# --- reStructuredText ---------------------------------------------------------------

_ADORNMENT = re.compile(r"^([!-/:-@\[-`{-~])\1+\s*$")


def _width(text: str) -> int:
    """Display columns: reST underlines CJK titles two columns per character."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _rst(text: str) -> tuple[str | None, list[Section]]:
    lines = text.splitlines()
    outline = Outline()
    styles: list[tuple[str, bool]] = []  # adornment styles in order of first use = levels
    title: str | None = None
    i = 0
    while i < len(lines):
        found = _rst_title(lines, i)
        if found is None:
            outline.line(lines[i])
            i += 1
            continue
        name, style, consumed = found
        if style not in styles:
            styles.append(style)
        outline.heading(styles.index(style) + 1, name)
        title = title or name
        i += consumed
    return title, outline.finish()


def _rst_title(lines: list[str], i: int) -> tuple[str, tuple[str, bool], int] | None:
    """A section title starting at line ``i``: (text, (char, overlined), lines used)."""
    if i > 0 and lines[i - 1].strip():
        return None  # titles follow a blank line (or start the file)
    over = _ADORNMENT.match(lines[i])
    if over and i + 2 < len(lines):
        name = lines[i + 1].strip()
        under = _ADORNMENT.match(lines[i + 2])
        if name and under and under.group(1) == over.group(1) and not _ADORNMENT.match(name):
            return name, (over.group(1), True), 3
    line = lines[i]
    if over or not line.strip() or line[0].isspace() or i + 1 >= len(lines):
        return None
    under = _ADORNMENT.match(lines[i + 1])
    if under and len(lines[i + 1].rstrip()) >= min(_width(line.strip()), 4):
        return line.strip(), (under.group(1), False), 2
    return None


# --- CSV ----------------------------------------------------------------------------


def _csv(text: str, *, tab: bool = False) -> tuple[str | None, list[Section]]:
    try:
        dialect: type[csv.Dialect] | csv.Dialect = (
            csv.excel_tab if tab else csv.Sniffer().sniff(text[:65536], delimiters=",;\t|"))
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(islice(_rows(csv.reader(io.StringIO(text), dialect)), MAX_ROWS + 2))
    except csv.Error:
        return _whole(text)  # not valid CSV after all (e.g. a huge field): still text
    header = rows[0] if len(rows) > 1 and looks_like_header(rows[0]) else None
    body = rows[1:] if header else rows
    lines = "\n".join(format_rows(body, header, MAX_ROWS))
    return None, [Section(text=lines, location=None)] if lines else []


def _rows(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    for row in reader:
        cells = [cell.strip() for cell in row]
        if any(cells):
            yield cells


def _tsv(text: str) -> tuple[str | None, list[Section]]:
    return _csv(text, tab=True)
