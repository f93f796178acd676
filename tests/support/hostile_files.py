"""Files made to hurt a reader, for the tests of the reading budgets and the container
checks: a real zip bomb, a workbook that lies about its size, and files that make a
reading worker sleep, swell or crash.

A reading worker is a spawned process: a monkeypatch in the test's process is not seen
there. ``HOSTILE_READER`` is a reader a ``ReadPool`` can be told to use instead
(``ReadPool(..., reader=HOSTILE_READER)``): it obeys an order written on a file's first
line (``order``) and reads every other file normally.
"""

from __future__ import annotations

import ctypes
import os
import struct
import time
import zipfile
import zlib
from pathlib import Path

from desktop_app.core.chunking import Chunker
from desktop_app.core.ingest import scans
from desktop_app.core.ocr.page import OcrLine, OcrPage
from desktop_app.core.reading import FileRead, read_in_process

HOSTILE_READER = "tests.support.hostile_files:misbehaving_read"
_ORDER = b"KURA-TEST-ORDER "
_kept: list[bytes] = []  # what "leak" holds on to, for the rest of the worker's life


def order(path: Path, action: str, amount: float = 0) -> Path:
    """A text file that makes ``misbehaving_read`` ``action`` before reading it:

    "sleep" (seconds); "allocate" (bytes, touched, then wait for ever); "use" (bytes,
    touched, freed, then read); "leak" (bytes kept for the worker's life, then read);
    "reserve" (bytes allocated at once and never touched: no resident memory, only
    address space); "segfault"; "exit" (exit code); "pages" (a scan of 5 pages through
    ``scans.recognise``, each taking ``amount`` seconds of a stand-in engine: the pool's
    per-page news and budget, without the OCR models).

    ``started(path)`` exists once the worker has begun obeying.
    """
    path.write_bytes(_ORDER + f"{action} {amount}\n".encode() + b"Some ordinary words.\n")
    return path


def started(path: Path) -> Path:
    return path.with_name(path.name + ".started")


def misbehaving_read(path: Path, chunker: Chunker, max_file_bytes: int) -> FileRead:
    with path.open("rb") as file:
        first = file.readline()
    if first.startswith(_ORDER):
        action, amount = first[len(_ORDER):].decode().split()
        started(path).touch()
        _obey(action, float(amount))
    return read_in_process(path, chunker, max_file_bytes)


def _obey(action: str, amount: float) -> None:
    if action == "sleep":
        time.sleep(amount)
    elif action in ("allocate", "use", "leak"):
        step = 16 * 1024 * 1024
        held = [b"\x01" * step for _ in range(int(amount) // step)]  # touched: resident
        if action == "leak":
            _kept.extend(held)
        elif action == "allocate":
            time.sleep(600)
    elif action == "reserve":
        import numpy as np

        reserved = np.zeros(int(amount), dtype=np.uint8)  # calloc: mapped, not resident
        del reserved
    elif action == "segfault":
        ctypes.string_at(0)  # a real invalid read in native code, as PDFium's would be
    elif action == "exit":
        os._exit(int(amount))
    elif action == "pages":
        _scan_pages(SCAN_PAGES, amount)


SCAN_PAGES = 5


class SlowStandInEngine:
    """Stands in for ``OcrEngine`` where only the time a page takes matters (the real
    engine is tested in tests/core/test_ocr.py): each page "reads" as its own number."""

    engine_id = "stand-in"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.pages = 0

    def read(self, image: object) -> OcrPage:
        time.sleep(self.seconds)
        self.pages += 1
        return OcrPage((OcrLine(f"Recognised words number {self.pages}.",
                                (0.1, 0.1, 0.9, 0.2), 0.95),), 0, 8, 8)


def _scan_pages(count: int, seconds: float) -> None:
    from PIL import Image

    scans._engine = SlowStandInEngine(seconds)  # type: ignore[assignment]
    for number in range(1, count + 1):
        scans.recognise(number, count, lambda: Image.new("L", (8, 8), 255))


# -- ZIP containers ------------------------------------------------------------------

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/></Relationships>')
_DOCUMENT_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    b'<w:body><w:p><w:r><w:t>')
_DOCUMENT_TAIL = b"</w:t></w:r></w:p></w:body></w:document>"


def zip_bomb_docx(path: Path, unpacked: int = 2 * 1024**3) -> Path:
    """A Word document whose word/document.xml truly holds ``unpacked`` bytes (one
    paragraph of "0"s; 2 GiB by default) in about a thousandth of that on disk.

    Written without ever holding or compressing the whole: deflate blocks ended with a
    full flush start afresh, so every 1 MiB of "0"s compresses to the same bytes,
    compressed once and written as often as needed."""
    block = b"0" * (1 << 20)
    count, rest = divmod(unpacked - len(_DOCUMENT_HEAD) - len(_DOCUMENT_TAIL), len(block))
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = deflate.compress(_DOCUMENT_HEAD) + deflate.flush(zlib.Z_FULL_FLUSH)
    packed_block = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    tail = deflate.compress(block[:rest] + _DOCUMENT_TAIL) + deflate.flush()
    crc = zlib.crc32(_DOCUMENT_HEAD)
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(block[:rest] + _DOCUMENT_TAIL, crc)
    packed_size = len(head) + count * len(packed_block) + len(tail)

    with _RawZip(path) as archive:
        archive.add_small("[Content_Types].xml", _CONTENT_TYPES.encode())
        archive.add_small("_rels/.rels", _RELS.encode())
        archive.begin("word/document.xml", crc, packed_size, unpacked)
        archive.write(head)
        for _ in range(count):
            archive.write(packed_block)
        archive.write(tail)
    return path


def declare_sizes(path: Path, sizes: dict[str, int]) -> Path:
    """Make the central directory of ``path`` claim ``sizes`` (entry name -> unpacked
    bytes) without changing the data: a container that lies about itself."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        names = {info.filename for info in archive.infolist()}
    missing = set(sizes) - names
    assert not missing, missing
    at = data.rfind(b"PK\x05\x06")
    directory = struct.unpack_from("<I", data, at + 16)[0]
    entry = directory
    while data[entry:entry + 4] == b"PK\x01\x02":
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, entry + 28)
        name = data[entry + 46:entry + 46 + name_len].decode()
        if name in sizes:
            struct.pack_into("<I", data, entry + 24, sizes[name])
        entry += 46 + name_len + extra_len + comment_len
    path.write_bytes(bytes(data))
    return path


def many_entries_zip(path: Path, entries: int) -> Path:
    """A ZIP of ``entries`` empty files (named like a Word document's parts)."""
    with _RawZip(path) as archive:
        archive.add_small("[Content_Types].xml", _CONTENT_TYPES.encode())
        for i in range(entries - 1):
            archive.add_small(f"word/media/{i}.xml", b"", stored=True)
    return path


class _RawZip:
    """Just enough of the ZIP format to write compressed data this module made itself
    (``zipfile`` compresses everything it is given). No ZIP64: entries under 4 GiB."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("wb")
        self._directory: list[bytes] = []

    def __enter__(self) -> _RawZip:
        return self

    def __exit__(self, *exc: object) -> None:
        start = self._file.tell()
        for record in self._directory:
            self._file.write(record)
        size = self._file.tell() - start
        count = len(self._directory)
        self._file.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, size,
                                     start, 0))
        self._file.close()

    def add_small(self, name: str, data: bytes, *, stored: bool = False) -> None:
        if stored:
            packed, method = data, zipfile.ZIP_STORED
        else:
            deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
            packed, method = deflate.compress(data) + deflate.flush(), zipfile.ZIP_DEFLATED
        self.begin(name, zlib.crc32(data), len(packed), len(data), method)
        self.write(packed)

    def begin(self, name: str, crc: int, packed: int, unpacked: int,
              method: int = zipfile.ZIP_DEFLATED) -> None:
        encoded = name.encode()
        offset = self._file.tell()
        self._file.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21,
                                     crc, packed, unpacked, len(encoded), 0) + encoded)
        self._directory.append(struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc, packed, unpacked,
            len(encoded), 0, 0, 0, 0, 0, offset) + encoded)

    def write(self, data: bytes) -> None:
        self._file.write(data)


# -- spreadsheets ----------------------------------------------------------------------


def bogus_dimension_xlsx(path: Path, dimension: str = "A1:XFD1048576") -> Path:
    """A workbook of four real cells whose sheet claims ``dimension`` (by default
    every cell Excel allows: 16,384 columns by 1,048,576 rows)."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Notes"
    sheet.append(["Task", "Due"])
    sheet.append(["Renew the passport", "March"])
    plain = path.with_name(path.stem + ".plain.xlsx")
    book.save(str(plain))
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w",
                                                           zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                patched = data.replace(b'<dimension ref="A1:B2"/>',
                                       f'<dimension ref="{dimension}"/>'.encode())
                assert patched != data, data[:300]
                data = patched
            target.writestr(info, data)
    plain.unlink()
    return path


def tiny_tokenizer_json() -> str:
    """A whitespace word tokenizer as JSON text, for a ``ChunkerSpec`` that loads in
    milliseconds (the pool tests are about processes, not about tokens)."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    tokenizer = Tokenizer(WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    return str(tokenizer.to_str())
