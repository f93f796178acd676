"""Offline for good: no library phones home, Kura contacts no other machine unless the
user named one, and tests can prove nothing tries.

``enable_offline()`` sets the switches libraries read to stay off the network. Call it
first thing at start-up: huggingface_hub reads ``HF_HUB_OFFLINE`` once, when it is
imported (if it already was, its constant is patched too, best effort). Kura's own
downloads do not go through huggingface_hub, so this never blocks ``kura models fetch``.

``restrict_network(remote_url)`` is the promise enforced at run time, in the product: the
window and ``kura`` install it at start-up, right after ``enable_offline()``. From then on,
a connection or a name lookup from Python code anywhere in the process (Kura's, urllib's,
any library's, any thread's) to a host other than this machine (loopback addresses,
``localhost``, Unix sockets) raises ``NetworkBlocked`` before a packet is sent, and so
does a reverse lookup of another machine's address; with two exceptions:

- the answer server the user named (Settings, or ``KURA_REMOTE_LLM`` for the command
  line), when there is one: its host and port only, at the addresses its name resolved
  to the first time it was used (``resolve_remote``). A name that later resolves
  elsewhere does not take answers elsewhere; a redirect is never followed (the remote
  engine does not follow them, and its target would be refused here anyway).
- a model download (``allow_any_host``), and only while it opens its connection, in
  the thread that downloads: the hub redirects to CDN hosts that change, a mirror is the
  user's choice, and a proxy may stand in between, so the hosts cannot be listed ahead.
  The window's download runs on a worker while answers may be written on another
  thread: that thread stays restricted.

How it is enforced, and why this way: an audit hook (``sys.addaudithook``, PEP 578) sees
``socket.connect``, ``sendto``/``sendmsg`` and the name lookups inside CPython's socket
module, before the system call, whoever makes them; patching ``socket.socket.connect``
(as ``socket_guard`` does for tests) misses code that kept a reference to the original.
The hook is permanent once added (Python allows no removal), so it does nothing while no
policy is installed (``lift_network_restriction``). Native code that opens its own
sockets (onnxruntime, llama.cpp, Qt) bypasses both; those libraries run with their
telemetry off and load local files only.

``socket_guard()`` is for tests: inside it, any connection to a host other than this
machine raises before a packet is sent, and is recorded. It covers Python's sockets
(urllib, http.client, requests, asyncio); native code that opens its own sockets
(onnxruntime, llama.cpp) would bypass it, which is why those libraries are also run with
their telemetry off and are loaded from local files only.

``parse_server_url`` is what Kura accepts as the answer server's address (the settings
and the remote engine both check with it).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import unquote, urlsplit

from desktop_app.core.errors import KuraError

_log = logging.getLogger("kura.network")
_log.addHandler(logging.NullHandler())  # the app's log gets refusals; a terminal, the error

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
    """A connection to another machine was attempted under ``socket_guard``, or against
    the policy ``restrict_network`` installed.

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


# -- the answer server's address -------------------------------------------------------

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class ServerAddress:
    """An OpenAI-compatible server on the user's network, as Kura contacts it."""

    scheme: str  # "http" or "https"
    host: str  # a name or an IP address (IPv6 without brackets), lower case
    port: int
    path: str = ""  # a reverse proxy's prefix before /v1/..., without a trailing "/"
    model: str | None = None  # the URL's #fragment: the model to use (None: the server's)

    @property
    def netloc(self) -> str:
        """``host:port``, what the window shows as the machine that writes answers."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        model = f"#{self.model}" if self.model else ""
        return f"{self.scheme}://{self.netloc}{self.path}{model}"


def parse_server_url(url: str) -> ServerAddress:
    """The answer server's address from what a person typed: ``http://192.168.1.20:8080``,
    ``gpu-box:11434#gemma3:4b`` (no scheme: http; ``#model`` picks one of the server's
    models), ``https://host/llm/v1`` (a trailing ``/v1`` is the API's, not the prefix's).
    A ``KuraError`` says what is wrong: no user name or password (Kura sends none), no
    query, a port in range."""
    text = url.strip()
    if not text:
        raise KuraError("the answer server's address is empty")
    if "://" not in text:
        text = f"http://{text}"
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise KuraError(f"the answer server's address must start with http:// or https://, "
                        f"not {url.strip()!r}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise KuraError(f"{url.strip()!r}: the port must be a number from 1 to 65535") from None
    if not host or any(c.isspace() or c in "/\\@" for c in host):
        raise KuraError(f"{url.strip()!r} names no host, such as http://192.168.1.20:8080")
    if port == 0:
        raise KuraError(f"{url.strip()!r}: the port must be a number from 1 to 65535")
    if parts.username is not None or parts.password is not None:
        raise KuraError("the answer server's address must not contain a user name or password")
    if parts.query:
        raise KuraError(f"the answer server's address must not have a query ({parts.query!r})")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise KuraError(f"{host!r} is not a host name Kura can look up") from None
    path = parts.path.rstrip("/")
    path = path.removesuffix("/v1")
    model = unquote(parts.fragment).strip() or None
    return ServerAddress(scheme, host, port or DEFAULT_PORTS[scheme], path, model)


# -- the process-wide policy -----------------------------------------------------------

_MAX_RECORDED = 100


class _ThreadState(threading.local):
    any_host = 0  # inside allow_any_host (a count: it nests)
    resolving: str | None = None  # the answer server's name, while resolve_remote looks it up


_thread = _ThreadState()


@dataclass
class NetworkPolicy:
    """What the process may contact: this machine, and ``remote`` when there is one."""

    remote: ServerAddress | None = None
    pinned: tuple[str, ...] = ()  # the addresses the remote resolved to, once
    blocked: list[str] = field(default_factory=list)  # refused attempts, latest last

    def describe(self) -> str:
        if self.remote is None:
            return "Kura contacts only this computer"
        return f"Kura contacts only this computer and the answer server {self.remote.netloc}"

    def allows_connection(self, host: str, port: Any) -> bool:
        """May this thread connect to ``host`` (an address; a name would be resolved out
        of sight) on ``port`` now?"""
        if _is_loopback(host) or _thread.any_host:
            return True
        remote = self.remote
        if remote is None or port != remote.port or not _is_ip_literal(host):
            return False
        return _normal_ip(host) in self.pinned

    def allows_lookup(self, name: str) -> bool:
        """May this thread look ``name`` up now? A literal address is not looked up (its
        connection is checked); the answer server's name only while it is pinned."""
        if _is_loopback(name) or _is_ip_literal(name) or _thread.any_host:
            return True
        remote = self.remote
        return remote is not None and _thread.resolving == remote.host \
            and name.lower().rstrip(".") == remote.host


_policy: NetworkPolicy | None = None
_hook_added = False
_state_lock = threading.Lock()


def restrict_network(remote_url: str | None = None) -> NetworkPolicy:
    """Install (or replace) the process-wide policy: this machine only, plus the answer
    server at ``remote_url`` when given. An address ``parse_server_url`` refuses allows
    nothing more (the remote engine says what is wrong with it). Changing to the same
    server keeps the addresses it was pinned to."""
    global _policy, _hook_added
    remote: ServerAddress | None = None
    if remote_url:
        try:
            remote = parse_server_url(remote_url)
        except KuraError:
            remote = None
    policy = NetworkPolicy(remote)
    with _state_lock:
        previous = _policy
        if remote is not None and _is_ip_literal(remote.host):
            policy.pinned = (_normal_ip(remote.host),)
        elif previous is not None and previous.remote is not None and remote is not None \
                and _same_server(previous.remote, remote):
            policy.pinned = previous.pinned
        if not _hook_added:
            sys.addaudithook(_audit)
            _hook_added = True
        _policy = policy
    _log.info("network policy: %s", policy.describe())
    return policy


def lift_network_restriction() -> None:
    """No policy: the process may contact anything (tests, and library use of the core).
    The audit hook stays (it cannot be removed) and does nothing."""
    global _policy
    with _state_lock:
        _policy = None


def network_policy() -> NetworkPolicy | None:
    """The policy in force, or None."""
    return _policy


@contextlib.contextmanager
def restricted_network(remote_url: str | None = None) -> Iterator[NetworkPolicy]:
    """``restrict_network`` for the duration; the previous policy (or none) afterwards."""
    global _policy
    previous = _policy
    policy = restrict_network(remote_url)
    try:
        yield policy
    finally:
        with _state_lock:
            _policy = previous


@contextlib.contextmanager
def allow_any_host(reason: str) -> Iterator[None]:
    """Any host, for this thread only, for the duration: what a model download needs while
    it opens its connection (redirects to a CDN, a mirror, a proxy)."""
    _thread.any_host = _thread.any_host + 1
    if _policy is not None:
        _log.debug("any host allowed in this thread: %s", reason)
    try:
        yield
    finally:
        _thread.any_host -= 1


def resolve_remote(address: ServerAddress) -> tuple[str, ...]:
    """The IP addresses Kura connects to for the answer server ``address``.

    Under a policy, only the policy's own server may be resolved (``NetworkBlocked``
    before any lookup otherwise), and only once: later calls get the same addresses, so
    a name that starts resolving elsewhere does not take the questions elsewhere. Without
    a policy the name is resolved now (the engine keeps the result for its life)."""
    policy = _policy
    if policy is not None:
        if policy.remote is None or not _same_server(policy.remote, address):
            allowed = policy.remote.netloc if policy.remote else "none: the option is off"
            _refuse(policy, address.netloc,
                    f"{address.netloc} is not the answer server Kura may use "
                    f"(allowed: {allowed})")
        if policy.pinned:
            return policy.pinned
    addresses = _resolve(address)
    if policy is not None:
        with _state_lock:
            if not policy.pinned:
                policy.pinned = addresses
            addresses = policy.pinned
    return addresses


def _resolve(address: ServerAddress) -> tuple[str, ...]:
    if _is_ip_literal(address.host):
        return (_normal_ip(address.host),)
    _thread.resolving = address.host
    try:
        infos = socket.getaddrinfo(address.host, address.port, type=socket.SOCK_STREAM)
    finally:
        _thread.resolving = None
    found: list[str] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            ip = _normal_ip(str(sockaddr[0]))
            if ip not in found:
                found.append(ip)
    if not found:
        raise socket.gaierror(socket.EAI_NONAME, f"{address.host} has no IP address")
    return tuple(found)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    """The audit hook: every Python socket operation of the process passes here first."""
    policy = _policy
    if policy is None or not event.startswith("socket."):
        return
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        sock, address = args[0], args[1]
        if not isinstance(address, tuple) or len(address) < 2 \
                or getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6):
            return  # AF_UNIX and friends stay on this machine; a connected socket's send
        host, port = str(address[0]), address[1]
        if not policy.allows_connection(host, port):
            _refuse(policy, f"{host}:{port}")
    elif event in ("socket.getaddrinfo", "socket.gethostbyname"):
        name = args[0]
        if isinstance(name, bytes | bytearray):
            name = bytes(name).decode("ascii", "replace")
        if name is not None and not policy.allows_lookup(str(name)):
            _refuse(policy, f"{name} (name lookup)", f"looking up {name} blocked")
    elif event in ("socket.gethostbyaddr", "socket.getnameinfo"):  # reverse lookups
        where = args[0]
        host = str(where[0] if isinstance(where, tuple) and where else where)
        if not (_is_loopback(host) or _thread.any_host):
            _refuse(policy, f"{host} (reverse lookup)", f"looking up {host} blocked")


def _refuse(policy: NetworkPolicy, where: str, reason: str | None = None) -> NoReturn:
    with _state_lock:
        policy.blocked.append(where)
        del policy.blocked[:-_MAX_RECORDED]
    message = reason or f"connection to {where} blocked"
    _log.warning("network policy: %s (%s)", message, policy.describe())
    raise NetworkBlocked(f"{message}: {policy.describe()}")


def _same_server(a: ServerAddress, b: ServerAddress) -> bool:
    return (a.host, a.port) == (b.host, b.port)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _normal_ip(host: str) -> str:
    """One spelling per address: ``::ffff:192.168.1.2`` is ``192.168.1.2``."""
    ip = ipaddress.ip_address(host.split("%", 1)[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    return str(mapped or ip)
