"""Offline for good: no library phones home, and tests can prove nothing tries.

``enable_offline()`` sets the switches libraries read to stay off the network. Call it
first thing at start-up: huggingface_hub reads ``HF_HUB_OFFLINE`` once, when it is
imported (if it already was, its constant is patched too, best effort). Kura's own
downloads do not go through huggingface_hub, so this never blocks ``kura models fetch``.

``socket_guard()`` is for tests: inside it, any connection to a host other than this
machine raises before a packet is sent, and is recorded. It covers Python's sockets
(urllib, http.client, requests, asyncio); native code that opens its own sockets
(onnxruntime, llama.cpp) would bypass it, which is why those libraries are also run with
their telemetry off and are loaded from local files only.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

OFFLINE_ENV = {
    # huggingface_hub / transformers / datasets: no downloads, no update checks.
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",  # never read a token to send anywhere
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    # The cross-tool opt-out (consoledonottrack.com) and libraries' own flags.
    "DO_NOT_TRACK": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
}


def enable_offline() -> None:
    """Switch every library Kura may load to offline mode (idempotent)."""
    # Forced, not setdefault: a stray HF_HUB_OFFLINE=0 in the user's shell must not undo
    # Kura's promise.
    os.environ.update(OFFLINE_ENV)
    hub = sys.modules.get("huggingface_hub.constants")
    if hub is not None:  # imported before us: its flags are already read
        for name in ("HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
            if hasattr(hub, name):
                setattr(hub, name, True)
    ort = sys.modules.get("onnxruntime")
    if ort is not None:
        disable_onnxruntime_telemetry()


def disable_onnxruntime_telemetry() -> None:
    """onnxruntime's telemetry (Windows builds send ETW events) off; a no-op elsewhere."""
    try:
        import onnxruntime
    except ImportError:  # pragma: no cover - onnxruntime is a dependency
        return
    off = getattr(onnxruntime, "disable_telemetry_events", None)
    if off is not None:
        off()


class NetworkBlocked(ConnectionRefusedError):
    """A connection to another machine was attempted under ``socket_guard``.

    A ConnectionRefusedError, so code that copes with being offline copes with this too;
    the attempt is recorded either way, for the test to see.
    """


@dataclass
class GuardLog:
    attempts: list[str] = field(default_factory=list)  # "host:port" blocked
    loopback: list[str] = field(default_factory=list)  # allowed local connections


@contextlib.contextmanager
def socket_guard() -> Iterator[GuardLog]:
    """Allow only this machine (loopback, Unix sockets) for the duration; record the rest.

    Patches ``socket.socket.connect`` / ``connect_ex`` and name resolution of anything but
    local names, process-wide (so threads are covered too).
    """
    log = GuardLog()
    lock = threading.Lock()
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return  # AF_UNIX and friends stay on this machine
        host, port = str(address[0]), address[1]
        where = f"{host}:{port}"
        if _is_loopback(host):
            with lock:
                log.loopback.append(where)
            return
        with lock:
            log.attempts.append(where)
        raise NetworkBlocked(f"socket_guard: connection to {where} blocked (Kura is offline)")

    def connect(sock: socket.socket, address: Any) -> None:
        check(sock, address)
        return real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        check(sock, address)
        return real_connect_ex(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and not _is_loopback(str(name)):
            with lock:
                log.attempts.append(f"{name} (name lookup)")
            raise NetworkBlocked(f"socket_guard: looking up {name} blocked (Kura is offline)")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = getaddrinfo
    try:
        yield log
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = real_getaddrinfo


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain", "ip6-localhost", ""):
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host.endswith(".localhost")
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return ip.is_loopback or bool(mapped and mapped.is_loopback)
