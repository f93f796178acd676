"""Bytes to text for every text-like file: find the encoding, refuse binary data.

Order matters for speed and for correctness:

1. A byte-order mark is proof: UTF-8/16/32 with a BOM are decoded without guessing.
2. A NUL byte without a UTF-16/32 BOM means binary data (no 8-bit text encoding uses
   NUL), so executables and images renamed to .txt stop here, before any guessing.
3. Strict UTF-8 is the fast path: most files are UTF-8, and random legacy bytes almost
   never form valid UTF-8 by accident.
4. Otherwise charset-normalizer guesses (GB18030/GBK, Big5, Shift-JIS, cp1252, ...).
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from charset_normalizer import from_bytes

from desktop_app.core.ingest.errors import SkipReason, UnreadableFile

# Longest first: the UTF-32-LE BOM starts with the UTF-16-LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# When charset-normalizer finds several encodings that decode the bytes equally well
# (cp1250 and cp1252 often tie on Western text), name the one most files really use.
_PREFERRED_ON_TIE = ("cp1252", "gb18030", "big5", "cp932", "euc_kr", "cp1251")

# C0 controls other than tab, newlines, form feed and ESC (ANSI colours in logs), and DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")
_CONTROL_SAMPLE = 1 << 20  # characters: enough to judge, cheap on a 200 MB log
_CONTROL_RATIO = 0.02  # real text has none; decoded binary has several per hundred


def _canonical(name: str) -> str:
    return codecs.lookup(name).name


def decode(data: bytes, path: Path) -> tuple[str, str]:
    """Return ``(text, encoding)``; raise UnreadableFile(BINARY) for non-text bytes."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(encoding.removesuffix("-sig"))
            except UnicodeDecodeError as exc:
                raise UnreadableFile(path, SkipReason.CORRUPT,
                                     f"invalid {encoding}: {exc}") from exc
            return _checked(text, path), encoding
    if b"\x00" in data:
        raise UnreadableFile(path, SkipReason.BINARY, "NUL bytes and no UTF-16 byte-order mark")
    try:
        return _checked(data.decode("utf-8"), path), "utf-8"
    except UnicodeDecodeError:
        pass
    text, encoding = _guess(data, path)
    return _checked(text, path), encoding


def _guess(data: bytes, path: Path) -> tuple[str, str]:
    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise UnreadableFile(path, SkipReason.BINARY, "no text encoding fits these bytes")
    tied = [m for m in matches
            if abs(m.chaos - best.chaos) < 1e-9 and abs(m.coherence - best.coherence) < 1e-9]
    for preferred in _PREFERRED_ON_TIE:
        for match in tied:
            if preferred in match.could_be_from_charset:
                # could_be_from_charset lists only encodings that decode to the same text.
                return str(match), _canonical(preferred)
    return str(best), _canonical(best.encoding)


def _checked(text: str, path: Path) -> str:
    sample = text[:_CONTROL_SAMPLE]
    controls = len(_CONTROL.findall(sample))
    if sample and controls / len(sample) > _CONTROL_RATIO:
        raise UnreadableFile(path, SkipReason.BINARY,
                             f"{controls} control characters in {len(sample)}")
    return text


def clean_lines(text: str) -> str:
    """Newlines normalised, trailing spaces dropped, blank lines trimmed at both ends."""
    lines = [line.rstrip() for line in text.splitlines()]
    start, end = 0, len(lines)
    while start < end and not lines[start]:
        start += 1
    while end > start and not lines[end - 1]:
        end -= 1
    return "\n".join(lines[start:end])
