"""Checks a built bundle (dist/Kura): what must be in it, what must not, that every
native library finds its dependencies, and prints its size per component.

    python packaging/check_bundle.py dist/Kura        (ci.sh runs this; exit 1 = broken)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from opencv_stubs import STUBBED

MB = 1024 * 1024

# The only model files the package carries: OCR's, inside rapidocr's wheel (~31 MB).
OCR_MODELS = (
    "rapidocr/models/PP-OCRv6_det_small.onnx",
    "rapidocr/models/PP-OCRv6_rec_small.onnx",
    "rapidocr/models/ch_ppocr_mobile_v2.0_cls_mobile.onnx",
)
MUST_HAVE = [
    "assets/kura.svg",
    "assets/icons/kura-256.png",
    "assets/style/light.qss",
    "assets/style/dark.qss",
    "desktop_app/core/model_files/catalog.json",
    "certifi/cacert.pem",
    # OCR: rapidocr's models, which Kura opens by path, and the model catalogue rapidocr
    # reads when imported (desktop_app/core/ocr/bundle.py: MODEL_FILES, IMPORT_DATA)
    *OCR_MODELS,
    "rapidocr/default_models.yaml",
]
MUST_HAVE_GLOBS = {
    "llama.cpp": "llama_cpp/lib/*llama*",
    "ggml": "llama_cpp/lib/*ggml-base*",
    "onnxruntime": "onnxruntime/capi/*onnxruntime*",
    "hnswlib": "hnswlib*",
    "Qt widgets": "PySide6/*Widgets*",
    "Kura's metadata (About box)": "kura-*.dist-info/METADATA",
    "OpenCV (OCR)": "cv2/cv2*",
    "pyclipper (OCR)": "pyclipper/*pyclipper*",
    "shapely (OCR)": "shapely/lib*",
    "rapidocr's metadata (selftest version)": "rapidocr-*.dist-info/METADATA",
}
LINUX_MUST_HAVE_GLOBS = {
    "Qt xcb platform": "PySide6/Qt/plugins/platforms/libqxcb.so",
    "Qt offscreen platform": "PySide6/Qt/plugins/platforms/libqoffscreen.so",
    "llama.cpp CPU variants": "llama_cpp/lib/libggml-cpu-*.so",
    "GEOS (shapely)": "shapely.libs/libgeos_c*",
}
# Never in the package: export/test tooling, unused Qt, model files.
FORBIDDEN = re.compile(
    r"(^|/)(torch|transformers|sentence_transformers|pytest|_pytest|pytestqt|mypy|"
    r"onnxscript|sklearn|scipy|IPython|tkinter|PyQt5|PyQt6|models|benchmarks|tests)(/|$)"
    r"|PySide6/Qt/translations/|libQt6(Quick|Qml|Pdf|VirtualKeyboard|WebEngine)"
    r"|\.(gguf|onnx|onnx_data|safetensors)$"
    # opencv-python's own Qt 5 (the non-headless wheel) and OpenCV's video plugin
    r"|(^|/)(lib)?Qt5|^cv2/qt/|opencv_videoio_ffmpeg")
# OpenCV's FFmpeg on Linux: stubs only (opencv_stubs.py), never the real libraries.
STUB_MAX_BYTES = 256 * 1024


def contents_dir(app: Path) -> Path:
    internal = app / "_internal"
    return internal if internal.is_dir() else app


def size(path: Path) -> int:
    if path.is_file() or path.is_symlink():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


def size_table(app: Path, top: int = 25) -> str:
    root = contents_dir(app)
    rows = sorted(((size(p), p.name) for p in root.iterdir()), reverse=True)
    total = size(app)
    lines = [f"{'component':<40} {'MB':>8}"]
    shown = rows[:top]
    for nbytes, name in shown:
        lines.append(f"{name:<40} {nbytes / MB:8.1f}")
    rest = sum(n for n, _ in rows[top:])
    if rest:
        lines.append(f"{f'{len(rows) - top} more':<40} {rest / MB:8.1f}")
    lines.append(f"{'total (' + app.name + ')':<40} {total / MB:8.1f}")
    return "\n".join(lines)


def missing_libraries(root: Path) -> dict[str, list[str]]:
    """ELF file -> the libraries ldd cannot find for it (Linux only)."""
    if not sys.platform.startswith("linux"):
        return {}
    env = dict(os.environ, LD_LIBRARY_PATH=str(root))
    problems: dict[str, list[str]] = {}
    for path in root.rglob("*.so*"):
        if not path.is_file() or path.is_symlink():
            continue
        out = subprocess.run(["ldd", str(path)], capture_output=True, text=True, env=env)
        gone = [line.split()[0] for line in out.stdout.splitlines() if "not found" in line]
        if gone:
            problems[str(path.relative_to(root))] = gone
    return problems


def with_debug_info(root: Path) -> list[str]:
    """ELF files that still carry debug sections (Linux: build_linux.sh strips them)."""
    if not sys.platform.startswith("linux"):
        return []
    found = []
    for path in sorted(root.rglob("*.so*")):
        if path.is_file() and not path.is_symlink():
            out = subprocess.run(["readelf", "-S", str(path)], capture_output=True, text=True)
            if ".debug_info" in out.stdout:
                found.append(str(path.relative_to(root)))
    return found


def check(app: Path) -> list[str]:
    errors = []
    exe = app / ("Kura.exe" if sys.platform == "win32" else "kura")
    if not exe.exists():
        errors.append(f"no executable {exe}")
    root = contents_dir(app)
    for rel in MUST_HAVE:
        if not (root / rel).exists():
            errors.append(f"missing {rel}")
    globs = dict(MUST_HAVE_GLOBS)
    if sys.platform.startswith("linux"):
        globs.update(LINUX_MUST_HAVE_GLOBS)
    for what, pattern in globs.items():
        if not list(root.glob(pattern)):
            errors.append(f"missing {what} ({pattern})")
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if FORBIDDEN.search(rel) and rel not in OCR_MODELS and rel != "rapidocr/models":
            errors.append(f"must not be bundled: {rel}")
    if sys.platform.startswith("linux"):
        for path in sorted(root.glob("opencv_python*.libs/*")):
            if STUBBED.match(path.name) and path.stat().st_size > STUB_MAX_BYTES:
                errors.append(f"{path.relative_to(root)} is OpenCV's real FFmpeg "
                              f"({path.stat().st_size / MB:.1f} MB), not the stub")
    for rel in with_debug_info(root):
        errors.append(f"{rel} still has its debug sections (build_linux.sh strips them)")
    optional: dict[str, int] = {}
    for lib, gone in missing_libraries(root).items():
        # Optional plugins may need what a desktop has and this machine lacks (GTK for
        # the GTK theme); Qt's Wayland parts run only in a Wayland session, which has the
        # Wayland libraries. The libraries Kura itself loads may need nothing missing.
        optional_plugin = "/plugins/" in lib and "/platforms/" not in lib
        if optional_plugin or "wayland" in lib.lower() or "WlShell" in lib:
            for name in set(gone):
                optional[name] = optional.get(name, 0) + 1
        else:
            errors.append(f"{lib} cannot find {', '.join(gone)}")
    for name, count in sorted(optional.items()):
        print(f"note: {count} optional Qt part(s) (Wayland, GTK theme) need {name} "
              "from the desktop system; not on this machine")
    return errors


def main(argv: list[str]) -> int:
    app = Path(argv[1] if len(argv) > 1 else "dist/Kura")
    print(size_table(app))
    variants = sorted(p.name for p in contents_dir(app).glob("llama_cpp/lib/*ggml-cpu*"))
    if variants:
        print(f"llama.cpp CPU backends: {len(variants)} ({', '.join(variants)})")
    errors = check(app)
    for error in errors:
        print(f"ERROR: {error}")
    print("bundle check:", "FAILED" if errors else "OK")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
