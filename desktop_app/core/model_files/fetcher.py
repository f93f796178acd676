"""``fetch``: get whatever model files are missing or damaged, then install them.

1. ``status`` says which roles are not ready (missing or corrupt files).
2. For each file the catalog does not pin, one HEAD asks the hub (or mirror) for its
   sha256 and size, which are recorded; if they differ from what was recorded before,
   the file changed upstream and a ``.part`` of the old version is thrown away.
3. The free space for everything still to download (and for preparing it) is checked
   before the first byte.
4. Each file is downloaded (resumed, retried, verified: ``downloader.download``) into the
   staging folder, then each bundle is checked for what its files are and installed
   (``prepare.install``). A bundle whose file is not the model is not installed (the
   file is deleted, so the next fetch downloads it again); the other bundles still are,
   and the first such problem is raised at the end.

``fetch`` is a job (``desktop_app.core.progress``) whose summary is a ``FetchReport``.
Closed or interrupted at any point, the next ``fetch`` picks up where this one stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop_app.core.model_files.catalog import ROLES, Bundle, Catalog, CatalogFile, Role
from desktop_app.core.model_files.catalog import load_catalog as _load_catalog
from desktop_app.core.model_files.checksums import Expected
from desktop_app.core.model_files.downloader import (
    HttpOptions,
    check_free_space,
    download,
    partial_path,
    probe,
)
from desktop_app.core.model_files.errors import DownloadError, Unverifiable
from desktop_app.core.model_files.identity import NotTheModel
from desktop_app.core.model_files.locations import downloads_dir, staged_path
from desktop_app.core.model_files.mirror import base_url, source_url
from desktop_app.core.model_files.model_status import status
from desktop_app.core.model_files.prepare import discard_other_downloads, install
from desktop_app.core.model_files.state import State
from desktop_app.core.progress import Job, Progress


@dataclass(frozen=True)
class FetchReport:
    installed: dict[Role, Path]  # what this run installed, by role
    already_ready: tuple[Role, ...]
    bundles: dict[Role, str]  # the bundle chosen per role installed


def plan(roles: Sequence[Role] = ROLES, low_bandwidth: bool = False,
         catalog: Catalog | None = None, force: bool = False) -> list[Bundle]:
    """The bundles ``fetch`` would download: one per role that is not ready."""
    catalog = catalog or _load_catalog()
    current = status(catalog)
    return [catalog.choose(role, low_bandwidth) for role in roles
            if force or not current.role(role).ready]


def fetch(
    roles: Sequence[Role] = ROLES,
    *,
    low_bandwidth: bool = False,
    mirror: str | None = None,
    catalog: Catalog | None = None,
    options: HttpOptions | None = None,
    force: bool = False,
) -> Job[FetchReport]:
    catalog = catalog or _load_catalog()
    options = options or HttpOptions()
    base = base_url(mirror, catalog.base_url)
    state = State()
    bundles = plan(roles, low_bandwidth, catalog, force)
    ready = tuple(r for r in roles if r not in {b.role for b in bundles})

    wanted: list[tuple[Bundle, CatalogFile, Expected]] = []
    for bundle in bundles:
        for file in bundle.files:
            expected = yield from _expected(file, base, state, options)
            if expected is not None:
                wanted.append((bundle, file, expected))

    needed = sum(_still_to_download(f, e) for _b, f, e in wanted)
    needed += sum(b.extra_bytes for b in bundles)
    check_free_space(downloads_dir(), needed, options.min_free)

    for _bundle, file, expected in wanted:
        urls = [source_url(base, s) for s in file.sources]
        yield from download(urls, staged_path(file), expected, name=file.name,
                            options=options)

    installed: dict[Role, Path] = {}
    refused: list[NotTheModel] = []
    for bundle in bundles:
        try:
            installed[bundle.role] = yield from install(bundle, state)
        except NotTheModel as exc:
            refused.append(exc)
            continue
        discard_other_downloads(catalog, bundle)
    if refused:
        raise refused[0]
    return FetchReport(installed, ready, {b.role: b.id for b in bundles})


def _expected(file: CatalogFile, base: str, state: State,
              options: HttpOptions) -> Job[Expected | None]:
    """The checksum ``file`` must match; None for an optional file the server lacks."""
    if file.sha256:
        return Expected(sha256=file.sha256, size=file.size, origin="catalog")
    yield Progress("probe", item=file.name, message="asking the server for its checksum")
    errors: list[str] = []
    for source in file.sources:
        url = source_url(base, source)
        try:
            info = yield from probe(url, options)
        except DownloadError as exc:
            errors.append(str(exc))
            continue
        remote = info.expected()
        if not remote.known:
            errors.append(f"{url} reports no checksum (X-Linked-Etag / ETag)")
            continue
        if file.size is not None and remote.size is not None and remote.size != file.size:
            errors.append(f"{url} is {remote.size:,} bytes, the catalog says {file.size:,}")
            continue
        recorded = state.remote(file.key)
        if recorded and (recorded.sha256, recorded.git_sha1) != (remote.sha256,
                                                               remote.git_sha1):
            # A new version upstream: bytes kept from the old one must not be resumed.
            partial_path(staged_path(file)).unlink(missing_ok=True)
        state.record_remote(file.key, remote, url)
        return remote
    recorded = state.remote(file.key)
    if recorded is not None and recorded.known and not any("reports no" in e for e in errors):
        # The server is out of reach now, but the file was probed before: a staged copy
        # (or .part) can still be checked, and the download will say what is wrong.
        return recorded
    if file.optional:
        return None
    if any("reports no checksum" in e for e in errors):
        raise Unverifiable(f"{file.name}: the catalog pins no checksum and the server gives "
                           f"none ({'; '.join(errors)}). Use the hub or a mirror that "
                           "reports X-Linked-Etag, or import the file with its SHA256SUMS.")
    raise DownloadError(f"cannot reach {file.name}: {'; '.join(errors)}")


def _still_to_download(file: CatalogFile, expected: Expected) -> int:
    if expected.size is None:
        return 0
    dest = staged_path(file)
    if dest.exists():
        return 0
    part = partial_path(dest)
    have = part.stat().st_size if part.exists() else 0
    return max(0, expected.size - have)
