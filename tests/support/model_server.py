"""A real HTTP server on 127.0.0.1 that serves model-like files and misbehaves on demand.

Each URL path can be given faults: cut the connection at a byte offset, serve wrong bytes,
be slow, stall, ignore Range (200 instead of 206), answer 404/500, redirect. HEAD answers
carry the hub's ``X-Linked-Etag`` / ``X-Linked-Size``, so the server also stands in for
the hub's metadata. Every request is recorded (method, path, Range start, body bytes sent).
"""

from __future__ import annotations

import hashlib
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CHUNK = 64 * 1024


@dataclass
class Served:
    size: int
    sha256: str
    data: bytes | None = None  # in memory...
    file: Path | None = None  # ...or read from disk (the real fp32 weights)

    def chunks(self, start: int) -> Iterator[bytes]:
        if self.data is not None:
            for offset in range(start, self.size, CHUNK):
                yield self.data[offset:offset + CHUNK]
            return
        assert self.file is not None
        with open(self.file, "rb") as f:
            f.seek(start)
            while chunk := f.read(CHUNK):
                yield chunk


@dataclass
class Faults:
    drop_at: int | None = None  # cut the connection when the body reaches this offset
    drops: int = 1  # ...this many times
    corrupt: bool = False  # same length, wrong bytes
    delay: float = 0.0  # seconds per 64 KB chunk
    stall_at: int | None = None  # pause once at this offset...
    stall_for: float = 0.0  # ...this long
    ignore_range: bool = False  # always 200 with the whole file
    status: int | None = None  # answer this instead...
    status_times: int = 1_000_000  # ...this many times, then behave
    status_methods: tuple[str, ...] = ("GET", "HEAD")
    redirect: str | None = None  # 302 to this path
    hub_headers: bool = True  # X-Linked-Etag / X-Linked-Size
    etag: str | None = None  # a plain ETag instead (e.g. a git blob sha1)


@dataclass
class Hit:
    method: str
    path: str
    range_start: int | None
    status: int
    sent: int = 0  # body bytes written


@dataclass
class ModelServer:
    files: dict[str, Served] = field(default_factory=dict)
    faults: dict[str, Faults] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # -- setting up ----------------------------------------------------------------

    def add(self, path: str, data: bytes | None = None, file: Path | None = None,
            sha256: str | None = None) -> Served:
        path = "/" + path.lstrip("/")
        if data is not None:
            served = Served(len(data), sha256 or hashlib.sha256(data).hexdigest(), data=data)
        else:
            assert file is not None and sha256 is not None
            served = Served(file.stat().st_size, sha256, file=file)
        self.files[path] = served
        return served

    def fault(self, path: str, **kwargs: object) -> Faults:
        faults = Faults(**kwargs)  # type: ignore[arg-type]
        self.faults["/" + path.lstrip("/")] = faults
        return faults

    def heal(self) -> None:
        self.faults.clear()

    # -- reading the log -------------------------------------------------------------

    def gets(self, path: str) -> list[Hit]:
        path = "/" + path.lstrip("/")
        with self._lock:
            return [h for h in self.hits if h.method == "GET" and h.path == path]

    def body_bytes(self, path: str) -> int:
        return sum(h.sent for h in self.gets(path))

    @property
    def base(self) -> str:
        assert self._httpd is not None
        port = self._httpd.server_address[1]
        return f"http://127.0.0.1:{port}"

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    # -- running ---------------------------------------------------------------------

    def start(self) -> ModelServer:
        owner = self

        class Handler(_Handler):
            server_state = owner

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def record(self, hit: Hit) -> Hit:
        with self._lock:
            self.hits.append(hit)
        return hit


class _Handler(BaseHTTPRequestHandler):
    server_state: ModelServer

    def log_message(self, *_args: object) -> None:  # quiet test output
        pass

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        state = self.server_state
        path = self.path.split("?", 1)[0]
        faults = state.faults.get(path, Faults())
        match = re.match(r"bytes=(\d+)-$", self.headers.get("Range", ""))
        range_start = int(match.group(1)) if match else None
        method = "HEAD" if head else "GET"
        hit = state.record(Hit(method, path, range_start, 0))

        if faults.status and faults.status_times > 0 and method in faults.status_methods:
            faults.status_times -= 1
            hit.status = faults.status
            self.send_response(faults.status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if faults.redirect:
            hit.status = 302
            self.send_response(302)
            target = "/" + faults.redirect.lstrip("/")
            self.send_header("Location", target)
            linked = state.files.get(target)
            if faults.hub_headers and linked is not None:  # the hub's LFS answer
                self.send_header("X-Linked-Etag", f'"{linked.sha256}"')
                self.send_header("X-Linked-Size", str(linked.size))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        served = state.files.get(path)
        if served is None:
            hit.status = 404
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return

        start, status = 0, 200
        if range_start is not None and not faults.ignore_range:
            if range_start >= served.size:
                hit.status = 416
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{served.size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start, status = range_start, 206
        hit.status = status
        self.send_response(status)
        self.send_header("Content-Length", str(served.size - start))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{served.size - 1}/{served.size}")
        if faults.hub_headers:
            self.send_header("X-Linked-Etag", f'"{served.sha256}"')
            self.send_header("X-Linked-Size", str(served.size))
        if faults.etag:
            self.send_header("ETag", f'"{faults.etag}"')
        self.end_headers()
        if head:
            return

        offset = start
        try:
            for chunk in served.chunks(start):
                if faults.corrupt:
                    chunk = bytes(b ^ 0x5A for b in chunk)
                if faults.drop_at is not None and faults.drops > 0 \
                        and offset < faults.drop_at <= offset + len(chunk):
                    faults.drops -= 1
                    cut = faults.drop_at - offset
                    self.wfile.write(chunk[:cut])
                    self.wfile.flush()
                    hit.sent += cut
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if faults.stall_at is not None and offset >= faults.stall_at:
                    faults.stall_at = None
                    time.sleep(faults.stall_for)
                self.wfile.write(chunk)
                hit.sent += len(chunk)
                offset += len(chunk)
                if faults.delay:
                    time.sleep(faults.delay)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up (timeout, cancel, killed): as a real server would
