"""What is there, what is missing, what is damaged: per file and per role.

Kura can index once the embedder is usable and answer once the LLM is. A file is

- ``verified``: its sha256 matched the one on record (recorded when Kura installed it,
  pinned in the catalog, or reported by the hub);
- ``unverified``: present, but no checksum is known for it (a folder named by
  ``KURA_EMBEDDER_DIR`` / ``KURA_LLM_PATH``, or a lost state file). Usable: it was put
  there on purpose, and the embedder and the GGUF check still refuse a broken file;
- ``missing``;
- ``corrupt``: the wrong size, or the wrong sha256.

Apart from that state, each usable file says how it was verified when it came in
(``verification``, recorded by ``prepare.install``): ``pinned`` (its sha256 is in the
catalog), ``checked`` (no pin: the server's sha256 at the first fetch, and its contents
checked to be the model before it was installed) or ``unverified`` (neither, e.g. a
folder named by ``KURA_EMBEDDER_DIR``, or a file installed before Kura recorded this).

``status()`` hashes a file only when it changed (size or mtime) since it last matched,
so it is quick; ``verify()`` hashes everything again (bit rot keeps size and mtime), as a
job (``desktop_app.core.progress``) of "verify" steps whose summary is the status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from desktop_app.core.model_files.catalog import Bundle, Catalog, Role, load_catalog
from desktop_app.core.model_files.checksums import digest_file, file_size
from desktop_app.core.model_files.identity import (
    VERIFICATION_TEXT,
    VERIFICATIONS,
    Verification,
    weakest,
)
from desktop_app.core.model_files.locations import (
    DOWNLOADS,
    embedder_target,
    role_target,
)
from desktop_app.core.model_files.state import State
from desktop_app.core.paths import llm_path_override, llm_target, models_dir
from desktop_app.core.progress import Job, run_quietly

FileState = Literal["verified", "unverified", "missing", "corrupt"]
USABLE: tuple[FileState, ...] = ("verified", "unverified")
# What the embedder cannot run without (desktop_app.core.embedder.ModelFiles.locate).
EMBEDDER_ESSENTIALS = ("model.onnx", "tokenizer.json")


@dataclass(frozen=True)
class FileStatus:
    role: Role
    name: str
    path: Path
    state: FileState
    size: int | None = None  # on disk
    expected_size: int | None = None
    problem: str = ""
    verification: Verification | None = None  # None unless usable
    checks: str = ""  # what its contents were found to be, when they were checked

    @property
    def usable(self) -> bool:
        return self.state in USABLE

    @property
    def verification_text(self) -> str:
        return VERIFICATION_TEXT[self.verification] if self.verification else ""

    def as_dict(self) -> dict[str, Any]:
        return {"role": self.role, "name": self.name, "path": str(self.path),
                "state": self.state, "size": self.size, "expected_size": self.expected_size,
                "problem": self.problem, "verification": self.verification,
                "verification_text": self.verification_text, "checks": self.checks}


@dataclass(frozen=True)
class RoleStatus:
    role: Role
    target: Path
    bundle: str | None  # which catalog bundle this is, when known
    files: tuple[FileStatus, ...]

    @property
    def ready(self) -> bool:
        return bool(self.files) and all(f.usable for f in self.files)

    @property
    def verified(self) -> bool:
        return bool(self.files) and all(f.state == "verified" for f in self.files)

    @property
    def verification(self) -> Verification | None:
        """The weakest way any of its files was verified (None when not ready)."""
        if not self.ready:
            return None
        return weakest([f.verification or "unverified" for f in self.files])


@dataclass(frozen=True)
class PartialDownload:
    bundle: str
    name: str
    bytes_on_disk: int


@dataclass(frozen=True)
class ModelsStatus:
    embedder: RoleStatus
    llm: RoleStatus
    downloads: tuple[PartialDownload, ...] = field(default=())

    @property
    def can_index(self) -> bool:
        return self.embedder.ready

    @property
    def can_answer(self) -> bool:
        return self.llm.ready

    @property
    def files(self) -> tuple[FileStatus, ...]:
        return self.embedder.files + self.llm.files

    @property
    def missing(self) -> tuple[FileStatus, ...]:
        return tuple(f for f in self.files if f.state == "missing")

    @property
    def corrupt(self) -> tuple[FileStatus, ...]:
        return tuple(f for f in self.files if f.state == "corrupt")

    def role(self, role: Role) -> RoleStatus:
        return self.embedder if role == "embedder" else self.llm

    def as_dict(self) -> dict[str, Any]:
        return {
            "can_index": self.can_index,
            "can_answer": self.can_answer,
            "roles": {r.role: {"ready": r.ready, "verified": r.verified, "bundle": r.bundle,
                               "target": str(r.target), "verification": r.verification}
                      for r in (self.embedder, self.llm)},
            "files": [f.as_dict() for f in self.files],
            "downloads": [{"bundle": d.bundle, "name": d.name, "bytes": d.bytes_on_disk}
                          for d in self.downloads],
        }


def status(catalog: Catalog | None = None, state: State | None = None) -> ModelsStatus:
    catalog = catalog or load_catalog()
    state = state or State()
    return _status(catalog, state, _Checker(state))


def verify(catalog: Catalog | None = None, state: State | None = None) -> Job[ModelsStatus]:
    """``status`` with every present file hashed again.

    Two passes, so the hashing (the slow part) can be shown and stopped: the first only
    lists the files there are to hash, the job hashes them, the second judges them with
    those fresh hashes."""
    catalog = catalog or load_catalog()
    state = state or State()
    listing = _Checker(state, listing=[])
    _status(catalog, state, listing)
    fresh: dict[Path, str] = {}
    for path, name in listing.listing or []:
        fresh[path] = (yield from digest_file(path, name)).sha256
    return _status(catalog, state, _Checker(state, fresh))


def _status(catalog: Catalog, state: State, checker: _Checker) -> ModelsStatus:
    return ModelsStatus(
        embedder=_embedder_status(catalog, state, checker),
        llm=_llm_status(catalog, state, checker),
        downloads=tuple(_partial_downloads()),
    )


class _Checker:
    """Judges each file: its sha256 from ``fresh`` (just hashed by ``verify``), else the
    state file's cache, else hashed now. With ``listing``, it hashes nothing and only
    lists the files it would hash."""

    def __init__(self, state: State, fresh: dict[Path, str] | None = None,
                 listing: list[tuple[Path, str]] | None = None) -> None:
        self.state, self.fresh, self.listing = state, fresh or {}, listing

    def check(self, role: Role, name: str, path: Path, sha256: str | None,
              size: int | None, origin: str, verification: Verification = "unverified",
              checks: str = "") -> FileStatus:
        if not path.is_file():
            return FileStatus(role, name, path, "missing", None, size)
        actual = path.stat().st_size
        if size is not None and actual != size:
            self.state.forget_path(path)
            return FileStatus(role, name, path, "corrupt", actual, size,
                              f"{actual:,} bytes, expected {size:,} ({origin})")
        if sha256 is None:
            return FileStatus(role, name, path, "unverified", actual, size,
                              "no checksum on record", "unverified")
        if self.listing is not None:
            self.listing.append((path, name))
            return FileStatus(role, name, path, "verified", actual, size)
        cached = None if path in self.fresh else self.state.cached_sha256(path)
        found = self.fresh.get(path) or cached or \
            run_quietly(digest_file(path, name)).sha256
        if found != sha256:
            self.state.forget_path(path)
            return FileStatus(role, name, path, "corrupt", actual, size,
                              f"sha256 {found[:12]}… is not {sha256[:12]}… ({origin})")
        if cached is None:
            self.state.remember_sha256(path, found)
        return FileStatus(role, name, path, "verified", actual, size,
                          verification=verification, checks=checks)


def _recorded_verification(meta: dict[str, Any]) -> Verification:
    """How an installed file was verified, as ``prepare.install`` recorded it (a record
    from before Kura kept this says nothing: unverified)."""
    found = meta.get("verification")
    return found if found in VERIFICATIONS else "unverified"


def _recorded(state: State, role: Role, target: Path) -> dict[str, Any] | None:
    record = state.installed(role)
    if record and Path(record.get("target", "")) == target:
        return record
    return None


def _embedder_status(catalog: Catalog, state: State, checker: _Checker) -> RoleStatus:
    target = embedder_target()
    record = _recorded(state, "embedder", target)
    pinned = _pinned_match(catalog, target)
    if record:
        files = tuple(
            checker.check("embedder", name, target / name, meta.get("sha256"), meta.get("size"),
                          "recorded when installed", _recorded_verification(meta),
                          str(meta.get("checks", "")))
            for name, meta in sorted(record.get("files", {}).items()))
        recorded = RoleStatus("embedder", target, record.get("bundle"), files)
        if recorded.verified or pinned is None:
            return recorded
        # The folder was replaced behind Kura's back (e.g. `python -m models.build
        # --install`); if it is now exactly a build the catalog pins, that is no damage.
        instead = _check_pinned(pinned, target, checker)
        return instead if instead.verified else recorded
    if pinned is not None:
        return _check_pinned(pinned, target, checker)
    present = sorted(p.name for p in target.iterdir() if p.is_file() and
                     not p.name.startswith(".")) if target.is_dir() else []
    names = sorted(set(EMBEDDER_ESSENTIALS) | set(present))
    files = tuple(checker.check("embedder", n, target / n, None, None, "") for n in names)
    return RoleStatus("embedder", target, None, files)


def _check_pinned(bundle: Bundle, target: Path, checker: _Checker) -> RoleStatus:
    files = tuple(
        checker.check("embedder", f.install_as, target / f.install_as, f.sha256, f.size,
                      f"catalog: {bundle.id}", "pinned")
        for f in bundle.files if not f.optional or (target / f.install_as).exists())
    return RoleStatus("embedder", target, bundle.id, files)


def _pinned_match(catalog: Catalog, target: Path) -> Bundle | None:
    """A catalog bundle whose every file is pinned and whose graph and weights are here
    with their pinned sizes: then a different sha256 means damage, not another build."""
    for bundle in catalog.for_role("embedder"):
        if not all(f.sha256 and f.size is not None for f in bundle.files):
            continue
        heavy = [f for f in bundle.required if not f.name.endswith(".json")]
        if heavy and all(file_size(target / f.install_as) == f.size for f in heavy):
            return bundle
    return None


def _llm_status(catalog: Catalog, state: State, checker: _Checker) -> RoleStatus:
    bundle = catalog.choose("llm") if catalog.for_role("llm") else None
    if bundle is None:
        return RoleStatus("llm", llm_target("model.gguf"), None, ())
    file = bundle.required[0]
    target = role_target(bundle)
    record = _recorded(state, "llm", target)
    if record:
        meta: dict[str, Any] = next(iter(record.get("files", {}).values()), {})
        checked = checker.check("llm", target.name, target, meta.get("sha256"),
                                meta.get("size"), "recorded when installed",
                                _recorded_verification(meta), str(meta.get("checks", "")))
        return RoleStatus("llm", target, record.get("bundle"), (checked,))
    if llm_path_override():  # the user's own GGUF: the catalog's sums are not its
        checked = checker.check("llm", target.name, target, None, None, "")
        return RoleStatus("llm", target, None, (checked,))
    sha, size, origin = file.sha256, file.size, "catalog"
    verification: Verification = "pinned" if sha else "unverified"
    if sha is None:  # the hub's word alone, the contents never checked
        remote = state.remote(file.key)
        if remote and remote.sha256:
            sha, size, origin = remote.sha256, remote.size, remote.origin
    checked = checker.check("llm", target.name, target, sha, size, origin, verification)
    return RoleStatus("llm", target, None, (checked,))


def _partial_downloads() -> list[PartialDownload]:
    root = models_dir() / DOWNLOADS
    if not root.is_dir():
        return []
    found = []
    for part in sorted(root.glob("*/**/*.part")):
        bundle = part.relative_to(root).parts[0]
        name = str(part.relative_to(root / bundle))[: -len(".part")]
        found.append(PartialDownload(bundle, name, part.stat().st_size))
    return found
