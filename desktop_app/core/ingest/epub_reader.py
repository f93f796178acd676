"""E-books (.epub) through ebooklib: one section per chapter, in reading (spine) order.

Chapter files are XHTML, so their text comes from the same walker as web pages. The
chapter's own first heading names it ("Chapter 2: Setup"); the table of contents is the
fallback for chapters that have none.
"""

from __future__ import annotations

import codecs
import posixpath
import re
import zipfile
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree

import ebooklib
from ebooklib import epub

from desktop_app.core.ingest.containers import check_zip_container
from desktop_app.core.ingest.decoding import clean_lines
from desktop_app.core.ingest.document import ParsedDocument, Section
from desktop_app.core.ingest.errors import SkipReason, UnreadableFile
from desktop_app.core.ingest.html_text import extract

# Font obfuscation, not DRM: many ordinary e-books use it for embedded fonts only.
_FONT_OBFUSCATION = frozenset({
    "http://www.idpf.org/2008/embedding",
    "http://ns.adobe.com/pdf/enc#RC",
})
_FONT_FILES = (".otf", ".ttf", ".woff", ".woff2")
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]*encoding=["']([A-Za-z0-9._-]+)["']""")


def read(path: Path) -> ParsedDocument:
    check_zip_container(path)
    _refuse_drm(path)
    book = epub.read_epub(str(path))
    by_id = {item.get_id(): item for item in book.get_items()}
    toc_titles = _toc_titles(book.toc)
    sections: list[Section] = []
    for idref, _linear in book.spine:
        item = by_id.get(idref)
        if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT:
            continue  # the navigation page, images, or a dangling reference
        chapter = extract(_decode(item.get_content()), split=False)
        text = clean_lines("\n\n".join(s.text for s in chapter.sections))
        if not text:
            continue  # cover pages and blank separators
        name = _normalise(item.get_name())
        toc_title = toc_titles.get(name) or toc_titles.get(posixpath.basename(name))
        heading = chapter.first_heading or toc_title
        sections.append(Section(text=text, location=heading, heading=heading))
    titles = book.get_metadata("DC", "title")
    title = str(titles[0][0]).strip() if titles and titles[0][0] else None
    return ParsedDocument(path=path, kind="epub", title=title or None, sections=sections)


def _refuse_drm(path: Path) -> None:
    """Raise ENCRYPTED if META-INF/encryption.xml encrypts anything but fonts."""
    with zipfile.ZipFile(path) as archive:
        try:
            data = archive.read("META-INF/encryption.xml")
        except KeyError:
            return
    root = ElementTree.fromstring(data)
    for encrypted in root.iter():
        if not encrypted.tag.endswith("EncryptedData"):
            continue
        algorithm, uri = "", ""
        for node in encrypted.iter():
            if node.tag.endswith("EncryptionMethod"):
                algorithm = node.get("Algorithm", "")
            elif node.tag.endswith("CipherReference"):
                uri = node.get("URI", "")
        if algorithm in _FONT_OBFUSCATION or uri.lower().endswith(_FONT_FILES):
            continue
        raise UnreadableFile(path, SkipReason.ENCRYPTED, f"{uri or 'content'} is encrypted")


def _toc_titles(toc: object) -> dict[str, str]:
    """Chapter file -> its table-of-contents title (the first entry pointing at it)."""
    titles: dict[str, str] = {}
    stack = [toc]
    while stack:
        entry = stack.pop()
        if isinstance(entry, (list, tuple)):
            stack.extend(reversed(entry))
            continue
        href = getattr(entry, "href", "")
        title = " ".join(str(getattr(entry, "title", "") or "").split())
        if href and title:
            # Keyed by path and by bare file name: books disagree on what hrefs are relative to.
            titles.setdefault(_normalise(href), title)
            titles.setdefault(posixpath.basename(_normalise(href)), title)
    return titles


def _normalise(href: str) -> str:
    return posixpath.normpath(unquote(href.split("#", 1)[0]))


def _decode(data: bytes) -> str:
    """EPUB requires UTF-8 or UTF-16; honour an XML declaration if a book says otherwise."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    declared = _XML_ENCODING.match(data)
    if declared:
        try:
            return data.decode(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass
    return data.decode("utf-8", errors="replace")
