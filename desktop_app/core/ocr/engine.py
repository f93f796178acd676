"""``OcrEngine``: an image in, its lines of text in reading order out.

One page goes through:

1. detection on a copy scaled so its long side is at most ``DET_MAX_SIDE`` pixels: one
   quadrilateral per line, mapped back to full resolution;
2. orientation (``orientation.py``): sideways from the boxes' shapes, upside down from
   the direction classifier's vote over the longest lines; the image and the boxes are
   turned upright once, for the whole page;
3. recognition of each line cropped from the full-resolution upright image (rapidocr
   crops from the scaled copy, which loses detail on 300 dpi scans);
4. lines read as nothing, or below ``MIN_CONFIDENCE``, are dropped (specks, ruled lines
   and stains the detector took for text);
5. reading order (``layout.py``), then every box back to the coordinates of the image as
   given, as fractions of its size.

One engine per process, built in the process that uses it (its sessions cannot be
pickled to a spawned worker): loading takes ~0.4 s and leaves the process at ~180 MB
resident; a page peaks at ~700 MB (the detector's activations on a 1600-pixel page) and
``read`` hands the freed memory back to the OS before it returns. It is not meant to be
shared between threads.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

from desktop_app.core.ocr import layout, orientation
from desktop_app.core.ocr.bundle import engine_id, load_sessions
from desktop_app.core.ocr.page import OcrLine, OcrPage

if TYPE_CHECKING:
    from PIL import Image

# Detection: the long side scaled down to this; a small image is scaled up until its short
# side reaches DET_MIN_SIDE (rapidocr's limit_side_len), as far as the long side allows.
# rapidocr uses 2000. Measured on A4 pages of 6 to 11 pt English and Chinese at 150 and
# 300 dpi, clean and noisy: 1280, 1600 and 2000 read them equally well (CER within 0.2%
# of each other), while the detector's peak memory goes 246 / 384 / 488 MB and its time
# 0.30 / 0.56 / 0.95 s. 1600 keeps a margin for small print on larger pages.
DET_MAX_SIDE = 1600
DET_MIN_SIDE = 736
# DB post-processing, rapidocr's defaults: pixel threshold, box score threshold, how far
# a box is grown around the core the network marks.
DET_THRESH = 0.3
BOX_THRESH = 0.5
UNCLIP_RATIO = 1.6
MAX_LINES = 1000
# Larger images are scaled down to this long side first: 4000 pixels is A4 at 340 dpi,
# more than the recognizer needs (it sees each line 48 pixels tall), and a 600 dpi scan
# would otherwise cost four times the memory and time for the same text.
WORK_MAX_SIDE = 4000
# Recognition: lines are scaled to this height; batched by similar width.
REC_HEIGHT = 48
REC_MIN_WIDTH = 320
REC_BATCH = 6
REC_BATCH_WIDTH = 3200  # pixels, padded, summed over a batch
CLS_SHAPE = (48, 192)  # the direction classifier's input (height, width)
# Lines read with less confidence are dropped (rapidocr's text_score).
MIN_CONFIDENCE = 0.5


class OcrEngine:
    """The models loaded once; ``read`` an image as many times as needed.

    ``threads``: onnxruntime's intra-op threads for each model. The ingest runs several
    worker processes; one thread each keeps them from fighting over the cores.
    """

    def __init__(self, threads: int = 1) -> None:
        import cv2
        from rapidocr.ch_ppocr_det.utils import DBPostProcess
        from rapidocr.ch_ppocr_rec.utils import CTCLabelDecode

        # OpenCV's own pool (resizing, the line crops) would take every core: the same
        # share as onnxruntime's. Process-wide, which is what one engine per worker wants.
        cv2.setNumThreads(max(1, threads))
        self._sessions = load_sessions(threads)
        self._engine_id = engine_id(self._sessions.folder)
        self._boxes = DBPostProcess(thresh=DET_THRESH, box_thresh=BOX_THRESH,
                                    max_candidates=MAX_LINES, unclip_ratio=UNCLIP_RATIO,
                                    score_mode="fast", use_dilation=True)
        self._decode = CTCLabelDecode(character=list(self._sessions.characters))
        self.threads = threads

    @property
    def engine_id(self) -> str:
        """rapidocr's version, Kura's pipeline revision and the models' content (see
        ``bundle.engine_id``): store it with the results, reuse them only under it."""
        return self._engine_id

    def read(self, image: Image.Image | np.ndarray) -> OcrPage:
        """The text of ``image``: a PIL image (any mode) or an array, (H, W) grey or
        (H, W, 3/4) RGB(A) as PIL gives it, uint8."""
        try:
            given = _as_bgr(image)
            height, width = given.shape[:2]
            lines, rotation = self._read(_within(given, WORK_MAX_SIDE))
            return OcrPage(lines, rotation, width, height)
        finally:
            _release_freed_memory()

    def _read(self, given: np.ndarray) -> tuple[tuple[OcrLine, ...], int]:
        """The lines of ``given`` (boxes as fractions of it) and how far it was turned."""
        height, width = given.shape[:2]
        quads = self._detect(given)
        if not len(quads):
            return (), 0

        rotation = 90 if orientation.is_sideways(quads) else 0
        upright, quads = _turned(given, quads, rotation)
        pieces = [window for i in orientation.sample(quads)
                  for window in orientation.windows(_crop(upright, quads[i]))]
        if orientation.is_upside_down(self._upside_down(pieces)):
            upright, quads = _turned(upright, quads, 180)
            rotation += 180

        texts = self._recognise([_crop(upright, quad) for quad in quads])
        kept = [i for i, (text, score) in enumerate(texts)
                if text.strip() and score >= MIN_CONFIDENCE]
        if not kept:
            return (), rotation
        quads = quads[kept]
        texts = [texts[i] for i in kept]

        up_height, up_width = upright.shape[:2]
        back = (360 - rotation) % 360
        given_quads = orientation.turn_points(quads, back, up_width, up_height)
        lines = []
        for index, block in layout.reading_order(quads):
            text, score = texts[index]
            corners = given_quads[index]
            x0, y0 = corners.min(axis=0)
            x1, y1 = corners.max(axis=0)
            box = (_fraction(x0, width), _fraction(y0, height),
                   _fraction(x1, width), _fraction(y1, height))
            lines.append(OcrLine(text.strip(), box, float(score), block))
        return tuple(lines), rotation

    # -- the three models -------------------------------------------------------------

    def _detect(self, bgr: np.ndarray) -> np.ndarray:
        """(N, 4, 2) float32 line quadrilaterals in ``bgr``'s pixels, top-left first."""
        import cv2

        height, width = bgr.shape[:2]
        scale = min(1.0, DET_MAX_SIDE / max(height, width))
        if min(height, width) * scale < DET_MIN_SIDE:
            scale = min(DET_MIN_SIDE / min(height, width), DET_MAX_SIDE / max(height, width))
        det_h = max(32, round(height * scale / 32) * 32)
        det_w = max(32, round(width * scale / 32) * 32)
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        scaled = cv2.resize(bgr, (det_w, det_h), interpolation=interpolation)
        batch = _normalised(scaled)[np.newaxis]
        prediction = self._run(self._sessions.detector, batch)
        quads, _scores = self._boxes(prediction, (height, width))
        if not len(quads):
            return np.zeros((0, 4, 2), np.float32)
        return np.asarray(quads, dtype=np.float32)

    def _upside_down(self, crops: list[np.ndarray]) -> np.ndarray:
        """The classifier's P(turned 180°) for each crop."""
        import cv2

        if not crops:
            return np.zeros(0, np.float32)
        height, width = CLS_SHAPE
        batch = np.zeros((len(crops), 3, height, width), np.float32)
        for i, crop in enumerate(crops):
            w = min(width, math.ceil(height * crop.shape[1] / crop.shape[0]))
            batch[i, :, :, :w] = _normalised(cv2.resize(crop, (w, height)))
        probabilities = self._run(self._sessions.classifier, batch)
        return np.asarray(probabilities[:, 1], dtype=np.float32)

    def _recognise(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """(text, mean character probability) for each crop, batched by similar width
        under ``REC_BATCH_WIDTH``: the recognizer's memory grows with batch × width
        (measured: 6 lines padded to 2,000 pixels peak at +556 MB, one at +90 MB) while
        batching saves no time on a CPU (6 lines cost 6 times one)."""
        import cv2

        ratios = [crop.shape[1] / crop.shape[0] for crop in crops]
        results: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        for members in _batches(ratios):
            widest = max(REC_MIN_WIDTH / REC_HEIGHT, *(ratios[i] for i in members))
            width = math.ceil(REC_HEIGHT * widest)
            batch = np.zeros((len(members), 3, REC_HEIGHT, width), np.float32)
            for row, i in enumerate(members):
                w = min(width, math.ceil(REC_HEIGHT * ratios[i]))
                batch[row, :, :, :w] = _normalised(cv2.resize(crops[i], (w, REC_HEIGHT)))
            prediction = self._run(self._sessions.recognizer, batch)
            decoded, _words = self._decode(prediction)
            for row, i in enumerate(members):
                text, score = decoded[row]
                results[i] = (str(text), float(score))
        return results

    @staticmethod
    def _run(session: Any, batch: np.ndarray) -> np.ndarray:
        name = session.get_inputs()[0].name
        return np.asarray(session.run(None, {name: batch})[0])


def _batches(ratios: list[float]) -> list[list[int]]:
    """Indices of the crops grouped by similar width (width / height ``ratios``), each
    group at most ``REC_BATCH`` lines and ``REC_BATCH_WIDTH`` padded pixels wide in all."""
    batches: list[list[int]] = []
    for i in np.argsort(ratios, kind="stable").tolist():
        padded = max(REC_MIN_WIDTH, REC_HEIGHT * ratios[i])  # sorted: this one is widest
        if batches and len(batches[-1]) < REC_BATCH \
                and padded * (len(batches[-1]) + 1) <= REC_BATCH_WIDTH:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def _as_bgr(image: Image.Image | np.ndarray) -> np.ndarray:
    """An (H, W, 3) uint8 BGR array, the channel order the PaddleOCR models were trained
    on. Transparency is flattened onto white (a transparent PNG's background is not ink);
    16-bit and float greys are scaled to 8 bits."""
    if isinstance(image, np.ndarray):
        array = image
    else:
        from PIL import Image as PILImage

        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P"
                                                  and "transparency" in image.info):
            rgba = image.convert("RGBA")
            white = PILImage.new("RGBA", rgba.size, (255, 255, 255, 255))
            image = PILImage.alpha_composite(white, rgba)
        if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
            array = np.asarray(image, dtype=np.float32)
        else:
            array = np.asarray(image.convert("RGB"))
    if array.dtype != np.uint8:
        peak = 255.0 if float(array.max(initial=0)) <= 255 else 65535.0
        array = np.clip(array.astype(np.float32) * (255.0 / peak), 0, 255).astype(np.uint8)
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    elif array.ndim == 3 and array.shape[2] == 4:
        alpha = array[:, :, 3:4].astype(np.float32) / 255
        array = (array[:, :, :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)
    elif array.ndim == 3 and array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    if array.ndim != 3 or array.shape[2] != 3 or min(array.shape[:2]) < 1:
        raise ValueError(f"not an image: an array of shape {array.shape}")
    return np.ascontiguousarray(array[:, :, ::-1])


def _within(bgr: np.ndarray, longest: int) -> np.ndarray:
    """``bgr`` scaled down (area-averaged) so its long side is at most ``longest`` pixels;
    boxes are fractions of the image, so the caller never sees the difference."""
    import cv2

    height, width = bgr.shape[:2]
    scale = longest / max(height, width)
    if scale >= 1:
        return bgr
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA))


def _release_freed_memory() -> None:
    """Give the page's freed buffers back to the OS: glibc keeps them mapped, and the
    reading worker's memory budget counts resident memory (measured after a 300 dpi page:
    RSS 501 -> 193 MB, in 12 ms). A no-op off Linux."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


def _normalised(bgr: np.ndarray) -> np.ndarray:
    """(3, H, W) float32 in [-1, 1], the models' input."""
    return (bgr.astype(np.float32).transpose(2, 0, 1) / 127.5) - 1.0


def _turned(image: np.ndarray, quads: np.ndarray,
            rotation: int) -> tuple[np.ndarray, np.ndarray]:
    """The image turned ``rotation`` degrees clockwise, and the quads with it."""
    import cv2

    if rotation == 0:
        return image, orientation.upright_corners(quads)
    height, width = image.shape[:2]
    code = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180,
            270: cv2.ROTATE_90_COUNTERCLOCKWISE}[rotation]
    return cv2.rotate(image, code), orientation.turn_quads(quads, rotation, width, height)


def _crop(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The line inside ``quad``, straightened (rapidocr's perspective crop)."""
    from rapidocr.utils.process_img import get_rotate_crop_image

    return np.asarray(get_rotate_crop_image(image, quad.astype(np.float32).copy()))


def _fraction(value: float, size: int) -> float:
    return min(1.0, max(0.0, float(value) / size))
