"""What the PyInstaller bundle takes in and leaves out (packaging/bundle_rules.py and
packaging/kura.spec), checked against what Kura's code actually imports."""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.samples import REPO

PACKAGING = REPO / "packaging"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


rules = _load("kura_bundle_rules", PACKAGING / "bundle_rules.py")


def _imports_of(package: Path) -> set[str]:
    """Every module name imported anywhere in ``package`` (also inside functions)."""
    names: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
    return names


def _excluded(module: str) -> bool:
    return any(module == ex or module.startswith(ex + ".") for ex in rules.EXCLUDES)


def test_nothing_kura_imports_is_excluded() -> None:
    imported = _imports_of(REPO / "desktop_app")
    assert not sorted(m for m in imported if _excluded(m))


def test_qt_modules_kura_uses_are_kept_and_the_rest_excluded() -> None:
    used = {m.split(".")[1] for m in _imports_of(REPO / "desktop_app")
            if m.startswith("PySide6.")}
    assert used <= set(rules.QT_MODULES_USED), used
    for name in rules.QT_MODULES_USED:
        assert f"PySide6.{name}" not in rules.EXCLUDES
    for name in ("QtQuick", "QtQml", "QtNetworkAuth", "QtPdf", "QtWebEngineCore", "QtOpenGL"):
        assert f"PySide6.{name}" in rules.EXCLUDES


def test_tooling_never_ships() -> None:
    for name in ("torch", "transformers", "sentence_transformers", "pytest", "onnxscript",
                 "models", "benchmarks", "tests", "llama_cpp.server"):
        assert _excluded(name), name


@pytest.mark.parametrize("dest", [
    "PySide6/Qt/lib/libQt6Core.so.6",
    "PySide6/Qt/lib/libQt6Gui.so.6",
    "PySide6/Qt/lib/libQt6Widgets.so.6",
    "PySide6/Qt/lib/libQt6DBus.so.6",
    "PySide6/Qt/lib/libQt6XcbQpa.so.6",
    "PySide6/Qt/lib/libQt6Svg.so.6",
    "PySide6/Qt/lib/libicudata.so.73",
    "PySide6/Qt/plugins/platforms/libqxcb.so",
    "PySide6/Qt/plugins/platforms/libqwayland.so",
    "PySide6/Qt/plugins/platforms/libqoffscreen.so",
    "PySide6/Qt/plugins/platformthemes/libqxdgdesktopportal.so",
    "PySide6/Qt/plugins/platforminputcontexts/libibusplatforminputcontextplugin.so",
    "PySide6/Qt/plugins/imageformats/libqsvg.so",
    "PySide6/plugins/platforms/qwindows.dll",  # Windows layout
    "PySide6/Qt6Widgets.dll",
    "PySide6/Qt/plugins/platforms/libqcocoa.dylib",  # macOS layout
    "llama_cpp/lib/libllama.so",
    "llama_cpp/lib/libggml.so.0",
    "llama_cpp/lib/libggml-cpu-haswell.so",
    "onnxruntime/capi/libonnxruntime.so.1.32.0",
    # OCR: OpenCV (headless), its libraries, pyclipper, shapely and GEOS
    "cv2/cv2.abi3.so",
    "cv2/cv2.pyd",
    "opencv_python_headless.libs/libopenblasp-r0-59ffcd50.3.15.so",
    "opencv_python_headless.libs/libavif-24bb8032.so.16.4.2",
    "opencv_python_headless.libs/libavcodec-e863e0e1.so.63.1.102",  # stubbed, not dropped
    "libpng16-802956e1.so.16.59.0",  # PyInstaller's link to it in the top folder
    "pyclipper/_pyclipper.cpython-311-x86_64-linux-gnu.so",
    "shapely/lib.cpython-311-x86_64-linux-gnu.so",
    "shapely.libs/libgeos_c-ac38a227.so.1.20.5",
    "Shapely.libs/geos_c-4f9a3fa1.dll",
])
def test_kept(dest: str) -> None:
    assert rules.keep_binary(dest)


@pytest.mark.parametrize("dest", [
    "PySide6/Qt/lib/libQt6Quick.so.6",
    "PySide6/Qt/lib/libQt6Qml.so.6",
    "PySide6/Qt/lib/libQt6Pdf.so.6",
    "PySide6/Qt/lib/libQt6VirtualKeyboard.so.6",
    "PySide6/Qt/lib/libQt6NetworkAuth.so.6",
    "PySide6/Qt6Quick.dll",
    "PySide6/Qt/plugins/platforms/libqeglfs.so",
    "PySide6/Qt/plugins/platforms/libqvnc.so",
    "PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so",
    "PySide6/Qt/plugins/imageformats/libqjpeg.so",
    "PySide6/Qt/plugins/imageformats/libqpdf.so",
    "PySide6/Qt/plugins/sqldrivers/libqsqlite.so",
    "PySide6/Qt/plugins/tls/libqopensslbackend.so",
    "PySide6/Qt/plugins/qmltooling/libqmldbg_debugger.so",
    "llama_cpp/lib/libllama.so.0.5.0",  # the third copy of each library
    # the non-headless opencv-python's own Qt 5 must never load beside PySide6
    "opencv_python.libs/libQt5Core-39545cc7.so.5.15.13",
    "libQt5Gui-48abc.so.5.15.13",
    "cv2/qt/plugins/platforms/libqxcb.so",
    "cv2/opencv_videoio_ffmpeg4110_64.dll",  # OpenCV's video plugin (Windows)
])
def test_dropped(dest: str) -> None:
    assert not rules.keep_binary(dest)


def test_translations_and_stubs_are_dropped() -> None:
    assert not rules.keep_data("PySide6/Qt/translations/qtbase_de.qm")
    assert not rules.keep_data("PySide6/QtCore.pyi")
    assert not rules.keep_data("cv2/qt/fonts/DejaVuSans.ttf")
    assert rules.keep_data("desktop_app/core/model_files/catalog.json")
    assert rules.keep_data("assets/style/dark.qss")
    for path in rules.OCR_DATA:
        assert rules.keep_data(f"rapidocr/{path}"), path
    assert rules.keep_data("cv2/config-3.py")  # OpenCV's loader reads it


def test_ocr_data_is_the_files_ocr_reads() -> None:
    """The spec collects ``OCR_DATA`` from rapidocr: the three model files Kura opens by
    path and the catalogue rapidocr loads at import, which all exist in its wheel."""
    from desktop_app.core.ocr import bundle

    assert rules.OCR_PACKAGE == "rapidocr"
    assert set(rules.OCR_DATA) == {*(f"models/{name}" for name in bundle.MODEL_FILES),
                                   bundle.IMPORT_DATA}
    folder = bundle.models_dir()
    assert folder is not None
    for path in rules.OCR_DATA:
        assert (folder.parent / path).is_file(), path


_OCR_AT_WORK = """
import json, sys
from pathlib import Path
import rapidocr
package = Path(rapidocr.__file__).parent
opened = set()
def audit(event, args):
    path = args[0] if event == "open" else None
    if isinstance(path, str) and path.startswith(str(package)) \
            and not path.endswith((".py", ".pyc")):  # code: the analysis collects it
        opened.add(Path(path).relative_to(package).as_posix())
sys.addaudithook(audit)
from desktop_app.core.ocr import OcrEngine
from desktop_app.gui.selftest import ocr_sample
lines = [line.text for line in OcrEngine(threads=1).read(ocr_sample()).lines]
print(json.dumps({"opened": sorted(opened), "lines": lines,
                  "modules": sorted({name.split(".")[0] for name in sys.modules})}))
"""


def test_what_ocr_opens_and_imports_is_in_the_bundle(tmp_path: Path) -> None:
    """OCR at work (a fresh process: the engine built, a page read): every file of
    rapidocr's package it opens from Python is in ``OCR_DATA`` (the model files are opened
    by onnxruntime, from ``bundle.MODEL_FILES``: see the test above), and no module it
    imports is excluded (PyYAML once was, as dead weight, until omegaconf needed it)."""
    run = subprocess.run([sys.executable, "-c", _OCR_AT_WORK], capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.splitlines()[-1])
    assert seen["lines"], seen  # it did read
    assert set(seen["opened"]) <= set(rules.OCR_DATA), seen["opened"]
    assert "default_models.yaml" in seen["opened"]
    for name in ("rapidocr", "cv2", "pyclipper", "shapely", "omegaconf", "yaml"):
        assert name in seen["modules"], name
    assert not [name for name in seen["modules"] if _excluded(name)]


def test_kura_never_opens_a_video_with_opencv() -> None:
    """The Linux package replaces OpenCV's FFmpeg with stubs that abort when called
    (packaging/opencv_stubs.py): Kura's code must call none of OpenCV's video I/O."""
    video = re.compile(r"\b(VideoCapture|VideoWriter|videoio|CAP_FFMPEG|CAP_ANY)\b")
    for path in (REPO / "desktop_app").rglob("*.py"):
        assert not video.search(path.read_text(encoding="utf-8")), path


def test_every_reader_library_reports_a_version_in_the_bundle() -> None:
    """The selftest reports each reader library's version from ``__version__`` or, failing
    that, its distribution's metadata, which the bundle carries only for ``METADATA``."""
    import importlib

    from desktop_app.core.ingest.formats import FORMATS

    carried = {re.sub(r"[-_.]+", "_", name).lower() for name in rules.METADATA}
    for library in {library for row in FORMATS for library in row.libraries}:
        module = importlib.import_module(library.module)
        if any(isinstance(getattr(module, attr, None), str)
               for attr in ("__version__", "VERSION", "version")):
            continue
        assert re.sub(r"[-_.]+", "_", library.distribution).lower() in carried, library


def test_kura_does_not_translate_qt_itself() -> None:
    """Qt's translations are dropped because nothing loads them."""
    for path in (REPO / "desktop_app").rglob("*.py"):
        assert "QTranslator" not in path.read_text(encoding="utf-8"), path


def test_spec_takes_in_what_the_app_needs() -> None:
    spec = (PACKAGING / "kura.spec").read_text(encoding="utf-8")
    for needed in ('"assets"', '"assets/icons"', '"assets/style"',
                   'collect_data_files("desktop_app.core.model_files"',
                   'collect_data_files("certifi")', 'collect_dynamic_libs("llama_cpp")',
                   "collect_data_files(OCR_PACKAGE, includes=list(OCR_DATA))",
                   "stub_video_libraries(",
                   "kura_runtime.py", "kura_entry.py", "exclude_binaries=True",
                   'name="Kura.app"', "info_plist="):
        assert needed in spec, needed
    assert "onefile" not in spec.lower().replace("one file", "")
    assert "kura" in rules.METADATA  # the About box reads the version from it
    assert "rapidocr" in rules.METADATA  # the selftest's version: no __version__
    for path in re.findall(r'REPO / "assets" / "icons" / "([^"]+)"', spec):
        assert (REPO / "assets" / "icons" / path).is_file(), path
    for name in ("kura.icns", "kura.ico", "kura-256.png"):
        assert (REPO / "assets" / "icons" / name).is_file()


def _checker() -> ModuleType:
    sys.path.insert(0, str(PACKAGING))  # check_bundle imports opencv_stubs beside it
    try:
        return _load("kura_check_bundle", PACKAGING / "check_bundle.py")
    finally:
        sys.path.remove(str(PACKAGING))


def test_model_files_are_never_packaged() -> None:
    checker = _checker()
    for path in ("models/embeddinggemma-300m/model.onnx", "x/gemma-3-4b-it-Q4_K_M.gguf",
                 "torch/lib/libtorch.so", "PySide6/Qt/translations/qt_zh_CN.qm",
                 "opencv_python.libs/libQt5Core-39545cc7.so.5.15.13",
                 "cv2/qt/plugins/platforms/libqxcb.so",
                 "cv2/opencv_videoio_ffmpeg4110_64.dll"):
        assert checker.FORBIDDEN.search(path), path
    for path in ("onnxruntime/capi/libonnxruntime.so.1.32.0", "assets/kura.svg",
                 "desktop_app/core/model_files/catalog.json", "cv2/cv2.abi3.so",
                 "PySide6/Qt/lib/libQt6Core.so.6"):
        assert not checker.FORBIDDEN.search(path), path


def test_the_ocr_models_are_the_only_model_files_packaged(tmp_path: Path) -> None:
    """check_bundle.py lets exactly OCR's three models through its ban on model files,
    wants them and rapidocr's catalogue, and wants OpenCV's FFmpeg as stubs only."""
    from desktop_app.core.ocr import bundle

    checker = _checker()
    assert set(checker.OCR_MODELS) == {f"rapidocr/models/{name}" for name in bundle.MODEL_FILES}
    assert f"rapidocr/{bundle.IMPORT_DATA}" in checker.MUST_HAVE
    app = tmp_path / "Kura"
    root = app / "_internal"
    for rel in (*checker.OCR_MODELS, "rapidocr/models/PP-OCRv5_rec_server.onnx"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"onnx")
    ffmpeg = root / "opencv_python_headless.libs" / "libavcodec-e863e0e1.so.63.1.102"
    ffmpeg.parent.mkdir()
    ffmpeg.write_bytes(b"\0" * (checker.STUB_MAX_BYTES + 1))  # not ELF: ldd ignores it
    errors = checker.check(app)
    assert "must not be bundled: rapidocr/models/PP-OCRv5_rec_server.onnx" in errors
    assert not [e for e in errors if "PP-OCRv6" in e or "cls_mobile" in e], errors
    assert f"missing rapidocr/{bundle.IMPORT_DATA}" in errors
    assert "missing OpenCV (OCR) (cv2/cv2*)" in errors
    if sys.platform.startswith("linux"):
        assert any("libavcodec" in e and "real FFmpeg" in e for e in errors), errors


def test_desktop_entry() -> None:
    text = (PACKAGING / "linux" / "kura.desktop").read_text(encoding="utf-8")
    entry = dict(line.split("=", 1) for line in text.splitlines()[1:] if "=" in line)
    assert text.splitlines()[0] == "[Desktop Entry]"
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Kura"
    assert entry["Exec"].split()[0] == "kura"
    assert entry["Icon"] == "kura"
    assert entry["Terminal"] == "false"
    assert "Office" in entry["Categories"].split(";")


def test_scripts_are_executable_and_strict() -> None:
    for name in ("build_linux.sh", "ci.sh", "linux/gui_smoke.sh", "linux/AppRun",
                 "linux/install-desktop-entry.sh", "build_macos.sh"):
        path = PACKAGING / name
        assert path.stat().st_mode & 0o111, f"{name} is not executable"
        head = path.read_text(encoding="utf-8")
        assert "set -e" in head, f"{name} does not stop at the first error"


def test_version_is_the_same_everywhere() -> None:
    from desktop_app import __version__

    info = (PACKAGING / "windows" / "version_info.txt").read_text(encoding="utf-8")
    assert f"StringStruct('ProductVersion', '{__version__}')" in info
    numbers = (*(int(n) for n in __version__.split(".")), 0)
    assert f"filevers={numbers}" in info
    assert f'#define AppVersion "{__version__}"' in (PACKAGING / "kura.iss").read_text()
