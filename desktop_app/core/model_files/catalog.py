"""The catalog: every file Kura needs, where it comes from and how to check it.

It ships as ``catalog.json`` beside this module (data, not code, so a release can pin
checksums without touching logic). Files come in *bundles*: a set that is fetched,
checked and installed together. A role (``embedder`` or ``llm``) may have several
bundles; ``Catalog.choose`` picks the one to download.

A file may carry an ``expect`` object: what the file must *be* (a Gemma 3 4B GGUF, an
EmbeddingGemma graph, Gemma's tokenizer), checked before it is installed whatever its
checksum says (``identity``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal, cast

from desktop_app.core.errors import KuraError
from desktop_app.core.model_files.identity import Expect

Role = Literal["embedder", "llm"]
Prepare = Literal["quantize", "install"]
ROLES: tuple[Role, ...] = ("embedder", "llm")
CATALOG_PATH = Path(__file__).with_name("catalog.json")

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class CatalogFile:
    bundle: str
    role: Role
    name: str  # path in the source layout, e.g. "onnx/model.onnx"
    install_as: str  # name in the folder Kura loads from
    size: int | None  # None: not pinned ahead (taken from the hub, then recorded)
    sha256: str | None
    license: str
    sources: tuple[str, ...]  # relative to a base URL, or absolute
    optional: bool = False  # nice to have (e.g. tokenizer_config.json); 404 is no failure
    # What the file must be, checked before it is installed; None: nothing to check.
    expect: Expect | None = field(default=None, compare=False)

    @property
    def basename(self) -> str:
        return PurePosixPath(self.name).name

    @property
    def key(self) -> str:
        """Names the file across runs (the state file's key for what the hub reported)."""
        return f"{self.bundle}/{self.name}"


@dataclass(frozen=True)
class Bundle:
    id: str
    role: Role
    prepare: Prepare  # "quantize": run Kura's recipe; "install": move files into place
    files: tuple[CatalogFile, ...]
    name: str = ""  # the model's name as the window shows it ("Gemma 3 4B")
    summary: str = ""
    quality: str = ""
    approx_bytes: int = 0  # for display only: never used to verify
    extra_bytes: int = 0  # disk needed beyond the downloads (e.g. the quantized output)
    default: bool = False
    low_bandwidth: bool = False

    @property
    def required(self) -> tuple[CatalogFile, ...]:
        return tuple(f for f in self.files if not f.optional)

    @property
    def downloadable(self) -> bool:
        return all(f.sources for f in self.required)

    def file(self, name: str) -> CatalogFile:
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(name)


@dataclass(frozen=True)
class Catalog:
    base_url: str
    bundles: tuple[Bundle, ...]

    def bundle(self, bundle_id: str) -> Bundle:
        for b in self.bundles:
            if b.id == bundle_id:
                return b
        raise KuraError(f"the model catalog has no bundle {bundle_id!r}")

    def for_role(self, role: Role) -> tuple[Bundle, ...]:
        return tuple(b for b in self.bundles if b.role == role)

    def choose(self, role: Role, low_bandwidth: bool = False) -> Bundle:
        """The bundle ``kura models fetch`` downloads for ``role``."""
        candidates = [b for b in self.for_role(role) if b.downloadable]
        if low_bandwidth:
            light = [b for b in candidates if b.low_bandwidth]
            candidates = light or candidates
        else:
            candidates = [b for b in candidates if b.default] or candidates
        if not candidates:
            raise KuraError(f"the model catalog lists no download for the {role}")
        return candidates[0]


def load_catalog(path: Path | None = None) -> Catalog:
    """Read and check a catalog (the shipped one by default)."""
    path = Path(path) if path else CATALOG_PATH
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KuraError(f"cannot read the model catalog {path}: {exc}") from exc
    try:
        bundles = tuple(_bundle(b) for b in data["bundles"])
        catalog = Catalog(base_url=str(data.get("base_url", "https://huggingface.co")),
                          bundles=bundles)
    except (KeyError, TypeError, ValueError) as exc:
        raise KuraError(f"the model catalog {path} is malformed: {exc}") from exc
    ids = [b.id for b in bundles]
    if len(set(ids)) != len(ids):
        raise KuraError(f"the model catalog {path} repeats a bundle id: {ids}")
    return catalog


def _bundle(raw: dict[str, Any]) -> Bundle:
    role = raw["role"]
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    prepare = raw.get("prepare", "install")
    if prepare not in ("quantize", "install"):
        raise ValueError(f"unknown prepare step {prepare!r}")
    bundle_id = str(raw["id"])
    files = tuple(_file(bundle_id, cast(Role, role), f) for f in raw["files"])
    targets = [f.install_as for f in files]
    if len(set(targets)) != len(targets):
        raise ValueError(f"{bundle_id}: two files install under the same name")
    return Bundle(
        id=bundle_id,
        role=cast(Role, role),
        prepare=cast(Prepare, prepare),
        files=files,
        name=str(raw.get("name", "")),
        summary=str(raw.get("summary", "")),
        quality=str(raw.get("quality", "")),
        approx_bytes=int(raw.get("approx_bytes", 0)),
        extra_bytes=int(raw.get("extra_bytes", 0)),
        default=bool(raw.get("default", False)),
        low_bandwidth=bool(raw.get("low_bandwidth", False)),
    )


def _file(bundle: str, role: Role, raw: dict[str, Any]) -> CatalogFile:
    name = str(raw["name"])
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts or not name:
        raise ValueError(f"{bundle}: file name {name!r} must be a relative path")
    sha = raw.get("sha256")
    if sha is not None and not _SHA256.match(sha):
        raise ValueError(f"{bundle}/{name}: sha256 must be 64 lowercase hex digits")
    size = raw.get("size")
    if size is not None and (not isinstance(size, int) or size < 0):
        raise ValueError(f"{bundle}/{name}: size must be a byte count")
    expect = raw.get("expect")
    if expect is not None and not isinstance(expect, dict):
        raise ValueError(f"{bundle}/{name}: expect must be an object")
    install_as = str(raw.get("install_as") or pure.name)
    if "/" in install_as or "\\" in install_as:
        raise ValueError(f"{bundle}/{name}: install_as must be a plain file name")
    return CatalogFile(
        bundle=bundle,
        role=role,
        name=name,
        install_as=install_as,
        size=size,
        sha256=sha,
        license=str(raw.get("license", "")),
        sources=tuple(str(s) for s in raw.get("sources", ())),
        optional=bool(raw.get("optional", False)),
        expect=Expect.parse(expect) if expect is not None else None,
    )


# -- keeping the catalog in step with Kura's own build ---------------------------------

KURA_BUILD_BUNDLE = "embedder-kura"


def kura_build_files(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``embedder-kura`` entries for a ``models/manifest.json`` (Kura's build record).

    The small tokenizer side files are optional: the embedder reads only tokenizer.json.
    """
    files = []
    for f in manifest["files"]:
        name = str(f["name"])
        entry: dict[str, Any] = {"name": name, "size": int(f["size"]),
                                 "sha256": str(f["sha256"]), "license": f.get("license", ""),
                                 "sources": []}
        if name.endswith(".json") and name != "tokenizer.json":
            entry["optional"] = True
        files.append(entry)
    return files


def sync_kura_build(manifest_path: Path, catalog_path: Path = CATALOG_PATH) -> bool:
    """Rewrite the catalog's ``embedder-kura`` files from ``manifest_path``; True if they
    changed. ``python -m models.build --write-manifest`` should call it (a test checks
    that the two agree)."""
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    data = json.loads(catalog_path.read_text(encoding="utf-8"))
    bundle = next(b for b in data["bundles"] if b["id"] == KURA_BUILD_BUNDLE)
    files = kura_build_files(manifest)
    if bundle["files"] == files:
        return False
    bundle["files"] = files
    bundle["approx_bytes"] = sum(f["size"] for f in files)
    catalog_path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n",
                            encoding="utf-8")
    return True

