"""What the PyInstaller bundle takes in and leaves out (packaging/bundle_rules.py and
packaging/kura.spec), checked against what Kura's code actually imports."""

from __future__ import annotations

import ast
import importlib.util
import re
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
])
def test_dropped(dest: str) -> None:
    assert not rules.keep_binary(dest)


def test_translations_and_stubs_are_dropped() -> None:
    assert not rules.keep_data("PySide6/Qt/translations/qtbase_de.qm")
    assert not rules.keep_data("PySide6/QtCore.pyi")
    assert rules.keep_data("desktop_app/core/model_files/catalog.json")
    assert rules.keep_data("assets/style/dark.qss")


def test_kura_does_not_translate_qt_itself() -> None:
    """Qt's translations are dropped because nothing loads them."""
    for path in (REPO / "desktop_app").rglob("*.py"):
        assert "QTranslator" not in path.read_text(encoding="utf-8"), path


def test_spec_takes_in_what_the_app_needs() -> None:
    spec = (PACKAGING / "kura.spec").read_text(encoding="utf-8")
    for needed in ('"assets"', '"assets/icons"', '"assets/style"',
                   'collect_data_files("desktop_app.core.model_files"',
                   'collect_data_files("certifi")', 'collect_dynamic_libs("llama_cpp")',
                   "kura_runtime.py", "kura_entry.py", "exclude_binaries=True",
                   'name="Kura.app"', "info_plist="):
        assert needed in spec, needed
    assert "onefile" not in spec.lower().replace("one file", "")
    assert "kura" in rules.METADATA  # the About box reads the version from it
    for path in re.findall(r'REPO / "assets" / "icons" / "([^"]+)"', spec):
        assert (REPO / "assets" / "icons" / path).is_file(), path
    for name in ("kura.icns", "kura.ico", "kura-256.png"):
        assert (REPO / "assets" / "icons" / name).is_file()


def test_model_files_are_never_packaged() -> None:
    checker = _load("kura_check_bundle", PACKAGING / "check_bundle.py")
    for path in ("models/embeddinggemma-300m/model.onnx", "x/gemma-3-4b-it-Q4_K_M.gguf",
                 "torch/lib/libtorch.so", "PySide6/Qt/translations/qt_zh_CN.qm"):
        assert checker.FORBIDDEN.search(path), path
    for path in ("onnxruntime/capi/libonnxruntime.so.1.32.0", "assets/kura.svg",
                 "desktop_app/core/model_files/catalog.json"):
        assert not checker.FORBIDDEN.search(path), path


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
