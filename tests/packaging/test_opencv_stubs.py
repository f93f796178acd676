"""packaging/opencv_stubs.py: OpenCV's FFmpeg replaced by stubs in the Linux package.

The real thing, on this machine's opencv-python-headless: the stubs are built from the
dev venv's cv2 exactly as kura.spec builds them from the packaging venv's, laid out as
PyInstaller lays out the bundle, and a fresh Python imports that cv2 and runs OCR with it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from tests.support.samples import REPO

PACKAGING = REPO / "packaging"
sys.path.insert(0, str(PACKAGING))
try:
    import opencv_stubs
finally:
    sys.path.remove(str(PACKAGING))

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not shutil.which("readelf")
    or not shutil.which(os.environ.get("CC", "cc")),
    reason="Linux stubs: needs readelf and a C compiler")


def test_stub_source_reports_and_aborts() -> None:
    symbols = {opencv_stubs.Symbol("av_frame_alloc", "LIBAVUTIL_61", "FUNC", 0),
               opencv_stubs.Symbol("av_log_level", "LIBAVUTIL_61", "OBJECT", 4)}
    source = opencv_stubs.stub_source("libavutil-9a3cc128.so.61", symbols)
    assert 'void av_frame_alloc(void) { kura_stub_called("av_frame_alloc"); }' in source
    assert "char av_log_level[4];" in source
    assert "abort();" in source and "libavutil-9a3cc128.so.61" in source
    assert opencv_stubs.version_script(symbols) == (
        "LIBAVUTIL_61 { global: av_frame_alloc; av_log_level; local: *; };\n")
    assert opencv_stubs.version_script({opencv_stubs.Symbol("f", None, "FUNC", 0)}) is None


def test_only_ffmpeg_is_stubbed() -> None:
    for name in ("libavcodec-e863e0e1.so.63.1.102", "libavformat-8812387e.so.63.1.102",
                 "libavutil-9a3cc128.so.61.1.102", "libswscale-e2f2e790.so.10.1.102"):
        assert opencv_stubs.STUBBED.match(name), name
    for name in ("libavif-24bb8032.so.16.4.2", "libopenblasp-r0-59ffcd50.3.15.so",
                 "libpng16-802956e1.so.16.59.0", "libaom-1d585c11.so.3.15.3"):
        assert not opencv_stubs.STUBBED.match(name), name


def test_nothing_to_stub_leaves_the_binaries_alone(tmp_path: Path) -> None:
    binaries = [("PySide6/Qt/lib/libQt6Core.so.6", "/x/libQt6Core.so.6", "BINARY")]
    kept, done = opencv_stubs.stub_video_libraries(binaries, tmp_path)
    assert kept == binaries and not done.stubs and not done.dropped
    assert done.describe() == "OpenCV: no video library to stub"


def _dev_opencv() -> tuple[Path, Path]:
    """The dev venv's cv2 package folder and its wheel's libraries folder."""
    spec = importlib.util.find_spec("cv2")
    assert spec is not None and spec.origin is not None
    package = Path(spec.origin).parent
    libs = package.parent / "opencv_python_headless.libs"
    if not libs.is_dir():
        pytest.skip(f"no {libs}: this OpenCV is not the manylinux wheel")
    return package, libs


def _analysis_binaries(package: Path, libs: Path) -> list[tuple[str, str, str]]:
    """OpenCV's part of ``Analysis.binaries`` as PyInstaller 6 makes it: the extension,
    each library in its wheel's folder, and a link to each in the top folder."""
    (extension,) = package.glob("cv2*.so")
    entries = [(f"cv2/{extension.name}", str(extension), "EXTENSION")]
    for lib in sorted(libs.iterdir()):
        entries.append((f"{libs.name}/{lib.name}", str(lib), "BINARY"))
        entries.append((lib.name, f"{libs.name}/{lib.name}", "SYMLINK"))
    return entries


def _lay_out(entries: list[tuple[str, str, str]], package: Path, root: Path) -> None:
    """The bundle's layout under ``root``: cv2's Python files copied, the extension
    copied (its RPATH, $ORIGIN/.., must find the stubs here), libraries linked."""
    shutil.copytree(package, root / "cv2", ignore=shutil.ignore_patterns("cv2*.so",
                                                                          "__pycache__"))
    for dest, src, kind in entries:
        target = root / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        if kind == "EXTENSION":
            shutil.copyfile(src, target)
        else:  # a library (absolute), or PyInstaller's link to one (relative to root)
            target.symlink_to(src)


_IN_THE_BUNDLE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import cv2, numpy as np
from desktop_app.core.ocr import OcrEngine
from desktop_app.gui.selftest import ocr_sample
lines = [line.text for line in OcrEngine(threads=1).read(ocr_sample()).lines]
ok, png = cv2.imencode(".png", np.full((16, 16, 3), 200, np.uint8))
ok_avif, avif = cv2.imencode(".avif", np.full((16, 16, 3), 200, np.uint8))
maps = open("/proc/self/maps").read()
print(json.dumps({
    "cv2": cv2.__file__, "lines": lines,
    "png": bool(ok) and cv2.imdecode(png, cv2.IMREAD_COLOR).shape == (16, 16, 3),
    "avif": bool(ok_avif) and cv2.imdecode(avif, cv2.IMREAD_COLOR).shape == (16, 16, 3),
    "mapped": sorted({line.split()[-1] for line in maps.splitlines()
                      if "libavcodec" in line or "libvpx" in line})}))
"""


@linux_only
def test_cv2_with_the_stubs_runs_ocr_and_aborts_on_video(tmp_path: Path) -> None:
    package, libs = _dev_opencv()
    entries = _analysis_binaries(package, libs)
    kept, done = opencv_stubs.stub_video_libraries(entries, tmp_path / "stubs")

    # What kura.spec gets back: FFmpeg's four libraries built here, what only they
    # needed (libvpx, dav1d, libswresample) gone with its links, the rest as it was.
    assert {PurePosixPath(name).name.split("-")[0] for name in done.stubs} == {
        "libavcodec", "libavformat", "libavutil", "libswscale"}
    assert {name.split("-")[0] for name in done.dropped} == {
        "libvpx", "libdav1d", "libswresample"}
    for dest, src, kind in kept:
        name = PurePosixPath(dest).name
        if kind == "SYMLINK":
            assert PurePosixPath(src).name not in done.dropped
        elif name in done.stubs:
            assert Path(src).is_relative_to(tmp_path / "stubs")
            assert Path(src).stat().st_size < 256 * 1024
            assert opencv_stubs.soname(Path(src)) == name
        else:
            assert name not in done.dropped and not src.startswith(str(tmp_path))
    assert done.saved_bytes() > 20 * 1024 * 1024
    assert "libavcodec" in done.describe() and "MiB saved" in done.describe()

    root = tmp_path / "bundle"
    _lay_out(kept, package, root)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    run = subprocess.run([sys.executable, "-c", _IN_THE_BUNDLE, str(root)], env=env,
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.splitlines()[-1])
    assert seen["cv2"].startswith(str(root))
    # the maps name files as resolved: FFmpeg's one loaded library is the stub
    assert seen["mapped"] == [str(tmp_path / "stubs" / name / name)
                              for name in sorted(done.stubs) if "libavcodec" in name]
    assert any("Kura reads scanned pages" in line for line in seen["lines"]), seen["lines"]
    assert any("扫描件也能搜索" in line for line in seen["lines"]), seen["lines"]
    assert seen["png"] and seen["avif"]  # image files still work: only video is gone

    video = subprocess.run(
        [sys.executable, "-c",
         f"import sys; sys.path.insert(0, {str(root)!r}); import cv2; "
         f"cv2.VideoCapture({str(tmp_path / 'clip.mp4')!r})"],
        env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert video.returncode == -6, video  # SIGABRT, with the reason on stderr
    assert "Kura: OpenCV called" in video.stderr and "leaves out (video" in video.stderr
