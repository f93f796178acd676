"""Offline for good: the socket guard, Kura's real work under it, and the network policy
the app installs at start (this machine, the answer server the user named, downloads)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from urllib.error import URLError

import pytest
from click.testing import CliRunner

from desktop_app.cli.models import models
from desktop_app.core.errors import KuraError
from desktop_app.core.model_files.checksums import Expected
from desktop_app.core.model_files.downloader import download
from desktop_app.core.model_files.offline import (
    OFFLINE_ENV,
    NetworkBlocked,
    allow_any_host,
    network_policy,
    parse_server_url,
    resolve_remote,
    restrict_network,
    restricted_network,
    socket_guard,
)
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


# -- the process-wide policy (restrict_network) ------------------------------------------


def test_the_policy_refuses_other_machines_before_a_packet_is_sent() -> None:
    """A non-blocking connect would return at once with EINPROGRESS once its SYN is on
    the wire: refused by the policy instead, nothing was sent."""
    with restricted_network(None) as policy:
        for family, address in ((socket.AF_INET, TEST_NET), (socket.AF_INET6, ("2001:db8::1",
                                                                             443))):
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.setblocking(False)
                with pytest.raises(NetworkBlocked, match="only this computer"):
                    s.connect(address)
                with pytest.raises(NetworkBlocked):
                    s.connect_ex(address)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, \
                pytest.raises(NetworkBlocked):
            udp.sendto(b"x", TEST_NET)
        for lookup in (lambda: socket.getaddrinfo("huggingface.co", 443),
                       lambda: socket.gethostbyname("huggingface.co"),
                       lambda: socket.gethostbyaddr("203.0.113.1")):
            with pytest.raises(NetworkBlocked, match="looking up"):
                lookup()
        with pytest.raises(URLError):
            urllib.request.urlopen("http://example.com/", timeout=1)
    assert "203.0.113.1:443" in policy.blocked and "huggingface.co (name lookup)" in \
        policy.blocked and "example.com (name lookup)" in policy.blocked
    assert network_policy() is None  # restored: tests run without one


def test_the_policy_lets_this_machine_through(server: ModelServer, tmp_path: Path) -> None:
    data = blob(50_000, 2)
    server.add("a.bin", data)
    with restricted_network(None) as policy:
        socket.getaddrinfo("localhost", 80)
        with urllib.request.urlopen(server.url("a.bin"), timeout=10) as response:
            assert response.read() == data
        with socket.socket(socket.AF_UNIX) as unix, pytest.raises(OSError) as raised:
            unix.connect(str(tmp_path / "no-such-socket"))
        assert not isinstance(raised.value, NetworkBlocked)
    assert policy.blocked == []


def test_a_model_download_may_reach_any_host_only_from_its_own_thread() -> None:
    """The hub redirects to CDN hosts, a mirror is the user's: the download thread opens
    its connection under ``allow_any_host``; any other thread stays restricted."""
    with restricted_network(None) as policy:
        assert not policy.allows_connection(*TEST_NET)
        other: list[bool] = []
        with allow_any_host("downloading a model file"):
            assert policy.allows_connection(*TEST_NET)
            assert policy.allows_lookup("cas-bridge.xethub.hf.co")
            thread = threading.Thread(
                target=lambda: other.append(policy.allows_connection(*TEST_NET)))
            thread.start()
            thread.join()
        assert other == [False]
        assert not policy.allows_connection(*TEST_NET)


def test_a_download_still_works_under_the_policy(server: ModelServer, tmp_path: Path) -> None:
    """``kura models fetch`` and the first launch's download run with the policy on."""
    data = blob(100_000, 3)
    server.add("a.bin", data)
    with restricted_network(None) as policy:
        run_quietly(download([server.url("a.bin")], tmp_path / "a.bin",
                             Expected(sha256=sha256(data), size=len(data)), options=FAST))
    assert (tmp_path / "a.bin").read_bytes() == data and policy.blocked == []


def test_the_answer_server_is_allowed_on_its_port_at_its_first_addresses(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with restricted_network("http://192.168.1.20:8080") as policy:
        assert policy.pinned == ("192.168.1.20",)  # an address: nothing to look up
        assert policy.allows_connection("192.168.1.20", 8080)
        assert policy.allows_connection("::ffff:192.168.1.20", 8080)
        assert not policy.allows_connection("192.168.1.20", 22)  # its port only
        assert not policy.allows_connection("192.168.1.21", 8080)
        assert not policy.allows_lookup("gpu-box.lan")

    looked_up: list[str] = []
    answers = iter([[(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.168.1.30", 8080))],
                    [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("203.0.113.9", 8080))]])

    def fake_getaddrinfo(host: str, *_args: object, **_kwargs: object) -> object:
        looked_up.append(host)
        return next(answers)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with restricted_network("http://gpu-box.lan:8080") as policy:
        box = parse_server_url("gpu-box.lan:8080")
        assert resolve_remote(box) == ("192.168.1.30",)
        # The name now resolves elsewhere: the questions still go where they went.
        assert resolve_remote(box) == ("192.168.1.30",) and looked_up == ["gpu-box.lan"]
        assert policy.allows_connection("192.168.1.30", 8080)
        assert not policy.allows_connection("203.0.113.9", 8080)
        with pytest.raises(NetworkBlocked, match="not the answer server"):
            resolve_remote(parse_server_url("other-box.lan:8080"))
        assert looked_up == ["gpu-box.lan"]  # refused before any lookup
        # Saving the same setting again keeps the pinned addresses.
        assert restrict_network("http://gpu-box.lan:8080/v1").pinned == ("192.168.1.30",)


def test_the_command_line_installs_the_policy_at_start() -> None:
    """Enforced in the product: ``kura`` itself (not a test fixture) restricts the
    process, to this machine and the server ``KURA_REMOTE_LLM`` names."""
    script = (
        "import socket, sys\n"
        "from desktop_app.cli import main\n"
        "sys.argv = ['kura', '--version']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "from desktop_app.core.model_files.offline import NetworkBlocked, network_policy\n"
        "print(network_policy().remote.netloc)\n"
        "try:\n"
        "    socket.getaddrinfo('example.com', 80)\n"
        "except NetworkBlocked:\n"
        "    print('blocked')\n"
    )
    env = {**os.environ, "KURA_REMOTE_LLM": "http://192.168.1.20:8080"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["192.168.1.20:8080", "blocked"]


@pytest.mark.parametrize(("typed", "url", "netloc", "model"), [
    ("http://192.168.1.20:8080", "http://192.168.1.20:8080", "192.168.1.20:8080", None),
    (" gpu-box:11434#gemma3:4b ", "http://gpu-box:11434#gemma3:4b", "gpu-box:11434",
     "gemma3:4b"),
    ("https://LLM.example.lan/v1/", "https://llm.example.lan:443", "llm.example.lan:443",
     None),
    ("http://[fe80::1]:8080/proxy/v1", "http://[fe80::1]:8080/proxy", "[fe80::1]:8080", None),
    ("http://box", "http://box:80", "box:80", None),
])
def test_answer_server_addresses(typed: str, url: str, netloc: str, model: str | None) -> None:
    address = parse_server_url(typed)
    assert (address.url, address.netloc, address.model) == (url, netloc, model)


@pytest.mark.parametrize("typed", ["", "ftp://box:21", "http://:8080", "http://box:0",
                                   "http://box:99999", "http://me:secret@box:8080",
                                   "http://box:8080/?key=1", "http://two words:80"])
def test_what_is_not_an_answer_server_address(typed: str) -> None:
    with pytest.raises(KuraError):
        parse_server_url(typed)
