"""``kura-app --selftest``: does everything Kura needs load on this machine?

Loads each native part for real — onnxruntime runs a tiny graph, llama.cpp loads its
shared libraries and CPU backend, hnswlib builds and queries an index, SQLite has FTS5,
PDFium opens, OCR reads a line of English and one of Chinese (also in a reading worker
process, as a scan), Qt makes a widget — prints a table of versions and exits 0, or names
what failed and exits 1. It needs no model files and no network (OCR's models are part
of the installation; with the answer and search models installed, or ``KURA_LLM_PATH`` /
``KURA_EMBEDDER_DIR`` set, it also loads them: a few tokens generated, a query embedded),
and works the same from a source checkout and from the packaged app (CI runs it on the
Linux package).

Qt runs on the ``offscreen`` platform when there is no display (or when
``QT_QPA_PLATFORM`` says so); on Linux the check also loads the X11 platform plugin by
itself, so missing system libraries show as a named failure (with the packages to install)
instead of a window that never appears. The report also goes to the log (on Windows the
packaged app has no console to print to).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

_log = logging.getLogger("kura.selftest")

Status = Literal["ok", "warn", "fail", "skip"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    version: str = ""
    detail: str = ""


class Warn(Exception):
    """Raised by a check that passed with a caveat."""


class Skip(Exception):
    """Raised by a check that has nothing to check here (no model files yet)."""


def _version(module: Any, dist: str | None = None) -> str:
    for attr in ("__version__", "VERSION", "version"):
        value = getattr(module, attr, None)
        if isinstance(value, str):
            return value
    if dist:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return "?"


# The page the OCR and reading worker checks read: a line of English drawn here with
# Pillow's built-in font, and a line of Chinese drawn once with WenQuanYi Zen Hei at 32 px
# and stored as a 1-bit PNG (232 x 40 pixels, 570 bytes), so that Chinese is read on a
# machine without a CJK font.
OCR_ENGLISH = "Kura reads scanned pages"
OCR_CHINESE = "扫描件也能搜索"
OCR_CHINESE_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAOgAAAAoAQAAAADcOothAAAB/0lEQVR42sWUv27TUBTGf/faiqISGkcsqVSKB8RK"
    "HqCkVoVUhj4D4hE6MCJyDUh0ANQn4M8LMDDB5qIMiAEsWBidNFIzpsQStWX7MDhOopay9i5Xut/5dL5zzneuEv5z"
    "NJeAjkEzOvMyAcBb4r6Nx8RiAPiVQjgLtue0yZXyrgMMQYFoGKiSdFCiATm8HyDHsqTKdiBkxEtig7Ne5b1RABAZ"
    "AFdcc2LmFSXXHZCra6YOkFBsB7f+Va8LsJcZaQPkak15yJEUe2p6LK+g982aTmj3TnmzmYnIlgZovp5J/m3TFN/s"
    "fB+OIFyul8fKHEbAA2BjHT520FVjpIB8B3LlzUa+76HLljbaRWbI6gCiPcCSZhRo8pYmUyrzQQWAzJKl911s3oUO"
    "4243AWoAWMLXQZ/xw6fo5Emz4AWs1Cp1KaS9LaIWaFzIHbBz7XszXHaB7uoXtAogXjaAQlKAtJOha4AygFX0AgCh"
    "MIE6ZOx3y26sLJhOAvHz8GgVl9NyCjafny155Sc4GqZ2NaPuIxa+2YXahIQf5xw7CZR0QEb84dNZtE0kKgD7Hids"
    "osE/53gPy2HIxkW7kE/o00RDr2ChmdJx8QfZp240QGa2sjktQ8iv3fY6BzZabqL8Cmkp5SrRd7YbDeXdtbCpV3YE"
    "HIC+rVsRASFGCZBbFyypuqR/4y91lbc8w1e1swAAAABJRU5ErkJggg=="
)
# How alike (difflib's ratio) a recognised line must be to the line drawn: a character or
# two may differ on another CPU's arithmetic, a broken engine reads nothing or garbage.
OCR_MIN_LIKENESS = 0.8


def ocr_sample() -> Any:
    """The OCR check's page, a PIL image: the English line above the Chinese one."""
    import base64
    import io

    from PIL import Image, ImageDraw, ImageFont

    chinese = Image.open(io.BytesIO(base64.b64decode(OCR_CHINESE_PNG))).convert("L")
    font = ImageFont.load_default(size=32)
    english_width = int(ImageDraw.Draw(Image.new("L", (1, 1))).textlength(OCR_ENGLISH,
                                                                          font=font))
    page = Image.new("L", (max(english_width, chinese.width) + 80, 150), 255)
    ImageDraw.Draw(page).text((40, 30), OCR_ENGLISH, font=font, fill=0)
    page.paste(chinese, (40, 85))
    return page


def _not_read_back(lines: Sequence[str]) -> str | None:
    """The line of ``ocr_sample()`` that none of ``lines`` is like, or None: all there."""
    import difflib

    for expected in (OCR_ENGLISH, OCR_CHINESE):
        likeness = max((difflib.SequenceMatcher(None, expected, text).ratio()
                        for text in lines), default=0.0)
        if likeness < OCR_MIN_LIKENESS:
            return expected
    return None


# -- the checks: each returns (version, detail) or raises -------------------------------


def check_python() -> tuple[str, str]:
    import platform

    frozen = "packaged" if getattr(sys, "frozen", False) else sys.prefix
    return platform.python_version(), f"{platform.platform()}; {frozen}"


def check_kura() -> tuple[str, str]:
    from desktop_app import __version__
    from desktop_app.core.model_files import catalog
    from desktop_app.core.paths import data_dir

    # The model catalog is package data: a bundle that lost it cannot fetch models.
    bundles = catalog.load_catalog().bundles
    return __version__, f"data dir {data_dir()}; model catalog: {len(bundles)} bundles"


def check_numpy() -> tuple[str, str]:
    import numpy as np

    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert float((a @ a.T)[2, 2]) == 366.0
    return np.__version__, ""


def check_onnxruntime() -> tuple[str, str]:
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    graph = helper.make_graph([helper.make_node("Add", ["x", "x"], ["y"])], "selftest", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    out = session.run(None, {"x": np.array([1.0, 2.0], dtype=np.float32)})[0]
    assert out.tolist() == [2.0, 4.0], out
    return ort.__version__, f"onnx {onnx.__version__}; {', '.join(ort.get_available_providers())}"


def check_tokenizers() -> tuple[str, str]:
    import tokenizers
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "kura": 1, "works": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    assert tok.encode("kura works fine").ids == [1, 2, 0]
    return tokenizers.__version__, ""


def check_chunker() -> tuple[str, str]:
    import semantic_text_splitter

    chunks = semantic_text_splitter.TextSplitter(20).chunks("Kura reads. " * 10)
    assert chunks
    return _version(semantic_text_splitter, "semantic-text-splitter"), ""


def check_reading_worker() -> tuple[str, str]:
    """A note and a scan read and chunked in a reading worker process (``core/reading.py``),
    the scan by OCR, as the library reads them: in the packaged app this proves a spawned
    worker starts as a worker, not a second Kura (``multiprocessing.freeze_support`` in
    the entry point), and can OCR there."""
    import tempfile

    from tokenizers import Tokenizer, models, pre_tokenizers

    from desktop_app.core.chunking import ChunkerSpec
    from desktop_app.core.reading import FileRead, ReadBudget, ReadPool

    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "kura": 1, "reads": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    with tempfile.TemporaryDirectory(prefix="kura-selftest-") as tmp:
        note = Path(tmp) / "note.txt"
        note.write_text("Kura reads this note in a worker process.\n", encoding="utf-8")
        scan = Path(tmp) / "scan.png"
        ocr_sample().save(scan)
        spec = ChunkerSpec(tok.to_str(), max_tokens=64, overlap=0)
        with ReadPool(spec, budget=ReadBudget(seconds=60, memory_bytes=1 << 30),
                      max_file_bytes=1 << 20, ocr=True) as pool:
            pool.submit(note)
            pool.submit(scan)
            results: dict[Path, Any] = {}
            deadline = time.monotonic() + 60
            while len(results) < 2 and time.monotonic() < deadline:
                results.update(pool.poll(timeout=1.0))
        for path, what in ((note, "a note"), (scan, "a scan (OCR)")):
            if path not in results:
                raise RuntimeError(f"the reading worker did not read {what} within 60 s")
            if not isinstance(results[path], FileRead):
                raise RuntimeError(f"the reading worker could not read {what}: "
                                   f"{results[path]}")
    scanned = [line for chunk in results[scan].chunks for line in chunk.text.splitlines()]
    unread = _not_read_back(scanned)
    if unread:
        raise RuntimeError(f"the reading worker's OCR read {scanned!r} where {unread!r} "
                           "was drawn")
    return "", "a note and a scan (by OCR) read in a worker process"


def check_hnswlib() -> tuple[str, str]:
    import hnswlib
    import numpy as np

    rng = np.random.default_rng(0)
    data = rng.standard_normal((64, 16)).astype(np.float32)
    index = hnswlib.Index(space="cosine", dim=16)
    index.init_index(max_elements=64, ef_construction=50, M=8)
    index.add_items(data, np.arange(64))
    labels, _ = index.knn_query(data[:4], k=1)
    assert labels[:, 0].tolist() == [0, 1, 2, 3], labels
    return _version(hnswlib, "hnswlib"), ""


def check_llama_cpp() -> tuple[str, str]:
    import llama_cpp

    llama_cpp.llama_backend_init()
    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip(" |")
    if not info:  # llama.cpp lists each registered backend's features: none registered
        raise RuntimeError("llama.cpp loaded, but no CPU backend did (no libggml-cpu* "
                           "library was found next to it, or none runs on this CPU)")
    variant = _loaded_cpu_variant()
    detail = f"{variant}; " if variant else ""
    return llama_cpp.__version__, detail + info


def _loaded_cpu_variant() -> str:
    """Which of a portable build's CPU backends was chosen (Linux: from the process's
    memory map); empty when not known."""
    maps = Path("/proc/self/maps")
    if not maps.exists():
        return ""
    names = {Path(line.split()[-1]).name for line in maps.read_text().splitlines()
             if "libggml-cpu" in line}
    return ", ".join(sorted(names))


def check_answer_model() -> tuple[str, str]:
    """With the answer model installed (or ``KURA_LLM_PATH``): load it and generate."""
    from desktop_app.core.answer.llm import make_llm
    from desktop_app.core.answer.settings import LLMSettings, llm_path

    path = llm_path()
    if not path.is_file():
        raise Skip(f"no answer model at {path}")
    engine = make_llm(LLMSettings(n_ctx=512, remote_url=None))  # this machine's llama.cpp
    try:
        generation = engine.generate("Libraries keep books and", max_tokens=8)
        text = generation.text()
        stats = generation.stats
    finally:
        engine.close()
    if stats.completion_tokens < 1:
        raise RuntimeError("the model generated nothing")
    speed = f"{stats.tokens_per_s:.1f} tokens/s" if stats.tokens_per_s else "?"
    return "", f"{path.name}: {stats.completion_tokens} tokens at {speed}: {text.strip()!r}"


def check_search_model() -> tuple[str, str]:
    """With the embedder installed (or ``KURA_EMBEDDER_DIR``): embed a query."""
    import numpy as np

    from desktop_app.core.embedder import Embedder, resolve_compute
    from desktop_app.core.paths import embedder_dir

    folder = embedder_dir()
    if not (folder / "tokenizer.json").is_file():
        raise Skip(f"no search model in {folder}")
    embedder = Embedder(folder)
    vectors = embedder.embed_queries(["Where is the handbook?"])
    norm = float(np.linalg.norm(vectors[0]))
    if vectors.shape[0] != 1 or abs(norm - 1.0) > 1e-3:
        raise RuntimeError(f"unexpected embedding: shape {vectors.shape}, norm {norm:.4f}")
    # A build that lost what the int8 rewrite needs (onnx) would silently run ~1.7x slower.
    if resolve_compute("auto") == "int8" and embedder.compute != "int8":
        raise RuntimeError("this CPU supports int8 compute but the embedder fell back to fp32")
    return "", f"{folder.name}: a {vectors.shape[1]}-d vector, {embedder.compute} compute"


def check_sqlite() -> tuple[str, str]:
    import sqlite3

    with sqlite3.connect(":memory:") as db:
        db.execute("CREATE VIRTUAL TABLE t USING fts5(body)")
        db.execute("INSERT INTO t VALUES ('kura finds passages')")
        assert db.execute("SELECT count(*) FROM t WHERE t MATCH 'passages'").fetchone()[0] == 1
    db.close()
    return sqlite3.sqlite_version, "FTS5"


def check_pdfium() -> tuple[str, str]:
    import pypdfium2
    from pypdfium2 import version

    pdf = pypdfium2.PdfDocument.new()
    pdf.new_page(200, 200)
    assert len(pdf) == 1
    pdf.close()
    return str(version.PYPDFIUM_INFO), f"PDFium {version.PDFIUM_INFO}"


def check_readers() -> tuple[str, str]:
    """Every format's reader and the libraries its row lists, and watch mode's watchdog."""
    # Importing the table imports every reader, and so every library a reader needs.
    from desktop_app.core.ingest.formats import FORMATS, Library

    libraries = dict.fromkeys(library for row in FORMATS for library in row.libraries)
    found = []
    for library in (*libraries, Library("watchdog", "watchdog.observers")):
        imported = importlib.import_module(library.module)
        found.append(f"{library.distribution} {_version(imported, library.distribution)}")
    return "", "; ".join(found)


def _ocr_missing() -> str:
    """What keeps OCR from running here (empty: nothing), without importing anything."""
    import importlib.util

    from desktop_app.core.ocr import bundle

    if bundle.available():
        return ""
    missing = [name for name in bundle.LIBRARIES if importlib.util.find_spec(name) is None]
    folder = bundle.models_dir()
    if folder is not None:
        files = [folder / name for name in bundle.MODEL_FILES]
        missing += [str(path) for path in (*files, folder.parent / bundle.IMPORT_DATA)
                    if not path.is_file()]
    return ", ".join(missing) or "?"


def check_ocr() -> tuple[str, str]:
    """OCR of scanned pages and images (``desktop_app/core/ocr``): rapidocr's three models
    load on onnxruntime and read the English and the Chinese line of ``ocr_sample()``,
    through OpenCV, pyclipper and shapely."""
    missing = _ocr_missing()
    if missing:
        raise RuntimeError(f"OCR cannot run, missing: {missing}")

    import cv2

    from desktop_app.core.ocr import OcrEngine
    from desktop_app.core.ocr.bundle import rapidocr_version

    start = time.perf_counter()
    engine = OcrEngine(threads=1)
    loaded = time.perf_counter()
    lines = [line.text for line in engine.read(ocr_sample()).lines]
    done = time.perf_counter()
    unread = _not_read_back(lines)
    if unread:
        raise RuntimeError(f"OCR read {lines!r} where {unread!r} was drawn")
    read = " and ".join(repr(text) for text in lines)
    return rapidocr_version(), (f"read {read} in {done - loaded:.2f} s (models loaded in "
                                f"{loaded - start:.2f} s); {engine.engine_id}; "
                                f"OpenCV {cv2.__version__}")


def check_https() -> tuple[str, str]:
    """Model downloads need CA certificates that Python's OpenSSL can find."""
    import ssl

    context = ssl.create_default_context()
    count = context.cert_store_stats()["x509_ca"]
    paths = ssl.get_default_verify_paths()
    where = os.environ.get("SSL_CERT_FILE") or paths.cafile or paths.capath or "?"
    if count == 0 and not (paths.capath and Path(paths.capath).is_dir()):
        raise Warn(f"no CA certificates found ({where}): model downloads would fail; "
                   "importing model files still works")
    return ssl.OPENSSL_VERSION.split()[1], f"{count or 'lazy-loaded'} CA certificates ({where})"


def check_qt() -> tuple[str, str]:
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import QLibraryInfo, qVersion
    from PySide6.QtWidgets import QApplication, QLabel

    from desktop_app.gui.theme import app_icon, apply_theme, assets_dir

    _choose_platform()
    app = QApplication.instance() or QApplication(["kura", "--selftest"])
    assert isinstance(app, QApplication)
    folder = assets_dir()
    if folder is None:
        raise RuntimeError("assets/ (icon and style sheets) not found")
    scheme = apply_theme(app, "light")
    if not app.styleSheet():
        raise RuntimeError(f"style sheet {folder}/style/{scheme}.qss not loaded")
    label = QLabel("Kura")
    label.setWindowIcon(app_icon())
    if label.windowIcon().isNull():
        raise RuntimeError("the icon did not load")
    label.adjustSize()
    assert label.width() > 0
    label.deleteLater()
    detail = (f"Qt {qVersion()}, platform {app.platformName()}; "
              f"plugins {QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)}")
    return pyside_version, detail


def check_qt_display_plugin() -> tuple[str, str]:
    """Linux: can Qt's X11 plugin load (all its system libraries present)?"""
    from PySide6.QtCore import QLibrary, QLibraryInfo

    from desktop_app.gui.system_libraries import unresolved_libraries

    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    found = []
    for name, lib in (("xcb", "libqxcb.so"), ("wayland", "libqwayland.so")):
        path = plugins / lib
        if not path.exists():
            continue
        library = QLibrary(str(path))
        if not library.load():
            message = f"the {name} platform plugin does not load: {library.errorString()}"
            if name == "xcb":
                missing = unresolved_libraries(path, library.errorString())
                if missing.libraries:
                    message = f"the xcb platform plugin does not load: {missing.advice()}"
                # The window needs it on X11 (and on most Wayland desktops, via XWayland).
                # No display here means no window is wanted: a caveat, not a failure.
                if os.environ.get("DISPLAY"):
                    raise RuntimeError(message)
                raise Warn(message)
            continue
        found.append(name)
    if not found:
        raise RuntimeError(f"no display platform plugin in {plugins}")
    return "", f"loads: {', '.join(found)}"


def _choose_platform() -> None:
    if os.environ.get("QT_QPA_PLATFORM"):
        return
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def check_window_modules() -> tuple[str, str]:
    """Every module of the window imports (a bundle missing a hidden import fails here)."""
    import pkgutil

    import desktop_app.gui as gui

    names = [m.name for m in pkgutil.iter_modules(gui.__path__)]
    for name in names:
        importlib.import_module(f"desktop_app.gui.{name}")
    importlib.import_module("desktop_app.core.answer")
    importlib.import_module("desktop_app.core.library")
    return "", f"{len(names)} window modules"


CHECKS: list[tuple[str, Callable[[], tuple[str, str]]]] = [
    ("Python", check_python),
    ("Kura", check_kura),
    ("numpy", check_numpy),
    ("onnxruntime", check_onnxruntime),
    ("tokenizers", check_tokenizers),
    ("semantic-text-splitter", check_chunker),
    ("reading worker", check_reading_worker),
    ("hnswlib", check_hnswlib),
    ("llama.cpp", check_llama_cpp),
    ("answer model", check_answer_model),
    ("search model", check_search_model),
    ("SQLite", check_sqlite),
    ("PDFium", check_pdfium),
    ("document readers", check_readers),
    ("OCR", check_ocr),
    ("HTTPS", check_https),
    ("Qt", check_qt),
    ("window modules", check_window_modules),
]
if sys.platform.startswith("linux"):
    CHECKS.insert(CHECKS.index(("Qt", check_qt)) + 1, ("Qt display", check_qt_display_plugin))


def run_checks(checks: Sequence[tuple[str, Callable[[], tuple[str, str]]]] = tuple(CHECKS),
               ) -> list[Check]:
    results = []
    for name, fn in checks:
        try:
            version, detail = fn()
            results.append(Check(name, "ok", version, detail))
        except Warn as warning:
            results.append(Check(name, "warn", "", str(warning)))
        except Skip as skipped:
            results.append(Check(name, "skip", "", str(skipped)))
        except BaseException as exc:  # a check may die any way at all: report, go on
            if isinstance(exc, KeyboardInterrupt):
                raise
            results.append(Check(name, "fail", "", f"{type(exc).__name__}: {exc}"))
            _log.error("selftest: %s failed", name, exc_info=exc)
    return results


def format_report(results: Sequence[Check]) -> str:
    width = max(len(c.name) for c in results)
    vwidth = max(len(c.version) for c in results)
    lines = [f"{'':4} {'component':<{width}}  {'version':<{vwidth}}  detail"]
    for c in results:
        mark = {"ok": "ok", "warn": "WARN", "fail": "FAIL", "skip": "--"}[c.status]
        lines.append(f"{mark:<4} {c.name:<{width}}  {c.version:<{vwidth}}  {c.detail}")
    failed = [c.name for c in results if c.status == "fail"]
    lines.append(f"selftest: {'FAILED: ' + ', '.join(failed) if failed else 'all loaded'}")
    return "\n".join(lines)


def _print(report: str) -> None:
    """Print even where stdout's encoding has no Chinese (the OCR line; a console or a
    redirect in a legacy code page): what it cannot show is escaped."""
    try:
        print(report, flush=True)
    except UnicodeEncodeError:
        encoding = getattr(sys.stdout, "encoding", None) or "ascii"
        print(report.encode(encoding, "backslashreplace").decode(encoding), flush=True)


def main(checks: Sequence[tuple[str, Callable[[], tuple[str, str]]]] = tuple(CHECKS)) -> int:
    """Print the report; 0 when nothing failed, 1 otherwise."""
    results = run_checks(checks)
    report = format_report(results)
    _log.info("selftest report:\n%s", report)
    if sys.stdout is not None:  # None in a windowed build on Windows: the log has it
        _print(report)
    return 1 if any(c.status == "fail" for c in results) else 0

