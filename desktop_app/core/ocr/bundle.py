"""The OCR models inside rapidocr's wheel, loaded as Kura loads its other ONNX graphs.

rapidocr 3.10.0 ships three ONNX files in ``rapidocr/models/`` (~31 MB), the ones its
default configuration picks for Chinese and English:

- ``PP-OCRv6_det_small.onnx`` (9.9 MB): DB text detection, one quadrilateral per line;
- ``PP-OCRv6_rec_small.onnx`` (21.2 MB): CTC line recognition, 18,708 characters (Chinese,
  English and other Latin scripts, Japanese kana, digits, full- and half-width
  punctuation), its character list in the graph's metadata;
- ``ch_ppocr_mobile_v2.0_cls_mobile.onnx`` (0.6 MB): is a line upright or upside down.

Kura opens them itself, by explicit path, instead of through ``rapidocr.RapidOCR``: its
session code builds a missing model's download URL and fetches it with ``requests``, and
its options leave onnxruntime's idle threads spinning. Here no download path exists at
all, the sessions get the ingest worker's thread count with sleeping idle threads (as
``embedder._load_session`` does, for the same reason: Kura's own processes share the
cores), and nothing is logged at INFO. Only rapidocr's pre- and post-processing (the DB
box extraction, the CTC decoder, the line crop) are used, pinned with the package.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from desktop_app.core.errors import ModelFileError
from desktop_app.core.onnx_session import cpu_session_options

_log = logging.getLogger("kura.ocr")

DETECTOR = "PP-OCRv6_det_small.onnx"
RECOGNIZER = "PP-OCRv6_rec_small.onnx"
CLASSIFIER = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"
MODEL_FILES = (DETECTOR, RECOGNIZER, CLASSIFIER)
# What building the engine imports (rapidocr's modules import the rest: its config
# machinery, its logger, its downloader), measured from sys.modules: a packaged app that
# left one out could not OCR.
LIBRARIES = ("rapidocr", "onnxruntime", "cv2", "pyclipper", "shapely", "omegaconf", "yaml",
             "colorlog", "requests", "tqdm")
# rapidocr's modules read this file of its package when they are imported (its model
# catalogue; Kura never looks anything up in it): a packaged app must carry it too.
IMPORT_DATA = "default_models.yaml"
# Bump when a change to Kura's own pipeline (thresholds, orientation, reading order)
# changes what the same models return for the same image: it is part of ``engine_id``.
PIPELINE = 1


def models_dir() -> Path | None:
    """rapidocr's ``models/`` folder, found without importing rapidocr (None: not installed)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def available() -> bool:
    """Whether ``OcrEngine()`` can be built here: rapidocr and the libraries it needs are
    importable, and its three model files are present (a packaged app may lack them).
    Cheap: nothing is imported or loaded."""
    if any(importlib.util.find_spec(name) is None for name in LIBRARIES):
        return False
    folder = models_dir()
    return folder is not None and all((folder / name).is_file() for name in MODEL_FILES) \
        and (folder.parent / IMPORT_DATA).is_file()


def rapidocr_version() -> str:
    from rapidocr._version import __version__

    return str(__version__)


@cache
def _file_digest(path: Path, size: int, mtime_ns: int) -> bytes:
    """sha256 of a model file, once per process per (size, mtime) of the file."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.digest()


def engine_id(folder: Path) -> str:
    """Names what produced a result: rapidocr's version, Kura's pipeline revision and the
    content of the three model files. A cache key: results of another engine never match."""
    combined = hashlib.sha256()
    for name in MODEL_FILES:
        path = folder / name
        stat = path.stat()
        combined.update(name.encode() + b"\0" + _file_digest(path, stat.st_size, stat.st_mtime_ns))
    return f"rapidocr-{rapidocr_version()}+kura.{PIPELINE}:{combined.hexdigest()[:12]}"


@dataclass(frozen=True)
class Sessions:
    detector: Any  # onnxruntime.InferenceSession
    recognizer: Any
    classifier: Any
    characters: list[str]  # the recognizer's alphabet, from its metadata
    folder: Path


def load_sessions(threads: int) -> Sessions:
    """The three models from the wheel, each with ``threads`` intra-op threads.

    A missing or unloadable file is a ``ModelFileError`` naming it (nothing is fetched)."""
    quiet_rapidocr()
    folder = models_dir()
    if folder is None:
        raise ModelFileError("rapidocr", "the OCR engine is not installed")
    for name in MODEL_FILES:
        if not (folder / name).is_file():
            raise ModelFileError(folder / name, "missing: the OCR models are not installed")
    detector = _session(folder / DETECTOR, threads)
    recognizer = _session(folder / RECOGNIZER, threads)
    classifier = _session(folder / CLASSIFIER, threads)
    metadata = recognizer.get_modelmeta().custom_metadata_map
    if "character" not in metadata:
        raise ModelFileError(folder / RECOGNIZER, "has no character list in its metadata")
    return Sessions(detector, recognizer, classifier, metadata["character"].splitlines(),
                    folder)


def _session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    # The detector sees a different input size on every page: no arena (rapidocr turns it
    # off too).
    options = cpu_session_options(threads, memory_arena=False)
    try:
        return ort.InferenceSession(str(path), sess_options=options,
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFileError(path, f"cannot be loaded by onnxruntime ({first})") from exc


def quiet_rapidocr() -> None:
    """rapidocr's logger writes INFO lines to its own stderr handler and does not
    propagate: route it through Kura's logging at WARNING and above instead. Called after
    rapidocr is imported (its import installs that handler)."""
    import rapidocr.utils.log  # noqa: F401

    logger = logging.getLogger("RapidOCR")
    logger.setLevel(logging.WARNING)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.propagate = True
