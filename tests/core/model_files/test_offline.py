"""Offline for good: the socket guard, and Kura's real work under it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.error import URLError

import pytest
from click.testing import CliRunner

from desktop_app.cli.models import models
from desktop_app.core.model_files.checksums import Expected
from desktop_app.core.model_files.downloader import download
from desktop_app.core.model_files.offline import OFFLINE_ENV, NetworkBlocked, socket_guard
from desktop_app.core.progress import run_quietly
from tests.support.model_server import ModelServer
from tests.support.toy_models import FAST, blob, sha256

TEST_NET = ("203.0.113.1", 443)  # TEST-NET-3 (RFC 5737): never routed, and never tried


def test_the_guard_raises_before_any_connection_is_made(
        monkeypatch: pytest.MonkeyPatch) -> None:
    reached: list[object] = []
    # What the guard would call to really connect: it must never be reached.
    monkeypatch.setattr(socket.socket, "connect", lambda _s, addr: reached.append(addr))
    monkeypatch.setattr(socket.socket, "connect_ex", lambda _s, addr: reached.append(addr))
    before = (socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo)
    with socket_guard() as log:
        for family, address in ((socket.AF_INET, TEST_NET), (socket.AF_INET6, ("2001:db8::1",
                                                                             443))):
            with socket.socket(family, socket.SOCK_STREAM) as s, pytest.raises(NetworkBlocked):
                s.connect(address)
        with socket.socket() as s, pytest.raises(NetworkBlocked):
            s.connect_ex(TEST_NET)
        with pytest.raises(NetworkBlocked):
            socket.getaddrinfo("huggingface.co", 443)
        with pytest.raises(URLError):
            urllib.request.urlopen(f"http://{TEST_NET[0]}:{TEST_NET[1]}/", timeout=1)
    assert reached == []
    assert "203.0.113.1:443" in log.attempts and "huggingface.co (name lookup)" in log.attempts
    # ...and it is gone afterwards.
    assert (socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo) == before


def test_loopback_stays_allowed(server: ModelServer, tmp_path: Path) -> None:
    data = blob(100_000, 1)
    server.add("a.bin", data)
    with socket_guard() as log:
        run_quietly(download([server.url("a.bin")], tmp_path / "a.bin",
                             Expected(sha256=sha256(data), size=len(data)), options=FAST))
    assert log.attempts == [] and log.loopback


def test_enable_offline_sets_the_switches_before_and_after_huggingface_hub() -> None:
    script = (
        "import os, sys\n"
        "from desktop_app.core.model_files.offline import enable_offline, OFFLINE_ENV\n"
        "os.environ['HF_HUB_OFFLINE'] = '0'\n"  # a stray setting in the user's shell
        "late = sys.argv[1] == 'late'\n"
        "if late:\n"
        "    import huggingface_hub.constants\n"
        "enable_offline()\n"
        "import huggingface_hub.constants as c\n"
        "assert all(os.environ[k] == v for k, v in OFFLINE_ENV.items())\n"
        "print(c.HF_HUB_OFFLINE, c.HF_HUB_DISABLE_TELEMETRY)\n"
    )
    for when in ("early", "late"):
        result = subprocess.run([sys.executable, "-c", script, when], capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["True", "True"], when


def test_ingest_search_and_models_status_never_leave_the_machine(
        embedder, embedder_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop_app.core.embedder import Embedder
    from desktop_app.core.library import Library

    for key, value in OFFLINE_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("KURA_EMBEDDER_DIR", str(embedder_dir))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "mars.md").write_text("# Mars\n\nMars is called the red planet because of "
                                  "the iron oxide on its surface.", encoding="utf-8")
    (docs / "leave.md").write_text("# 年假\n\n员工每年享有十五天带薪年假。", encoding="utf-8")
    (docs / "vpn.txt").write_text("Use the company VPN client Tunnelo when travelling.",
                                  encoding="utf-8")

    with socket_guard() as log:
        started = Embedder(embedder_dir)  # start-up: onnxruntime and tokenizers load
        assert started.embed_queries(["ping"]).shape == (1, 768)
        library = Library(home=tmp_path / "home", embedder=embedder)
        try:
            for _ in library.add([docs]):
                pass
            found = library.search("Which planet is red?", k=3)
            leave = library.search("年假有几天?", k=3)
        finally:
            library.close()
        result = CliRunner().invoke(models, ["status", "--json"])
    assert log.attempts == []
    assert found.results[0].path.endswith("mars.md")
    assert leave.results[0].path.endswith("leave.md")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["can_index"] is True
