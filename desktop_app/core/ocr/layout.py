"""Reading order: the detected lines of an upright page in the order a person reads them.

The detector returns lines roughly top to bottom, which interleaves the two columns of a
two-column page line by line. Here:

1. The page's skew is measured (the median direction of its long lines) and taken out of
   the coordinates, so a line's pieces tilted by a few degrees still share a baseline.
2. Columns are found from gutters: vertical strips crossed by none of the page's narrow
   lines (those at most ~half the text's width). A gutter counts when each column beside
   it holds at least two lines that mostly fill it (text, not a form's labels and values
   or a stray page number) and the lines crossing it (a title, an abstract across both
   columns) are fewer than half of the rest.
3. Lines that cross a gutter cut the page into bands; in each band the columns are read
   left to right, each top to bottom; the crossing lines in between, in place.
4. Within a column, lines whose centres lie within half a line's height form one row,
   read left to right; a gap between rows wider than 1.25 times the column's usual line
   pitch starts a new block (a paragraph), as does every column and band.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NARROW = 0.55  # a line at most this share of the text's width may sit in a column
MIN_GUTTER = 1.0  # in line heights
MIN_COLUMN_LINES = 2
MIN_FILL = 0.5  # median share of its column's width a column's lines cover
ROW_TOLERANCE = 0.5  # in line heights: centres this close share a baseline
PARAGRAPH_GAP = 1.25  # in line pitches


@dataclass
class _Box:
    index: int
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def xc(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def yc(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def width(self) -> float:
        return self.x1 - self.x0


def reading_order(quads: np.ndarray) -> list[tuple[int, int]]:
    """(index into ``quads``, block number) for every line, in reading order.

    ``quads``: (N, 4, 2) corners (top-left, top-right, bottom-right, bottom-left) of the
    lines of an upright page, in pixels."""
    if not len(quads):
        return []
    heights = np.linalg.norm(quads[:, 3] - quads[:, 0], axis=1)
    line_height = max(float(np.median(heights)), 1.0)
    boxes = _deskewed_boxes(quads)
    order: list[tuple[int, int]] = []
    block = 0
    for group in _bands_and_columns(boxes, line_height):
        for paragraph in _paragraphs(group, line_height):
            order.extend((box.index, block) for box in paragraph)
            block += 1
    return order


def _deskewed_boxes(quads: np.ndarray) -> list[_Box]:
    """Axis-aligned boxes of the quads after turning the page back by its skew: the
    median angle of the lines' top edges, from lines at least three times longer than
    tall (short words and single characters have unreliable angles)."""
    top = quads[:, 1] - quads[:, 0]
    lengths = np.linalg.norm(top, axis=1)
    heights = np.linalg.norm(quads[:, 3] - quads[:, 0], axis=1)
    long = lengths >= 3 * np.maximum(heights, 1.0)
    angle = float(np.median(np.arctan2(top[long, 1], top[long, 0]))) if long.any() else 0.0
    cos, sin = np.cos(-angle), np.sin(-angle)
    x, y = quads[..., 0], quads[..., 1]
    xs, ys = x * cos - y * sin, x * sin + y * cos
    return [_Box(i, float(xs[i].min()), float(ys[i].min()), float(xs[i].max()),
                 float(ys[i].max())) for i in range(len(quads))]


def _bands_and_columns(boxes: list[_Box], line_height: float) -> list[list[_Box]]:
    """The page cut into groups read one after the other: the lines crossing a gutter cut
    it into bands (top to bottom); a band's columns are read left to right, and each run
    of crossing lines is a group of its own between the bands."""
    gutters = _gutters(boxes, line_height)
    if not gutters:
        return [boxes]

    def crosses(box: _Box) -> bool:
        return any(box.x0 < right and box.x1 > left for left, right in gutters)

    runs: list[tuple[bool, list[_Box]]] = []  # (crossing, lines), top to bottom
    for box in sorted(boxes, key=lambda b: b.yc):
        crossing = crosses(box)
        if runs and runs[-1][0] == crossing:
            runs[-1][1].append(box)
        else:
            runs.append((crossing, [box]))
    middles = [(left + right) / 2 for left, right in gutters]
    groups: list[list[_Box]] = []
    for crossing, run in runs:
        if crossing:
            groups.append(run)
            continue
        columns: list[list[_Box]] = [[] for _ in range(len(gutters) + 1)]
        for box in run:
            columns[sum(1 for m in middles if m < box.xc)].append(box)
        groups.extend(column for column in columns if column)
    return groups


def _gutters(boxes: list[_Box], line_height: float) -> list[tuple[float, float]]:
    """The gaps between columns, left to right, as (left, right) x positions."""
    x0 = min(b.x0 for b in boxes)
    x1 = max(b.x1 for b in boxes)
    narrow = [b for b in boxes if b.width <= NARROW * (x1 - x0)]
    if len(narrow) < 2 * MIN_COLUMN_LINES:
        return []
    gaps: list[tuple[float, float]] = []
    reach = -np.inf
    for box in sorted(narrow, key=lambda b: b.x0):
        if reach > -np.inf and box.x0 - reach >= MIN_GUTTER * line_height:
            gaps.append((reach, box.x0))
        reach = max(reach, box.x1)
    # Drop gaps whose columns are not text columns, until every column is one.
    while gaps:
        edges = [-np.inf, *(g for gap in gaps for g in gap), np.inf]
        columns = [[b for b in narrow if edges[2 * i] <= b.x0 and b.x1 <= edges[2 * i + 1]]
                   for i in range(len(gaps) + 1)]
        bad = next((i for i, col in enumerate(columns) if not _is_text_column(col)), None)
        if bad is None:
            break
        gaps.pop(min(bad, len(gaps) - 1))
    if not gaps:
        return []
    crossing = sum(1 for b in boxes if any(b.x0 < r and b.x1 > left for left, r in gaps))
    if crossing > 0.5 * (len(boxes) - crossing):
        return []
    return gaps


def _is_text_column(column: list[_Box]) -> bool:
    if len(column) < MIN_COLUMN_LINES:
        return False
    left = min(b.x0 for b in column)
    right = max(b.x1 for b in column)
    fills = [b.width / max(right - left, 1.0) for b in column]
    return float(np.median(fills)) >= MIN_FILL


def _paragraphs(group: list[_Box], line_height: float) -> list[list[_Box]]:
    """A column's lines as rows (one baseline, left to right), top to bottom, cut into
    paragraphs where the gap to the next row is wider than the usual pitch."""
    rows: list[list[_Box]] = []
    for box in sorted(group, key=lambda b: b.yc):
        if rows:
            row = rows[-1]
            centre = sum(b.yc for b in row) / len(row)
            if abs(box.yc - centre) <= ROW_TOLERANCE * line_height:
                row.append(box)
                continue
        rows.append([box])
    centres = [sum(b.yc for b in row) / len(row) for row in rows]
    pitches = np.diff(centres)
    usual = float(np.median(pitches)) if len(pitches) >= 2 else 1.5 * line_height
    paragraphs: list[list[_Box]] = []
    for i, row in enumerate(rows):
        line = sorted(row, key=lambda b: b.x0)
        if i and pitches[i - 1] <= PARAGRAPH_GAP * usual:
            paragraphs[-1].extend(line)
        else:
            paragraphs.append(line)
    return paragraphs
