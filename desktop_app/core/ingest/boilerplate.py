"""Page furniture and navigation taken off the edges of sections before chunking.

What a printed page repeats on every page (the book's title, the running chapter title,
"Page 12 of 80") and what a generated web page puts around its text ("Prev", "Up",
"Home", "Next") is not content: embedded with each chunk it costs tokens, and it makes
the same passage in a PDF and in an HTML page look different. Three rules, each only at
a section's edges (its first and last few lines), so a line inside a paragraph is never
touched:

* page numbers, on page-like sections (PDF pages, slides): "12", "xii", "Page 12",
  "Page 12 of 80", "12 / 80", "- 12 -", "— 12 —", "第 12 页";
* running headers and footers, on documents of three pages or more: an edge line that
  recurs, digits aside, on at least three pages, either on a good share of all pages
  (the book's title) or densely over a stretch of them (a chapter's running title);
* navigation lines, on every section: a line that is only "Prev", "Next", "Up", "Home",
  "Back to top", "上一页", ... (a link bar that survived the HTML reader's own skipping,
  or a saved page printed to PDF).

A document that would be left with no text keeps its text: then it was not furniture.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import replace

from desktop_app.core.ingest.decoding import clean_lines
from desktop_app.core.ingest.document import Section

EDGE_LINES = 3  # lines at each end of a page where headers and footers sit
_MAX_FURNITURE_CHARS = 150  # a running header is a line, not a paragraph
_MIN_PAGES = 3
_SHARE_OF_PAGES = 0.3  # the book's title on every other page...
_DENSITY = 0.4  # ...or a chapter's title on most pages from its first to its last

_DASHES = "\\-–—‒―"  # inside a character class
_ROMAN = r"(?=[ivxlcdm])m{0,3}(?:cm|cd|d?c{0,3})(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})"
_PAGE_NUMBER = re.compile(
    r"(?:(?:page|p\.|pg\.?|seite|página|pagina)\s*)?"
    rf"[\[(\s{_DASHES}]*(?:\d{{1,5}}|{_ROMAN})[\])\s{_DASHES}]*"
    r"(?:(?:of|/|von|de|sur|di)\s*\d{1,5})?"
    r"|第\s*\d{1,5}\s*页(?:\s*[,，/]?\s*共\s*\d{1,5}\s*页)?"
    r"|\d{1,5}\s*/\s*\d{1,5}",
    re.IGNORECASE,
)
_BULLET = re.compile(r"^[\s*+\-–—]+")  # "• Next", "-   [Home](index.html)"
_LINK_SEPARATOR = re.compile(r"[|•·»«‹›<>]")  # "« Prev | Up | Next »"
_MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_NAVIGATION = frozenset({
    "prev", "previous", "next", "up", "home", "top", "back", "back to top", "go to top",
    "table of contents", "contents", "toc", "index", "menu", "skip to content",
    "skip to main content", "prev next", "previous next", "prev up next", "prev home next",
    "previous page", "next page", "previous topic", "next topic", "up one level",
    "上一页", "下一页", "上一级", "起始页", "首页", "返回", "返回顶部", "目录", "上一頁",
    "下一頁", "回到顶部", "前のページ", "次のページ", "ホーム", "目次",
})
_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")


def without_boilerplate(sections: list[Section]) -> list[Section]:
    """``sections`` with page numbers, running headers/footers and navigation lines
    taken off their edges (sections left empty stay, empty: the caller drops them)."""
    pages = [s for s in sections if s.page is not None]
    running = _running_lines(pages) if len(pages) >= _MIN_PAGES else set()
    tidied = [_trimmed(s, running) for s in sections]
    if not any(s.text.strip() for s in tidied):
        return sections
    return tidied


def is_page_number(line: str) -> bool:
    return _PAGE_NUMBER.fullmatch(line.strip()) is not None


def is_navigation(line: str) -> bool:
    text = _LINK_SEPARATOR.sub(" ", _MARKDOWN_LINK.sub(r"\1", line))
    text = _BULLET.sub("", text)
    return _SPACES.sub(" ", text).strip().casefold() in _NAVIGATION


def _key(line: str) -> str:
    """What stays the same in a running header from page to page: its words, not its
    numbers ("Chapter 3. Installation  47" and "... 49" are one header)."""
    return _DIGITS.sub("#", _SPACES.sub(" ", line).strip().casefold())


def _edges(lines: list[str]) -> list[str]:
    visible = [line for line in lines if line.strip()]
    if len(visible) <= 2 * EDGE_LINES:
        return visible
    return visible[:EDGE_LINES] + visible[-EDGE_LINES:]


def _running_lines(pages: list[Section]) -> set[str]:
    """Keys of the edge lines that recur like running headers and footers."""
    seen: dict[str, list[int]] = defaultdict(list)
    for index, page in enumerate(pages):
        keys = {_key(line) for line in _edges(page.text.splitlines())
                if len(line.strip()) <= _MAX_FURNITURE_CHARS}
        for key in keys:
            if key and key.strip("#"):  # bare numbers are page numbers' business
                seen[key].append(index)
    running = set()
    for key, found in seen.items():
        count = len(found)
        span = found[-1] - found[0] + 1
        if count >= _MIN_PAGES and (count >= _SHARE_OF_PAGES * len(pages)
                                    or count >= _DENSITY * span):
            running.add(key)
    return running


def _trimmed(section: Section, running: set[str]) -> Section:
    lines = section.text.splitlines()
    page_like = section.page is not None

    def furniture(line: str) -> bool:
        if not line.strip() or is_navigation(line):
            return True
        return page_like and (is_page_number(line) or _key(line) in running)

    start, end = 0, len(lines)
    # Off each end, up to EDGE_LINES visible lines (blank ones are free), while they are
    # furniture: a header sits above the text, a footer below it (or the other way
    # round: PDFs list their text in drawing order, not always top to bottom).
    taken = 0
    while start < end and taken < EDGE_LINES and furniture(lines[start]):
        taken += bool(lines[start].strip())
        start += 1
    taken = 0
    while end > start and taken < EDGE_LINES and furniture(lines[end - 1]):
        taken += bool(lines[end - 1].strip())
        end -= 1
    if (start, end) == (0, len(lines)):
        return section
    return replace(section, text=clean_lines("\n".join(lines[start:end])))
