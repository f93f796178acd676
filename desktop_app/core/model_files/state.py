"""The state file: what Kura learned about its model files, kept between runs.

``models_dir()/model-files.json`` holds three things:

- ``remote``: the sha256/size the hub reported for a file the catalog does not pin. It is
  recorded at the first probe, so a download resumed days later (maybe from a mirror) is
  checked against the same bytes it started with.
- ``installed``: per role, the bundle installed and each installed file's size and
  sha256 (the embedder Kura prepares itself has no checksum anywhere else), and how it
  was verified: ``verification`` (``pinned`` / ``checked`` / ``unverified``) and
  ``checks`` (what its contents were found to be).
- ``verified``: per path, the (size, mtime) at which its sha256 last matched. ``status``
  trusts that instead of re-hashing gigabytes every call; ``verify`` always re-hashes.

It is a record, not a source of truth for the files themselves: if it is lost or
unreadable, Kura re-probes and re-hashes.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from desktop_app.core.fileio import write_atomically
from desktop_app.core.model_files.checksums import Expected
from desktop_app.core.model_files.locations import state_path

VERSION = 1
_LOCK = threading.Lock()  # status may run in one thread while fetch writes in another


class State:
    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else state_path()

    # -- reading -------------------------------------------------------------------

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict) or data.get("version") != VERSION:
            data = {}
        data["version"] = VERSION
        for section in ("remote", "installed", "verified"):
            if not isinstance(data.get(section), dict):
                data[section] = {}
        return data

    def remote(self, key: str) -> Expected | None:
        entry = self.read()["remote"].get(key)
        if not entry:
            return None
        return Expected(sha256=entry.get("sha256"), size=entry.get("size"),
                        git_sha1=entry.get("git_sha1"), origin="recorded from the hub")

    def installed(self, role: str) -> dict[str, Any] | None:
        entry = self.read()["installed"].get(role)
        return entry if isinstance(entry, dict) else None

    def cached_sha256(self, path: Path) -> str | None:
        """The sha256 last computed for ``path`` if it has not changed since."""
        entry = self.read()["verified"].get(_key(path))
        if not entry:
            return None
        try:
            st = path.stat()
        except OSError:
            return None
        if entry.get("size") == st.st_size and entry.get("mtime_ns") == st.st_mtime_ns:
            sha = entry.get("sha256")
            return sha if isinstance(sha, str) else None
        return None

    # -- writing -------------------------------------------------------------------

    def record_remote(self, key: str, expected: Expected, url: str) -> None:
        with self._edit() as data:
            data["remote"][key] = {"sha256": expected.sha256, "size": expected.size,
                                   "git_sha1": expected.git_sha1, "url": url,
                                   "seen": _now()}

    def forget_remote(self, key: str) -> None:
        with self._edit() as data:
            data["remote"].pop(key, None)

    def record_installed(self, role: str, bundle: str, target: Path,
                         files: dict[str, dict[str, Any]]) -> None:
        with self._edit() as data:
            data["installed"][role] = {"bundle": bundle, "target": str(target),
                                       "files": files, "at": _now()}

    def remember_sha256(self, path: Path, sha256: str) -> None:
        try:
            st = path.stat()
        except OSError:
            return
        with self._edit() as data:
            data["verified"][_key(path)] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns,
                                            "sha256": sha256}

    def forget_path(self, path: Path) -> None:
        with self._edit() as data:
            data["verified"].pop(_key(path), None)

    def _edit(self) -> _Edit:
        return _Edit(self)

    def _write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))


class _Edit:
    """Read, modify and write the file under the lock."""

    def __init__(self, state: State) -> None:
        self._state = state
        self._data: dict[str, Any] = {}

    def __enter__(self) -> dict[str, Any]:
        _LOCK.acquire()
        self._data = self._state.read()
        return self._data

    def __exit__(self, exc_type: object, *_exc: object) -> None:
        try:
            if exc_type is None:
                self._state._write(self._data)
        finally:
            _LOCK.release()


def _key(path: Path) -> str:
    return str(Path(path).resolve())


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
