"""The packaged app's start-up pieces, run from the source checkout: the runtime hook
that loads llama.cpp's CPU backends, the CA-certificate fallback, and ``main`` writing
its log up to the shown window."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.samples import REPO

HOOK = REPO / "packaging" / "rthooks" / "kura_runtime.py"


def test_hook_leaves_llama_cpp_working(tmp_path: Path) -> None:
    """The import hook wraps ``llama_cpp.llama_cpp`` and, after it loaded, sees a CPU
    backend registered in the very libggml that libllama uses (a build that links the
    backend in, as the dev venv's, is left as it is)."""
    code = f"""
import runpy, sys
runpy.run_path({str(HOOK)!r})
import llama_cpp
from pathlib import Path
hook = next(f for f in sys.meta_path if type(f).__name__ == "_AfterLlamaLoads")
assert hook._inner is not None, "the hook never saw llama_cpp.llama_cpp"
llama_cpp.llama_backend_init()
info = llama_cpp.llama_print_system_info().decode()
assert info.startswith("CPU"), info
print("OK", info)
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("OK CPU")


def _hook_namespace() -> dict[str, object]:
    source = HOOK.read_text(encoding="utf-8")
    body = source.split("\nsys.meta_path.insert(0, _AfterLlamaLoads())")[0]
    namespace: dict[str, object] = {"__name__": "kura_runtime_test"}
    exec(compile(body, str(HOOK), "exec"), namespace)
    return namespace


def test_certifi_only_where_the_system_has_no_certificates(monkeypatch, tmp_path) -> None:
    certificates = _hook_namespace()["_certificates"]
    assert callable(certificates)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    certificates()  # this machine has its CA bundle: nothing changes
    assert "SSL_CERT_FILE" not in os.environ

    empty = ssl.DefaultVerifyPaths(str(tmp_path / "none.pem"), str(tmp_path / "certs"),
                                   "SSL_CERT_FILE", "", "SSL_CERT_DIR", "")
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: empty)
    if sys.platform == "win32":
        pytest.skip("Windows reads the system store itself")
    certificates()
    import certifi

    assert os.environ["SSL_CERT_FILE"] == certifi.where()


def test_main_logs_start_up_to_the_window(tmp_path: Path) -> None:
    """``python -m desktop_app.gui.app`` as a person starts it (offscreen): the log in
    the data dir says Kura started and its window is shown."""
    home = tmp_path / "home"
    env = dict(os.environ, KURA_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen([sys.executable, "-m", "desktop_app.gui.app"], env=env,
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    log = home / "logs" / "kura.log"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if log.exists() and "window shown" in log.read_text(encoding="utf-8"):
                break
            assert proc.poll() is None, proc.communicate()[0]
            time.sleep(0.1)
        else:
            pytest.fail("no 'window shown' in the log after 60 s")
    finally:
        proc.terminate()
        proc.wait(30)
    text = log.read_text(encoding="utf-8")
    assert "Kura 0.1.0 starting (from source)" in text
    assert "window shown: Answers from your own documents" in text
    assert "CRITICAL" not in text
    assert (home / "logs" / "faults.log").exists()
