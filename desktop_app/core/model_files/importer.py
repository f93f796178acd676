"""``import_dir``: take model files from a folder or USB stick, for computers that are
never online.

The folder may hold the files flat (``model.onnx``, ``tokenizer.json``...) or in the
hub's layout (``onnx/model.onnx``), at any depth up to a few folders down. Every file is
copied into the staging folder while it is hashed, checked, and only then renamed and
installed, exactly as a download would be; the source is never modified.

A file is accepted when its sha256 matches the catalog's pin, what the hub reported on
an earlier fetch (the state file), or a checksum file in the folder (``SHA256SUMS`` /
``*.sha256`` lines ``<sha256>  <name>``, or a Kura ``manifest.json``). A file with no
known checksum is refused: a copy from a failing USB stick looks like any other file.
A file that hashes right but is not the model (``identity``: wrong architecture, size,
tokenizer...) is refused too, with a sentence saying what it is instead.

``import_dir`` is a job (``desktop_app.core.progress``) whose summary is an
``ImportReport``; closed midway, it leaves no file half copied under its name.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from desktop_app.core.errors import KuraError
from desktop_app.core.fileio import BLOCK
from desktop_app.core.model_files.catalog import ROLES, Bundle, Catalog, CatalogFile, Role
from desktop_app.core.model_files.catalog import load_catalog as _load_catalog
from desktop_app.core.model_files.checksums import (
    Digest,
    Expected,
    check_digest,
    file_size,
    parse_checksum_file,
)
from desktop_app.core.model_files.downloader import check_free_space
from desktop_app.core.model_files.errors import ChecksumMismatch
from desktop_app.core.model_files.identity import NotTheModel
from desktop_app.core.model_files.locations import downloads_dir, staged_path
from desktop_app.core.model_files.model_status import status
from desktop_app.core.model_files.prepare import discard_other_downloads, install
from desktop_app.core.model_files.state import State
from desktop_app.core.progress import Job, Progress, RateMeter

MAX_DEPTH = 4
CHECKSUM_FILES = ("SHA256SUMS", "SHA256SUMS.txt", "sha256sums.txt", "checksums.sha256")


@dataclass(frozen=True)
class Rejected:
    path: Path
    problem: str


@dataclass(frozen=True)
class ImportReport:
    installed: dict[Role, Path]
    bundles: dict[Role, str]
    rejected: tuple[Rejected, ...]
    already_ready: tuple[Role, ...]
    not_found: tuple[Role, ...]  # roles for which the folder had no complete bundle


def import_dir(
    folder: Path,
    *,
    roles: tuple[Role, ...] = ROLES,
    catalog: Catalog | None = None,
    force: bool = False,
) -> Job[ImportReport]:
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise KuraError(f"{folder} is not a folder")
    catalog = catalog or _load_catalog()
    state = State()
    current = status(catalog)
    found = _index(folder)
    sums = _folder_checksums(folder)

    installed: dict[Role, Path] = {}
    chosen: dict[Role, str] = {}
    rejected: list[Rejected] = []
    ready: list[Role] = []
    not_found: list[Role] = []
    for role in roles:
        if current.role(role).ready and not force:
            ready.append(role)
            continue
        match = _match(catalog, role, found)
        if match is None:
            not_found.append(role)
            continue
        bundle, sources = match
        problems = yield from _stage(bundle, sources, sums, state)
        if problems:
            rejected.extend(problems)
            continue
        try:
            installed[role] = yield from install(bundle, state)
        except NotTheModel as exc:
            culprit = next((f for f in bundle.files if staged_path(f) == exc.culprit), None)
            source = sources.get(culprit) if culprit else None
            rejected.append(Rejected(source or sources[bundle.required[0]], exc.problem))
            continue
        discard_other_downloads(catalog, bundle)
        chosen[role] = bundle.id
    if not installed and not rejected and not ready:
        names = sorted({f.basename for b in catalog.bundles for f in b.required})
        raise KuraError(f"no model files found in {folder} (looked for {', '.join(names)})")
    return ImportReport(installed, chosen, tuple(rejected), tuple(ready), tuple(not_found))


def _index(folder: Path) -> dict[str, list[Path]]:
    """Every file under ``folder`` (a few levels deep), by file name."""
    by_name: dict[str, list[Path]] = {}
    for path in _walk(folder, 0):
        by_name.setdefault(path.name, []).append(path)
    return by_name


def _walk(folder: Path, depth: int) -> Iterator[Path]:
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_file():
            yield entry
        elif entry.is_dir() and depth < MAX_DEPTH:
            yield from _walk(entry, depth + 1)


def _match(catalog: Catalog, role: Role, found: dict[str, list[Path]],
           ) -> tuple[Bundle, dict[CatalogFile, Path]] | None:
    """The bundle of ``role`` whose required files are all in the folder.

    Pinned bundles are tried first, and one whose pinned sizes agree wins: ``model.onnx``
    in a flat folder may be Kura's build or onnx-community's fp32 graph, and the size
    tells which. Failing that, a bundle matched by names alone is returned, so a
    truncated copy is reported as damaged rather than as not found.
    """
    bundles = sorted(catalog.for_role(role),
                     key=lambda b: (not all(f.sha256 for f in b.required), not b.default))
    by_name: list[tuple[Bundle, dict[CatalogFile, Path]]] = []
    for bundle in bundles:
        for sized in (True, False):
            sources: dict[CatalogFile, Path] = {}
            for file in bundle.files:
                path = _candidate(file, found, sized)
                if path is not None:
                    sources[file] = path
            if all(f in sources for f in bundle.required):
                if sized:
                    return bundle, sources
                by_name.append((bundle, sources))
    return by_name[0] if by_name else None


def _candidate(file: CatalogFile, found: dict[str, list[Path]], sized: bool) -> Path | None:
    paths = [p for p in found.get(file.basename, [])
             if not sized or file.size is None or file_size(p) == file.size]
    if not paths:
        return None
    # Prefer the hub's layout (".../onnx/model.onnx") when the name has folders in it.
    suffix = tuple(file.name.split("/"))
    exact = [p for p in paths if p.parts[-len(suffix):] == suffix]
    return (exact or paths)[0]


def _stage(bundle: Bundle, sources: dict[CatalogFile, Path], sums: dict[str, str],
           state: State) -> Job[list[Rejected]]:
    """Copy and verify each file into staging; the problems, if any (then nothing)."""
    plan: list[tuple[CatalogFile, Path, Expected]] = []
    problems: list[Rejected] = []
    for file, source in sources.items():
        expected = _expected(file, source, sums, state)
        if expected is None:
            if not file.optional:
                problems.append(Rejected(source, "no checksum is known for it: put a "
                                         "SHA256SUMS file beside it, or fetch once online"))
            continue
        plan.append((file, source, expected))
    if problems:
        return problems
    needed = sum(file_size(src) or 0 for _f, src, _e in plan) + bundle.extra_bytes
    check_free_space(downloads_dir(), needed)
    for file, source, expected in plan:
        try:
            yield from copy_verified(source, staged_path(file), expected)
        except ChecksumMismatch as exc:
            problems.append(Rejected(source, exc.problem))
    return problems


def _expected(file: CatalogFile, source: Path, sums: dict[str, str],
              state: State) -> Expected | None:
    if file.sha256:
        return Expected(sha256=file.sha256, size=file.size, origin="catalog")
    recorded = state.remote(file.key)
    if recorded and recorded.known:
        return recorded
    sha = sums.get(source.name)
    return Expected(sha256=sha, origin=f"checksum file in {source.parent}") if sha else None


def _folder_checksums(folder: Path) -> dict[str, str]:
    sums: dict[str, str] = {}
    for path in _walk(folder, 0):
        if path.name in CHECKSUM_FILES or path.suffix == ".sha256":
            sums.update(parse_checksum_file(path))
        elif path.name == "manifest.json":  # Kura's build manifest (models/build.py)
            sums.update(_manifest_sums(path))
    return sums


def _manifest_sums(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(f["name"]): str(f["sha256"]) for f in data.get("files", [])}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def copy_verified(source: Path, dest: Path, expected: Expected) -> Job[Path]:
    """Copy ``source`` to ``dest`` via ``dest.part``, hashing the copy as it is written;
    ``dest`` appears only if the hash matched (not when the job is closed midway)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    total = source.stat().st_size
    sha256 = hashlib.sha256()
    git = hashlib.sha1(f"blob {total}\0".encode(), usedforsecurity=False)
    meter = RateMeter()
    done = 0
    try:
        with open(source, "rb") as src, open(part, "wb") as out:
            while chunk := src.read(BLOCK):
                out.write(chunk)
                sha256.update(chunk)
                git.update(chunk)
                done += len(chunk)
                rate, eta = meter.measure(done, total)
                yield Progress("copy", done, total, "bytes", source.name, rate, eta)
            out.flush()
            os.fsync(out.fileno())
        check_digest(source, Digest(sha256.hexdigest(), git.hexdigest(), done), expected)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, dest)
    return dest
