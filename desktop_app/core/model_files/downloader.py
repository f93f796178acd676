"""Plain-HTTP downloads that survive flaky connections, and never leave a file Kura
would load unless its checksum matched.

Why urllib and not huggingface_hub: no new dependency, one code path for the hub and
any mirror, and every behaviour below is ours to test; urllib also brings the proxy
settings (``HTTPS_PROXY``...) and redirects.

- Bytes go to ``<name>.part``; the final name appears only by ``os.replace`` after the
  sha256 matched. A ``.part`` survives restarts and the next run asks for the rest with
  ``Range: bytes=<size of .part>-``. A server that ignores Range (200) is read from the
  start again, overwriting the ``.part``.
- Failures that may pass (connection dropped, timeout, 408/429/5xx) are retried with
  exponential backoff; the count resets whenever bytes arrived, so a connection that
  drops every few hundred MB still finishes. 404/401/403 move on to the next source.
- Free space is checked before the first byte is written.
- A download is a job (``desktop_app.core.progress``): it yields after every chunk and
  every backoff slice, and closing it keeps the ``.part`` for later.
- Opening a connection is the one moment Kura's network policy (``offline.py``) lets
  this thread reach any host: the hub's redirects, a mirror or a proxy cannot be listed
  ahead. Reading the bytes needs no new connection.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import time
import urllib.request
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.error import HTTPError, URLError
from urllib.parse import urljoin, urlsplit

from desktop_app import __version__
from desktop_app.core.model_files.checksums import Expected, check_digest, digest_file
from desktop_app.core.model_files.errors import (
    ChecksumMismatch,
    DownloadError,
    NotEnoughSpace,
    Unverifiable,
)
from desktop_app.core.model_files.offline import allow_any_host
from desktop_app.core.progress import Job, Progress, RateMeter, format_bytes

USER_AGENT = f"Kura/{__version__} (+model files)"
_REDIRECTS = (301, 302, 303, 307, 308)
_RETRYABLE = {408, 425, 429, 500, 502, 503, 504}
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
T = TypeVar("T")


@dataclass(frozen=True)
class HttpOptions:
    retries: int = 6  # attempts in a row without a new byte before giving up
    backoff: float = 1.0  # first wait in seconds; doubles after each fruitless attempt
    max_backoff: float = 60.0
    timeout: float = 30.0  # seconds without data before an attempt counts as failed
    chunk: int = 1 << 20
    min_free: int = 64 * 1024 * 1024  # left free on the disk after the download
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)


@dataclass(frozen=True)
class RemoteInfo:
    """What a server says about a file before it is downloaded (HEAD)."""

    url: str
    sha256: str | None
    size: int | None
    git_sha1: str | None

    def expected(self) -> Expected:
        return Expected(sha256=self.sha256, size=self.size, git_sha1=self.git_sha1,
                        origin="reported by the hub")


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class _SourceFailed(Exception):
    """This URL will not work however often it is tried (404, wrong size...)."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


def _opener(follow_redirects: bool = True) -> urllib.request.OpenerDirector:
    # Built per call: tests (and users) may change proxy variables between calls.
    return urllib.request.build_opener() if follow_redirects \
        else urllib.request.build_opener(_NoRedirect())


# -- probing -----------------------------------------------------------------------


def probe(url: str, options: HttpOptions | None = None) -> Job[RemoteInfo]:
    """HEAD ``url`` hop by hop, the way huggingface_hub reads file metadata.

    The hub answers a LFS file with a redirect carrying ``X-Linked-Etag`` (the sha256)
    and ``X-Linked-Size``; the CDN it redirects to has its own ETag (not a sha256), so
    redirects are followed by hand and the hub's headers kept. A small file kept in git is
    answered directly, its ETag being the git blob sha1. A job: it yields only while
    waiting to try again.
    """
    options = options or HttpOptions()

    def attempt() -> Job[RemoteInfo]:
        yield from ()
        linked_sha: str | None = None
        linked_size: int | None = None
        current = url
        for _hop in range(10):
            request = urllib.request.Request(current, method="HEAD", headers=_headers())
            try:
                with allow_any_host("checking a model file on the hub or a mirror"):
                    response = _opener(follow_redirects=False).open(request,
                                                                    timeout=options.timeout)
                status, headers = response.status, response.headers
                response.close()
            except HTTPError as exc:
                status, headers = exc.code, exc.headers
                exc.close()
            except (URLError, OSError, http.client.HTTPException) as exc:
                raise _Retryable(_reason(exc)) from None
            linked_sha = linked_sha or _sha256_etag(headers.get("X-Linked-Etag"))
            linked_size = linked_size or _int(headers.get("X-Linked-Size"))
            if status in _REDIRECTS and headers.get("Location"):
                current = urljoin(current, headers["Location"])
                continue
            if status in _RETRYABLE:
                raise _Retryable(f"HTTP {status}", _retry_after(headers.get("Retry-After")))
            if status >= 400:
                raise _SourceFailed(f"HTTP {status} for {url}")
            # A CDN's ETag (another host) is its own business (md5, a xet hash...); only
            # the hub's or mirror's own answer names the file's sha256 or git sha1.
            same_host = urlsplit(current).netloc == urlsplit(url).netloc
            etag = _etag(headers.get("ETag")) if same_host else None
            own_sha = etag if etag and _HEX64.match(etag) else None
            git_sha1 = etag if etag and _HEX40.match(etag) and not linked_sha else None
            size = linked_size if linked_size is not None \
                else _int(headers.get("Content-Length"))
            return RemoteInfo(url, linked_sha or own_sha, size, git_sha1)
        raise _SourceFailed(f"too many redirects for {url}")

    try:
        return (yield from _with_retries(attempt, url, url, options,
                                         progressed=lambda: False))
    except _SourceFailed as exc:
        raise DownloadError(str(exc)) from None


# -- downloading -------------------------------------------------------------------


def download(
    urls: Sequence[str],
    dest: Path,
    expected: Expected,
    *,
    name: str | None = None,
    options: HttpOptions | None = None,
) -> Job[Path]:
    """Fetch ``dest`` from the first of ``urls`` that works, resuming any ``.part``.

    A job of "download" and "verify" steps that returns ``dest`` once its checksum
    matched. Raises DownloadError, ChecksumMismatch, NotEnoughSpace or Unverifiable; in
    every case, and when it is closed, ``dest`` is either absent or a verified file.
    """
    options = options or HttpOptions()
    label = name or dest.name
    if not expected.known:
        raise Unverifiable(f"{label}: no checksum is known, so Kura cannot tell a good "
                           "download from a damaged one")
    if not urls:
        raise DownloadError(f"{label}: the catalog lists no source to download it from")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = partial_path(dest)

    if dest.exists():  # verified earlier (only verified files get this name) but re-check
        try:
            check_digest(dest, (yield from digest_file(dest, label)), expected)
            return dest
        except ChecksumMismatch:
            dest.unlink()
    if part.exists() and expected.size is not None and part.stat().st_size > expected.size:
        part.unlink()
    check_free_space(dest.parent, _remaining(expected.size, part), options.min_free)

    failures: list[str] = []
    mismatch: ChecksumMismatch | None = None
    for url in urls:
        try:
            yield from _from_source(url, dest, part, expected, label, options)
            return dest
        except _SourceFailed as exc:
            failures.append(str(exc))
        except ChecksumMismatch as exc:  # another source may serve the right bytes
            mismatch = exc
            failures.append(str(exc))
    if mismatch is not None and len(failures) == 1:
        raise mismatch
    raise DownloadError(f"could not download {label}: " + "; ".join(failures))


def _from_source(url: str, dest: Path, part: Path, expected: Expected, label: str,
                 options: HttpOptions) -> Job[None]:
    resumed = part.exists() and part.stat().st_size > 0
    while True:
        try:
            yield from _fetch_into(url, part, expected, label, options)
            check_digest(part, (yield from digest_file(part, label)), expected)
        except ChecksumMismatch as exc:
            part.unlink(missing_ok=True)
            if resumed:
                # The bytes kept from an earlier run may belong to another version of the
                # file, or a crash left junk at their end: fetch it whole, once.
                resumed = False
                yield Progress("download", 0, expected.size, "bytes", label,
                               message="checksum failed; downloading again")
                continue
            raise ChecksumMismatch(dest, f"{exc.problem}; the download was deleted") from None
        os.replace(part, dest)
        return


def partial_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def check_free_space(folder: Path, needed: int, margin: int = 0) -> None:
    """Raise NotEnoughSpace unless ``needed`` bytes (plus ``margin``) fit in ``folder``."""
    if needed <= 0:
        return
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < needed + margin:
        raise NotEnoughSpace(
            f"{format_bytes(needed + margin)} of free space is needed in {folder}, and only "
            f"{format_bytes(free)} is free. Free some space, or import the model files "
            "with `kura models import DIR`."
        )


def _remaining(size: int | None, part: Path) -> int:
    if size is None:
        return 0
    have = part.stat().st_size if part.exists() else 0
    return max(0, size - have)


def _fetch_into(url: str, part: Path, expected: Expected, label: str,
                options: HttpOptions) -> Job[None]:
    """Append to ``part`` until the server's file is complete (not yet verified)."""
    meter = RateMeter()
    start_size = part.stat().st_size if part.exists() else 0
    before = [start_size]

    def progressed() -> bool:
        now = part.stat().st_size if part.exists() else 0
        moved = now > before[0]
        before[0] = now
        return moved

    def attempt() -> Job[None]:
        before[0] = part.stat().st_size if part.exists() else 0
        yield from _attempt(url, part, expected, label, options, meter)

    yield from _with_retries(attempt, label, label, options, progressed)


def _attempt(url: str, part: Path, expected: Expected, label: str, options: HttpOptions,
             meter: RateMeter) -> Job[None]:
    offset = part.stat().st_size if part.exists() else 0
    if expected.size is not None and offset == expected.size:
        return  # complete: an earlier run stopped between the last byte and the check
    headers = _headers()
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        with allow_any_host("downloading a model file"):
            response = _opener().open(request, timeout=options.timeout)
    except HTTPError as exc:
        retry_after = _retry_after(exc.headers.get("Retry-After")) if exc.headers else None
        exc.close()
        if exc.code == 416:  # the .part is as long as the file, or longer: start again
            part.unlink(missing_ok=True)
            raise _Retryable("the server refused the resume point; starting over") from None
        if exc.code in _RETRYABLE:
            raise _Retryable(f"HTTP {exc.code}", retry_after) from None
        raise _SourceFailed(f"HTTP {exc.code} ({exc.reason}) for {url}") from None
    except (URLError, OSError, http.client.HTTPException) as exc:
        raise _Retryable(_reason(exc)) from None

    with response:
        status = response.status
        total: int | None
        if status == 206:
            first, total = _content_range(response.headers.get("Content-Range"))
            if first != offset:  # not the bytes we asked for: the .part cannot be trusted
                part.unlink(missing_ok=True)
                raise _Retryable(f"the server resumed at byte {first}, not {offset}")
            mode = "ab"
        elif status == 200:
            # No Range support (or it was ignored): the body is the whole file.
            if offset:
                yield Progress("download", 0, expected.size, "bytes", label,
                               message="the server cannot resume; starting over")
            offset = 0
            total = _int(response.headers.get("Content-Length"))
            mode = "wb"
        else:
            raise _SourceFailed(f"unexpected HTTP {status} for {url}")
        if total is not None and expected.size is not None and total != expected.size:
            raise _SourceFailed(f"{url} is {total:,} bytes, not the expected "
                                f"{expected.size:,}: it is another file")
        if expected.size is None and total is not None:
            check_free_space(part.parent, total - offset, options.min_free)
        body_length = _int(response.headers.get("Content-Length"))
        size = expected.size if expected.size is not None else total
        done = offset
        meter.reset()
        with open(part, mode) as f:
            while True:
                try:
                    chunk = response.read(options.chunk)
                except (OSError, http.client.HTTPException) as exc:
                    raise _Retryable(_reason(exc)) from None
                if not chunk:
                    break
                f.write(chunk)
                done += len(chunk)
                if size is not None and done > size:
                    f.close()
                    part.unlink(missing_ok=True)
                    raise ChecksumMismatch(part, f"the server sent more than the "
                                                 f"{size:,} bytes expected")
                rate, eta = meter.measure(done, size)
                # Closing the job here keeps the .part: the file is closed on the way out,
                # and every byte written so far is a byte the next run need not fetch.
                yield Progress("download", done, size, "bytes", label, rate, eta)
            f.flush()
            os.fsync(f.fileno())
    if body_length is not None and done - offset < body_length:
        raise _Retryable(f"the connection closed after {format_bytes(done)}")
    if size is not None and done < size:
        raise _Retryable(f"the connection closed after {format_bytes(done)}")


def _with_retries(attempt: Callable[[], Job[T]], label: str, item: str,
                  options: HttpOptions, progressed: Callable[[], bool],
                  ) -> Generator[Progress, None, T]:
    fruitless = 0
    while True:
        try:
            return (yield from attempt())
        except _Retryable as exc:
            fruitless = 0 if progressed() else fruitless + 1
            if fruitless > options.retries:
                raise DownloadError(f"{label}: {exc} (gave up after {fruitless} attempts "
                                    "in a row; run it again to resume)") from None
            wait = min(options.max_backoff, options.backoff * 2 ** max(0, fruitless - 1))
            if exc.retry_after is not None:
                wait = min(options.max_backoff, max(wait, exc.retry_after))
            news = Progress("download", unit="bytes", item=item,
                            message=f"{exc}; trying again in {wait:.1f} s")
            yield from _pause(wait, options.sleep, news)


def _pause(seconds: float, sleep: Callable[[float], None], news: Progress) -> Job[None]:
    """Sleep in short slices, yielding ``news`` before each, so closing the job during a
    long backoff is honoured quickly."""
    left = seconds
    while left > 0:
        yield news
        step = min(left, 0.25)
        sleep(step)
        left -= step


def _headers() -> dict[str, str]:
    # identity: a gzip-encoded body would not match the byte ranges of the file.
    return {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}


def _content_range(value: str | None) -> tuple[int, int | None]:
    match = re.match(r"bytes (\d+)-(\d+)/(\d+|\*)", value or "")
    if not match:
        return -1, None
    total = match.group(3)
    return int(match.group(1)), (int(total) if total != "*" else None)


def _etag(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"').lower() or None


def _sha256_etag(value: str | None) -> str | None:
    etag = _etag(value)
    return etag if etag and _HEX64.match(etag) else None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None  # an HTTP date: the backoff is good enough


def _reason(exc: BaseException) -> str:
    if isinstance(exc, URLError) and not isinstance(exc, HTTPError):
        return f"cannot connect ({exc.reason})"
    if isinstance(exc, TimeoutError):
        return "no data for too long (timeout)"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
