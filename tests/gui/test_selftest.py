"""``kura-app --selftest``: every native part loads, versions are reported, a failure
names what failed and exits 1."""

from __future__ import annotations

import importlib.metadata
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop_app.gui import selftest


def test_every_check_passes_here(qapp) -> None:
    results = selftest.run_checks()
    failed = [c for c in results if c.status == "fail"]
    assert not failed, selftest.format_report(results)
    by_name = {c.name: c for c in results}
    assert by_name["onnxruntime"].version == importlib.metadata.version("onnxruntime")
    assert by_name["llama.cpp"].version == importlib.metadata.version("llama_cpp_python")
    assert by_name["hnswlib"].version == importlib.metadata.version("hnswlib")
    assert by_name["Qt"].version == importlib.metadata.version("PySide6_Essentials")
    assert "CPU" in by_name["llama.cpp"].detail  # the CPU backend is registered
    assert "FTS5" in by_name["SQLite"].detail
    assert by_name["reading worker"].detail == "a note and a scan (by OCR) read in a worker process"
    assert by_name["OCR"].version == importlib.metadata.version("rapidocr")
    assert "'Kura reads scanned pages' and '扫描件也能搜索'" in by_name["OCR"].detail


def test_a_failing_check_is_named_and_exits_1(capsys) -> None:
    def broken() -> tuple[str, str]:
        raise OSError("libggml-cpu.so: cannot open shared object file")

    def fine() -> tuple[str, str]:
        return "1.2.3", "works"

    def caveat() -> tuple[str, str]:
        raise selftest.Warn("no CA certificates")

    code = selftest.main([("fine", fine), ("llama.cpp", broken), ("HTTPS", caveat)])
    out = capsys.readouterr().out
    assert code == 1
    assert "ok   fine" in out and "1.2.3" in out
    assert "FAIL llama.cpp" in out and "cannot open shared object file" in out
    assert "WARN HTTPS" in out
    assert out.rstrip().endswith("selftest: FAILED: llama.cpp")


def test_model_checks_skip_without_models_and_run_with_them(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("KURA_LLM_PATH", str(tmp_path / "none.gguf"))
    monkeypatch.setenv("KURA_EMBEDDER_DIR", str(tmp_path / "none"))
    results = selftest.run_checks([("answer model", selftest.check_answer_model),
                                   ("search model", selftest.check_search_model)])
    assert [c.status for c in results] == ["skip", "skip"]
    assert "--   answer model" in selftest.format_report(results)


@pytest.mark.slow
def test_model_checks_load_real_models(monkeypatch, embedder_dir) -> None:
    from models.small_llm import gguf_270m

    monkeypatch.setenv("KURA_LLM_PATH", str(gguf_270m()))
    monkeypatch.setenv("KURA_EMBEDDER_DIR", str(embedder_dir))
    results = selftest.run_checks([("answer model", selftest.check_answer_model),
                                   ("search model", selftest.check_search_model)])
    assert [c.status for c in results] == ["ok", "ok"], selftest.format_report(results)
    assert "tokens at" in results[0].detail
    assert "768-d vector" in results[1].detail
    from desktop_app.core.embedder import resolve_compute
    assert f"{resolve_compute('auto')} compute" in results[1].detail  # int8 where VNNI


def test_search_model_check_fails_when_int8_compute_is_lost(monkeypatch, embedder_dir) -> None:
    """A packaged app missing what the int8 rewrite needs must not pass as healthy."""
    import desktop_app.core.embedder as embedder_module

    monkeypatch.setenv("KURA_EMBEDDER_DIR", str(embedder_dir))
    monkeypatch.setattr(embedder_module, "cpu_flags", lambda: frozenset({"avx512_vnni"}))
    monkeypatch.setattr(embedder_module, "int8_compute_model", lambda _graph: None)
    (result,) = selftest.run_checks([("search model", selftest.check_search_model)])
    assert result.status == "fail" and "fell back to fp32" in result.detail


def test_ocr_check_reads_english_and_chinese() -> None:
    """In-process, as the packaged app runs it: the engine loads rapidocr's models and
    reads both lines of the sample page (the Chinese one needs no CJK font here)."""
    from desktop_app.core.ocr.bundle import rapidocr_version

    start = time.perf_counter()
    version, detail = selftest.check_ocr()
    elapsed = time.perf_counter() - start
    assert version == rapidocr_version() == importlib.metadata.version("rapidocr")
    assert detail.startswith("read 'Kura reads scanned pages' and '扫描件也能搜索' in ")
    assert "models loaded in" in detail and f"rapidocr-{version}+kura." in detail
    assert "OpenCV " in detail
    assert elapsed < 10, detail  # ~0.7 s here; the whole selftest is meant to be quick


def test_ocr_sample_needs_no_font_of_the_system() -> None:
    """The Chinese line is a stored bitmap, the English one Pillow's own font."""
    import base64
    import io

    from PIL import Image

    chinese = Image.open(io.BytesIO(base64.b64decode(selftest.OCR_CHINESE_PNG)))
    assert chinese.mode == "1" and chinese.size == (232, 40)
    page = selftest.ocr_sample()
    assert page.mode == "L" and page.width > chinese.width and page.height >= 2 * 40
    assert page.getextrema() == (0, 255)


def test_ocr_check_names_what_is_missing(monkeypatch, tmp_path) -> None:
    from desktop_app.core.ocr import bundle

    (tmp_path / "models").mkdir()
    monkeypatch.setattr(bundle, "models_dir", lambda: tmp_path / "models")
    (result,) = selftest.run_checks([("OCR", selftest.check_ocr)])
    assert result.status == "fail"
    for name in (*bundle.MODEL_FILES, bundle.IMPORT_DATA):
        assert name in result.detail


def test_ocr_check_fails_when_the_text_does_not_come_back(monkeypatch) -> None:
    from PIL import Image

    monkeypatch.setattr(selftest, "ocr_sample", lambda: Image.new("L", (400, 150), 255))
    (result,) = selftest.run_checks([("OCR", selftest.check_ocr)])
    assert result.status == "fail"
    assert "OCR read [] where 'Kura reads scanned pages' was drawn" in result.detail


def test_report_prints_where_stdout_has_no_chinese(monkeypatch) -> None:
    """A console or a redirect in a legacy code page cannot show the OCR line's Chinese:
    the report is printed escaped instead of failing the selftest."""
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="ascii"))
    code = selftest.main([("OCR", lambda: ("3.10.0", "read '扫描件'"))])
    sys.stdout.flush()
    out = raw.getvalue().decode("ascii")
    assert code == 0
    assert "read '\\u626b\\u63cf\\u4ef6'" in out
    assert "selftest: all loaded" in out


def test_warnings_alone_pass(capsys) -> None:
    def caveat() -> tuple[str, str]:
        raise selftest.Warn("no display plugin")

    assert selftest.main([("Qt display", caveat)]) == 0
    assert "selftest: all loaded" in capsys.readouterr().out


def test_kura_app_selftest_from_the_dev_venv(tmp_path: Path) -> None:
    """The command itself, in a fresh process, without a display."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY",
                                                           "QT_QPA_PLATFORM")}
    env["KURA_HOME"] = str(tmp_path / "home")
    script = Path(sys.executable).with_name("kura-app")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "desktop_app.gui.app"]
    run = subprocess.run([*cmd, "--selftest"], env=env, capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    for name in ("onnxruntime", "llama.cpp", "hnswlib", "Qt", "numpy", "tokenizers", "OCR"):
        assert f"ok   {name}" in run.stdout
    assert "platform offscreen" in run.stdout  # no display: Qt went offscreen by itself
    assert "selftest: all loaded" in run.stdout
    log = (tmp_path / "home" / "logs" / "kura.log").read_text(encoding="utf-8")
    assert "selftest report" in log


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 plugin check")
def test_display_plugin_check_names_a_missing_library(monkeypatch) -> None:
    from PySide6.QtCore import QLibrary

    monkeypatch.setattr(QLibrary, "load", lambda self: False)
    monkeypatch.setattr(QLibrary, "errorString",
                        lambda self: "libxcb-cursor.so.0: cannot open shared object file")
    # No ldd: the loader's own message is all there is to go on.
    monkeypatch.setattr("desktop_app.gui.system_libraries.shutil.which", lambda name: None)
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(selftest.Warn, match="libxcb-cursor"):
        selftest.check_qt_display_plugin()
    monkeypatch.setenv("DISPLAY", ":99")
    with pytest.raises(RuntimeError, match=r"apt-get install libxcb-cursor0.*dnf install "
                                           r"xcb-util-cursor"):
        selftest.check_qt_display_plugin()
