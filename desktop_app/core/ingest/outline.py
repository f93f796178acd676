"""Sections cut at headings, each labelled with the path of headings above it.

Shared by every reader whose format has headings (Markdown, reST, Word, HTML): they feed
lines and headings in document order; the outline turns them into sections whose
``location`` is the heading path ("Install > Linux") and ``heading`` the nearest one.
"""

from __future__ import annotations

from desktop_app.core.ingest.decoding import clean_lines
from desktop_app.core.ingest.document import Section

PATH_SEPARATOR = " > "


class Outline:
    def __init__(self) -> None:
        self.sections: list[Section] = []
        self.headings: list[str] = []  # every heading seen, for the headings-only fallback
        self._path: list[tuple[int, str]] = []
        self._lines: list[str] = []

    def line(self, line: str) -> None:
        self._lines.append(line)

    def pop_line(self) -> str:
        """Take back the last line (a Markdown setext title turns out to be a heading)."""
        return self._lines.pop()

    def heading(self, level: int, text: str) -> None:
        """Start a section; ``level`` 1 is the outermost. Deeper levels nest under it."""
        self._flush()
        while self._path and self._path[-1][0] >= level:
            self._path.pop()
        self._path.append((level, text))
        self.headings.append(text)

    def _flush(self) -> None:
        body = clean_lines("\n".join(self._lines))
        self._lines = []
        if not body:
            return  # a heading directly followed by a sub-heading: its path lives on below
        location = PATH_SEPARATOR.join(name for _, name in self._path) or None
        heading = self._path[-1][1] if self._path else None
        self.sections.append(Section(text=body, location=location, heading=heading))

    def finish(self) -> list[Section]:
        self._flush()
        if not self.sections and self.headings:
            # A file of headings only still has words in it; don't call it empty.
            return [Section(text=h, location=h, heading=h) for h in self.headings]
        return self.sections
