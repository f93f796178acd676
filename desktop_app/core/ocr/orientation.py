"""Which way up a page lies, decided once per page, and the geometry of turning it.

A scan turned by 90° or 270° shows its lines as tall, narrow boxes: the detector finds text
lines whichever way they run, so the boxes' shapes say "sideways" before anything is read
(``is_sideways``). Whether an upright-looking page is upside down (0 vs 180°, and so 90 vs
270° for a sideways one) is the direction classifier's question, asked of windows of the
page's longest lines together (``windows``, ``is_upside_down``): one answer for the page.
rapidocr asks it of every whole line and flips each line it doubts; measured on clean
English pages, that flipped good lines (a 150 dpi page came out with 10% character errors,
every one from two lines read upside down; ``benchmarks/ocr.py`` shows 8-14% on clean
English pages), while the page-level vote was right on every page and every turn of the
benchmark set and of the tests.

Turns are clockwise, like a PDF page's /Rotate: ``rotation`` 90 means the image must be
turned 90° clockwise to be read. Points are (x, y) pixels with y down.
"""

from __future__ import annotations

import numpy as np

# A box counts as a line running one way when it is this much longer than wide.
ELONGATED = 1.5
# Lines whose direction the classifier judges: the longest ones say the most, and a
# dozen keep the check at a few milliseconds.
SAMPLE_LINES = 12
WINDOWS_PER_LINE = 3
CLASSIFIER_ASPECT = 4  # its input is 192 × 48 pixels


def turn_points(points: np.ndarray, rotation: int, width: int, height: int) -> np.ndarray:
    """Where points of a ``width`` × ``height`` image land when the image is turned
    ``rotation`` degrees clockwise (0, 90, 180, 270). Works on any (..., 2) array."""
    x, y = points[..., 0], points[..., 1]
    if rotation == 0:
        turned = np.stack([x, y], axis=-1)
    elif rotation == 90:
        turned = np.stack([height - y, x], axis=-1)
    elif rotation == 180:
        turned = np.stack([width - x, height - y], axis=-1)
    elif rotation == 270:
        turned = np.stack([y, width - x], axis=-1)
    else:
        raise ValueError(f"rotation must be 0, 90, 180 or 270, not {rotation}")
    return turned.astype(np.float32)


def turn_quads(quads: np.ndarray, rotation: int, width: int, height: int) -> np.ndarray:
    """``turn_points`` for (N, 4, 2) quadrilaterals, each then ordered as on an upright
    page (``upright_corners``)."""
    return upright_corners(turn_points(quads, rotation, width, height))


def upright_corners(quads: np.ndarray) -> np.ndarray:
    """Each quad's corners clockwise from the one where the edge leaving it points most
    nearly right: top-left, top-right, bottom-right, bottom-left of a line on an upright
    page, however it is skewed. (The detector orders corners by their x, which for a tall,
    slightly tilted box of a sideways page puts a bottom corner first.)"""
    if not len(quads):
        return quads
    centres = quads.mean(axis=1, keepdims=True)
    offsets = quads - centres
    clockwise = np.argsort(np.arctan2(offsets[..., 1], offsets[..., 0]), axis=1)
    ordered = np.take_along_axis(quads, clockwise[..., np.newaxis], axis=1)
    edges = np.roll(ordered, -1, axis=1) - ordered
    # The edge pointing most nearly right (largest x per unit length) starts at the top-left.
    lengths = np.maximum(np.linalg.norm(edges, axis=2), 1e-6)
    start = np.argmax(edges[..., 0] / lengths, axis=1)
    index = (start[:, np.newaxis] + np.arange(4)) % 4
    return np.take_along_axis(ordered, index[..., np.newaxis], axis=1).astype(np.float32)


def turned_size(width: int, height: int, rotation: int) -> tuple[int, int]:
    return (height, width) if rotation in (90, 270) else (width, height)


def is_sideways(quads: np.ndarray) -> bool:
    """Whether most of the detected text runs top to bottom: a page turned by 90 or 270°.

    Each elongated box votes for its direction with its length (a long line is surer than
    a two-letter word, and a skew of a few degrees changes no vote); boxes about as wide as
    tall (single characters, specks) do not vote."""
    if not len(quads):
        return False
    extent = quads.max(axis=1) - quads.min(axis=1)
    widths, heights = extent[:, 0], extent[:, 1]
    tall = heights > ELONGATED * widths
    wide = widths > ELONGATED * heights
    return float(heights[tall].sum()) > float(widths[wide].sum())


def sample(quads: np.ndarray) -> np.ndarray:
    """Indices of the longest lines (at most ``SAMPLE_LINES``), for the direction vote."""
    lengths = np.linalg.norm(quads[:, 1] - quads[:, 0], axis=1)
    return np.argsort(-lengths, kind="stable")[:SAMPLE_LINES]


def windows(crop: np.ndarray) -> list[np.ndarray]:
    """Up to ``WINDOWS_PER_LINE`` pieces of a line crop, each as wide as the classifier's
    input is in proportion (4:1), spread along the line.

    The classifier squeezes a whole line into 192×48 pixels: a 40:1 line becomes a smear
    it answers at random (measured on 32 synthetic pages, 0° and 180°: the mean P(180°) of
    whole lines was on the wrong side for 4 pages and within 0.1 of even for 6 more; of
    4:1 windows, right on all 32, every mean below 0.002 or above 0.997)."""
    height, width = crop.shape[:2]
    span = CLASSIFIER_ASPECT * height
    if width <= span:
        return [crop]
    count = min(WINDOWS_PER_LINE, width // span)
    starts = np.linspace(0, width - span, count).astype(int)
    return [crop[:, start:start + span] for start in starts]


def is_upside_down(p_upside_down: np.ndarray) -> bool:
    """The page-level vote: the mean of the classifier's P(180°) over the windows of the
    sampled lines."""
    return bool(len(p_upside_down)) and float(np.mean(p_upside_down)) > 0.5
