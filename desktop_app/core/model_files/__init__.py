"""Model files: downloaded once, verified, resumable, importable, then never the network.

One module per concept:

- ``catalog`` (+ ``catalog.json``): every file Kura needs, its sources and checksums;
- ``mirror``: the base URL (``--mirror``, ``HF_ENDPOINT``, the hub);
Downloading, importing, installing and verifying are jobs: generators of
``desktop_app.core.progress.Progress`` whose summary is their return value.

- ``downloader``: resumable, retried, verified HTTP downloads, and the hub's HEAD metadata;
- ``checksums``, ``state``: what a file must hash to, and what Kura recorded;
- ``identity``: what a file must *be* (a Gemma 3 4B GGUF, an EmbeddingGemma graph...),
  checked before it is installed, and how each file was verified (pinned / checked);
- ``prepare``: staged files to what Kura loads (Kura's quantize recipe, atomic installs);
- ``fetcher``, ``importer``: the two ways in (the network, a folder or USB stick);
- ``model_status``: per file verified / unverified / missing / corrupt; can index / can answer;
- ``offline``: library switches off the network, the process-wide network policy (this
  machine, the answer server the user named, downloads), and a socket guard for tests.
"""

from desktop_app.core.model_files.catalog import (
    ROLES,
    Bundle,
    Catalog,
    CatalogFile,
    Role,
    load_catalog,
)
from desktop_app.core.model_files.checksums import Expected
from desktop_app.core.model_files.downloader import HttpOptions, RemoteInfo, download, probe
from desktop_app.core.model_files.errors import (
    ChecksumMismatch,
    DownloadError,
    NotEnoughSpace,
    Unverifiable,
)
from desktop_app.core.model_files.fetcher import FetchReport, fetch, plan
from desktop_app.core.model_files.identity import NotTheModel, Verification
from desktop_app.core.model_files.importer import ImportReport, Rejected, import_dir
from desktop_app.core.model_files.mirror import base_url
from desktop_app.core.model_files.model_status import (
    FileStatus,
    ModelsStatus,
    RoleStatus,
    status,
    verify,
)
from desktop_app.core.model_files.offline import (
    NetworkBlocked,
    NetworkPolicy,
    ServerAddress,
    allow_any_host,
    enable_offline,
    network_policy,
    parse_server_url,
    restrict_network,
    socket_guard,
)
from desktop_app.core.model_files.prepare import check_embedder_loads, install

__all__ = [
    "ROLES",
    "Bundle",
    "Catalog",
    "CatalogFile",
    "ChecksumMismatch",
    "DownloadError",
    "Expected",
    "FetchReport",
    "FileStatus",
    "HttpOptions",
    "ImportReport",
    "ModelsStatus",
    "NetworkBlocked",
    "NetworkPolicy",
    "NotEnoughSpace",
    "NotTheModel",
    "Rejected",
    "RemoteInfo",
    "Role",
    "RoleStatus",
    "ServerAddress",
    "Unverifiable",
    "Verification",
    "allow_any_host",
    "base_url",
    "check_embedder_loads",
    "download",
    "enable_offline",
    "fetch",
    "import_dir",
    "install",
    "load_catalog",
    "network_policy",
    "parse_server_url",
    "plan",
    "probe",
    "restrict_network",
    "socket_guard",
    "status",
    "verify",
]
