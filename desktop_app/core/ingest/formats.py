"""Every file format Kura reads, one row each: the only table to edit to add a format.

A row names the format's kind (stored as ``documents.kind``), the file extensions that go
to it, the reader, what a person calls such a file (for "is not a real ___"), and the
libraries its reader needs (``kura-app --selftest`` imports each and reports its version).
``discover`` asks this table whether a file is one Kura can read, ``parse`` which reader
reads it, ``errors.explain`` what to call it, and the selftest what to import: adding a
format is a reader module, a ``Kind`` member and a row below, and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

from desktop_app.core.ingest import (
    epub_reader,
    html_reader,
    image_reader,
    pdf_reader,
    sheet_reader,
    slides_reader,
    text_reader,
    word_reader,
)
from desktop_app.core.ingest.document import ParsedDocument


class Kind(StrEnum):
    """A format's name as stored in ``documents.kind``: never rename a value."""

    PDF = "pdf"
    DOCX = "docx"
    PPTX = "pptx"
    XLSX = "xlsx"
    EPUB = "epub"
    HTML = "html"
    MARKDOWN = "markdown"
    RST = "rst"
    TEXT = "text"
    CSV = "csv"
    CODE = "code"
    IMAGE = "image"


class Library(NamedTuple):
    distribution: str  # the name it is installed (and its version looked up) under
    module: str  # what the reader imports


@dataclass(frozen=True)
class Format:
    kind: Kind
    extensions: tuple[str, ...]  # lower case, without the dot
    read: Callable[[Path], ParsedDocument]  # may raise anything: parse() words it
    noun: str | None = None  # "Word document"; None words it as "file"
    libraries: tuple[Library, ...] = ()
    names: tuple[str, ...] = ()  # whole file names without an extension ("makefile")


class FormatTable:
    """The rows, indexed once by extension and by name: discover asks for every file."""

    def __init__(self, rows: Iterable[Format]) -> None:
        self._rows = tuple(rows)
        self._by_extension = _index(self._rows, lambda row: row.extensions)
        self._by_name = _index(self._rows, lambda row: row.names)

    def __iter__(self) -> Iterator[Format]:
        return iter(self._rows)

    def for_path(self, path: Path | str) -> Format | None:
        name = Path(path).name
        suffix = Path(name).suffix
        if suffix:
            return self._by_extension.get(suffix[1:].lower())
        return self._by_name.get(name.lower())


def _index(rows: tuple[Format, ...], keys: Callable[[Format], tuple[str, ...]],
           ) -> dict[str, Format]:
    index: dict[str, Format] = {}
    for row in rows:
        for key in keys(row):
            # A wrongly written key would silently never match: refuse it at import.
            if key != key.lower() or key.startswith("."):
                raise ValueError(f"{row.kind}: {key!r} must be lower case, without a dot")
            if key in index:
                raise ValueError(f"{key!r} is claimed by both {index[key].kind} and {row.kind}")
            index[key] = row
    return index


_CHARSET_NORMALIZER = Library("charset-normalizer", "charset_normalizer")
_SELECTOLAX = Library("selectolax", "selectolax.lexbor")

FORMATS = FormatTable([
    Format(Kind.PDF, ("pdf",), pdf_reader.read, "PDF",
           (Library("pypdfium2", "pypdfium2"),)),
    Format(Kind.DOCX, ("docx",), word_reader.read, "Word document",
           (Library("python-docx", "docx"),)),
    Format(Kind.PPTX, ("pptx",), slides_reader.read, "PowerPoint presentation",
           (Library("python-pptx", "pptx"),)),
    # Macro-enabled workbooks store cells exactly like .xlsx.
    Format(Kind.XLSX, ("xlsx", "xlsm"), sheet_reader.read, "Excel workbook",
           (Library("openpyxl", "openpyxl"),)),
    Format(Kind.EPUB, ("epub",), epub_reader.read, "e-book",
           (Library("EbookLib", "ebooklib"), _SELECTOLAX)),
    Format(Kind.HTML, ("html", "htm", "xhtml"), html_reader.read, None,
           (_SELECTOLAX, _CHARSET_NORMALIZER)),
    Format(Kind.MARKDOWN, ("md", "markdown", "mdown", "mkd"), text_reader.read_markdown, None,
           (_CHARSET_NORMALIZER,)),
    Format(Kind.RST, ("rst", "rest"), text_reader.read_rst, None, (_CHARSET_NORMALIZER,)),
    Format(Kind.TEXT, ("txt", "text", "log", "org", "adoc"), text_reader.read_plain, None,
           (_CHARSET_NORMALIZER,),
           names=("readme", "license", "licence", "changelog", "authors", "contributors",
                  "notice", "todo")),
    Format(Kind.CSV, ("csv", "tsv"), text_reader.read_csv, None, (_CHARSET_NORMALIZER,)),
    # Photos and scans of pages: read by OCR (ingest/scans.py), when it is on.
    Format(Kind.IMAGE, ("png", "jpg", "jpeg", "tif", "tiff", "webp", "bmp", "heic", "heif"),
           image_reader.read, "image", (Library("Pillow", "PIL"), Library("rapidocr", "rapidocr"),
                                        Library("opencv-python-headless", "cv2"),
                                        Library("pillow-heif", "pillow_heif"))),
    # Source code and configuration: read as one verbatim section.
    Format(Kind.CODE, (
        "py", "pyi", "pyw", "js", "mjs", "cjs", "jsx", "ts", "mts", "cts", "tsx", "java", "c",
        "h", "cpp", "hpp", "cc", "hh", "cxx", "hxx", "cs", "go", "rs", "rb", "php", "swift",
        "kt", "kts", "scala", "sc", "sh", "bash", "zsh", "fish", "ps1", "psm1", "bat", "cmd",
        "sql", "r", "lua", "pl", "pm", "m", "mm", "yaml", "yml", "toml", "json", "jsonc",
        "json5", "xml", "ini", "cfg", "conf", "properties", "env", "css", "scss", "sass",
        "less", "vue", "svelte", "dart", "ex", "exs", "erl", "hrl", "hs", "clj", "cljs", "edn",
        "fs", "fsx", "ml", "mli", "jl", "nim", "zig", "v", "groovy", "gradle", "tf", "hcl",
        "proto", "graphql", "gql", "ipynb", "tex", "bib", "cmake", "mk", "asm", "s", "f",
        "f90", "vb", "vbs", "pas",
    ), text_reader.read_code, None, (_CHARSET_NORMALIZER,),
        names=("makefile", "dockerfile", "containerfile", "vagrantfile", "gemfile", "rakefile",
               "justfile")),
])


def format_of(path: Path | str) -> Format | None:
    """The row that reads ``path``, decided by its name alone (no I/O); None if none does."""
    return FORMATS.for_path(path)  # looked up at each call, so a test may swap the table


def kind_of(path: Path | str) -> Kind | None:
    """The kind of ``path`` (``Kind.PDF``, ``Kind.MARKDOWN``, ...), or None if unsupported."""
    row = format_of(path)
    return row.kind if row else None
