"""Saved web pages and HTML exports: the main text, cut into sections at h1–h3."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from desktop_app.core.ingest.decoding import decode
from desktop_app.core.ingest.document import ParsedDocument
from desktop_app.core.ingest.errors import SkipReason, UnreadableFile
from desktop_app.core.ingest.html_text import extract

# <meta charset="gbk"> or <meta http-equiv="Content-Type" content="text/html; charset=gbk">
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)

# Browsers read these labels as their supersets (WHATWG Encoding Standard); so do we,
# or the curly quotes in a page that says "iso-8859-1" would come out as C1 controls.
_AS_BROWSERS_DO = {"iso8859-1": "cp1252", "ascii": "cp1252", "gb2312": "gb18030",
                   "gbk": "gb18030", "shift_jis": "cp932", "euc_kr": "cp949"}


def read(path: Path) -> ParsedDocument:
    text, encoding = _decode_html(path.read_bytes(), path)
    result = extract(text, split=True)
    return ParsedDocument(path=path, kind="html", title=result.title,
                          sections=result.sections, encoding=encoding)


def _decode_html(data: bytes, path: Path) -> tuple[str, str]:
    """A page that names its charset is believed before any guessing (not before a BOM)."""
    declared = _declared_charset(data)
    if declared and not data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE,
                                         codecs.BOM_UTF16_BE)):
        if b"\x00" in data and not declared.startswith("utf-16"):
            raise UnreadableFile(path, SkipReason.BINARY, "NUL bytes in an HTML file")
        try:
            return data.decode(declared), declared
        except UnicodeDecodeError:
            pass  # the declaration lies (it happens): fall back to detection
    return decode(data, path)


def _declared_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:4096])
    if not match:
        return None
    try:
        name = codecs.lookup(match.group(1).decode("ascii")).name
    except LookupError:
        return None
    return _AS_BROWSERS_DO.get(name, name)
