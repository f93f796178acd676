"""Readable text out of HTML, for web pages and EPUB chapters alike.

The walk is done by hand (not ``node.text()``) because text needs line breaks where the
page has blocks — paragraphs, list items, table rows — or every chunk becomes one long
run-on line. Page chrome (scripts, menus, navigation, footers, forms) is skipped while
walking instead of being deleted from the tree first: skipping a subtree is cheap and
cannot trip over a node whose parent was already removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser, LexborNode

from desktop_app.core.ingest.document import Section
from desktop_app.core.ingest.outline import Outline

# Never text a reader wants: code, styling, widgets, page chrome.
_SKIP = frozenset({
    "script", "style", "noscript", "template", "head", "title", "meta", "link",
    "nav", "aside", "form", "menu", "svg", "math", "iframe", "object", "embed", "canvas",
    "button", "select", "option", "textarea", "input", "dialog", "footer",
})
_SKIP_ROLES = frozenset({"navigation", "banner", "contentinfo", "menu", "menubar", "search",
                         "complementary", "dialog", "toolbar"})
# Page chrome that generators mark by class or id rather than by element: DocBook and
# Publican ("navheader", "docnav", the "banner"), Sphinx ("sphinxsidebar", "related"),
# Javadoc ("topNav", "subNav", "bottomNav"), Doxygen ("navpath"), SQLite's site
# ("nosearch", "mainmenu"), and the common names of menus, breadcrumbs and footers.
# Only whole class words count: "footnote" or DocBook's "sidebar" boxes are content.
_SKIP_CLASSES = frozenset({
    "navheader", "navfooter", "docnav", "navbar", "navigation", "breadcrumb", "breadcrumbs",
    "menu", "mainmenu", "submenu", "searchmenu", "sphinxsidebar", "related", "topnav",
    "subnav", "bottomnav", "skipnav", "navpath", "navlist", "nosearch", "noindex",
    "robots-nocontent", "footer", "site-footer", "site-header", "skip-link", "headerlink",
})
_SKIP_IDS = frozenset({
    "banner", "footer", "nav", "navbar", "navigation", "menu", "mainmenu", "submenu",
    "searchmenu", "sidebar", "breadcrumb", "breadcrumbs", "site-header", "site-footer",
})
# Permalink marks that site generators append to headings ("Install¶").
_PERMALINK = "¶\uf0c1 "
# Elements that end the current line of text before and after themselves.
_BLOCKS = frozenset({
    "address", "article", "blockquote", "body", "br", "caption", "dd", "details", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "li", "main", "ol", "p", "pre", "section", "summary", "table", "tbody",
    "thead", "tfoot", "tr", "ul",
})
_CELLS = frozenset({"td", "th"})
_SPLIT_AT = {"h1": 1, "h2": 2, "h3": 3}
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_SPACE = re.compile(r"\s+")


@dataclass
class HtmlText:
    title: str | None  # <title>, else the first <h1>
    first_heading: str | None  # the first h1–h6 of the content
    sections: list[Section] = field(default_factory=list)


def extract(markup: str, *, split: bool) -> HtmlText:
    """Main text of ``markup``; with ``split`` cut into sections at h1–h3."""
    tree = LexborHTMLParser(markup)
    root = _main_content(tree)
    walker = _Walker(split=split)
    if root is not None:
        walker.walk(root)
    # The <head>'s <title>: an inline <svg> in the body has <title> elements of its own.
    title_node = tree.head.css_first("title") if tree.head is not None else None
    title = _collapse(title_node.text()) if title_node is not None else ""
    h1 = tree.css_first("h1")
    if not title and h1 is not None:
        title = _collapse(h1.text())
    return HtmlText(title=title or None, first_heading=walker.first_heading,
                    sections=walker.finish())


def _main_content(tree: LexborHTMLParser) -> LexborNode | None:
    """The part of the page that is the document: <main>, a lone <article>, or <body>."""
    for selector in ("main", "[role=main]"):
        node = tree.css_first(selector)
        if node is not None:
            return node
    articles = tree.css("article")
    if len(articles) == 1:
        return articles[0]
    return tree.body or tree.root


def _collapse(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


class _Walker:
    def __init__(self, *, split: bool) -> None:
        self.split = split
        self.outline = Outline()
        self.first_heading: str | None = None
        self._buffer: list[str] = []
        self._pre = 0  # inside <pre>: keep the whitespace, it is the layout
        self._article = 0  # inside <article>/<main>: a <header> there is the article's own

    def walk(self, root: LexborNode) -> None:
        # An explicit stack rather than recursion: pages nest deeper than Python's limit.
        # ("end", node) entries close a block after its children were walked.
        stack: list[tuple[bool, LexborNode]] = [(False, root)]
        while stack:
            closing, node = stack.pop()
            tag = node.tag or ""
            if closing:
                self._close(tag)
                continue
            if node.is_text_node:
                self._buffer.append(node.text_content or "")
                continue
            if not node.is_element_node or self._skipped(node, tag):
                continue
            if tag in _HEADINGS:
                self._heading(node, tag)
                continue
            self._open(tag)
            stack.append((True, node))
            children = list(node.iter(include_text=True))
            stack.extend((False, child) for child in reversed(children))

    def _skipped(self, node: LexborNode, tag: str) -> bool:
        if tag in _SKIP:
            return True
        if tag == "header" and not self._article:
            return True  # the site's banner, not part of the text
        attrs = node.attributes
        if "hidden" in attrs or attrs.get("aria-hidden") == "true":
            return True
        if (attrs.get("role") or "").lower() in _SKIP_ROLES:
            return True
        if (attrs.get("id") or "").lower() in _SKIP_IDS:
            return True
        return not _SKIP_CLASSES.isdisjoint((attrs.get("class") or "").lower().split())

    def _open(self, tag: str) -> None:
        if tag in _BLOCKS:
            self._end_line()
        if tag in _CELLS and "".join(self._buffer).strip():
            self._buffer.append(" | ")
        if tag == "pre":
            self._pre += 1
        if tag in ("article", "main"):
            self._article += 1

    def _close(self, tag: str) -> None:
        if tag in _BLOCKS:
            self._end_line()
        if tag == "pre":
            self._pre -= 1
        if tag in ("article", "main"):
            self._article -= 1

    def _end_line(self) -> None:
        text = "".join(self._buffer)
        self._buffer = []
        if self._pre:
            for line in text.splitlines():
                self.outline.line(line.rstrip())
            return
        line = _collapse(text)
        if line:
            self.outline.line(line)

    def _heading(self, node: LexborNode, tag: str) -> None:
        self._end_line()
        text = _collapse(node.text()).rstrip(_PERMALINK)
        if not text:
            return
        if self.first_heading is None:
            self.first_heading = text
        if self.split and tag in _SPLIT_AT:
            self.outline.heading(_SPLIT_AT[tag], text)
        else:
            self.outline.line(text)

    def finish(self) -> list[Section]:
        self._end_line()
        return self.outline.finish()
