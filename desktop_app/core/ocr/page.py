"""What OCR gives back for one image: its lines in reading order, each with its box.

Boxes are fractions of the image exactly as it was given (before the engine turned it to
read it), so the preview can draw them on the page it renders without knowing how the
scan lay on the glass; ``rotation`` says how it lay, for a viewer that wants to show the
page upright.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OcrLine:
    """One recognised line of text."""

    text: str
    # x0, y0, x1, y1 as fractions (0..1) of the image as given: the axis-aligned box
    # around the line's quadrilateral (a skewed or turned line's box is its outer box).
    box: tuple[float, float, float, float]
    confidence: float  # 0..1: the recognizer's mean probability over the line's characters
    # Which block of the page the line belongs to (a paragraph or a column's run of lines),
    # numbered in reading order: ``OcrPage.text`` puts a blank line where it changes.
    block: int = 0


@dataclass(frozen=True)
class OcrPage:
    """The lines of one image, in reading order (two columns: the left one top to bottom,
    then the right one; lines on one baseline left to right)."""

    lines: tuple[OcrLine, ...]
    rotation: int  # 0, 90, 180 or 270: degrees clockwise the image was turned to read it
    width: int  # of the image as given, pixels
    height: int

    @property
    def text(self) -> str:
        """The lines joined in reading order, a blank line between blocks."""
        parts: list[str] = []
        previous: int | None = None
        for line in self.lines:
            if previous is not None and line.block != previous:
                parts.append("")
            parts.append(line.text)
            previous = line.block
        return "\n".join(parts)

    @property
    def confidence(self) -> float:
        """Mean line confidence weighted by characters (a long line says more about the
        page than a page number); 0 for a page without lines."""
        weights = [len(line.text) for line in self.lines]
        total = sum(weights)
        if not total:
            return 0.0
        return sum(w * line.confidence for w, line in zip(weights, self.lines, strict=True)) / total
