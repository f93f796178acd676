"""What every reader returns: a document cut into titled, located sections.

Two kinds of section exist, and the difference matters to the chunker:

* *Page-like* sections (a PDF page, a slide, a sheet, an EPUB chapter) hold all the text
  of that unit, its own headings included, because that is what the reader sees there.
* *Heading-split* sections (Markdown, reST, Word, HTML) are cut *at* headings: the
  heading travels in ``heading``/``location`` and is not repeated in ``text``, so it is
  not embedded twice when the chunker prefixes it as the chunk title.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Section:
    text: str  # verbatim text of this part (no trailing whitespace noise)
    location: str | None  # human label: "page 3", "slide 2", "Sheet1", "Install > Linux"
    page: int | None = None  # 1-based page (PDF) or slide (PPTX) number, else None
    heading: str | None = None  # nearest heading / sheet / chapter name: the chunk title


@dataclass(frozen=True)
class ParsedDocument:
    path: Path
    kind: str  # a formats.Kind value; parse() sets it from the file's row
    title: str | None  # metadata title, else first H1/heading, else None
    sections: list[Section]
    encoding: str | None = None  # for text-like files: the detected encoding
