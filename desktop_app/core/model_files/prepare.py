"""From verified files in the staging folder to what Kura loads.

- ``check_staged``: before anything is installed, each staged file with an ``expect`` in
  the catalog is checked for what it *is* (``identity``). A file that is not the model
  is deleted (and the server's checksum recorded for it forgotten), so the next fetch
  downloads it again; nothing of its bundle is installed.
- ``install``: move the files into place under their installed names (the LLM file; the
  prebuilt q4 embedder, whose graph becomes ``model.onnx`` beside its own
  ``model_q4.onnx_data``, the name the graph refers to; Kura's own build).
- ``quantize``: run Kura's recipe (``desktop_app.core.quantize``) on onnx-community's
  fp32 graph, copy the tokenizer beside it, check that the result loads and embeds, then
  delete the 1.2 GB of fp32 files.

``install`` is a job (``desktop_app.core.progress``) that returns what Kura loads.
Quantizing cannot be stopped midway (closing the job takes effect before it starts or
once it is done); it takes a minute or two, reports its own steps to the log, and its
output is thrown away if the job is closed or the process dies.

The embedder folder is built in a temporary folder beside its target and renamed into
place, so Kura never sees half an embedder; the previous folder (if any) is removed only
after the new one is in place. Each installed file's sha256 is recorded in the state
file: the prepared embedder has no checksum anywhere else, together with how each file
was verified (``pinned``, ``checked`` or ``unverified``; ``identity.VERIFICATIONS``).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop_app.core.errors import ModelFileError
from desktop_app.core.model_files.catalog import Bundle, Catalog, CatalogFile
from desktop_app.core.model_files.checksums import digest_file
from desktop_app.core.model_files.identity import (
    Identified,
    NotTheModel,
    Verification,
    identify,
    weakest,
)
from desktop_app.core.model_files.locations import (
    downloads_dir,
    role_target,
    staged_path,
    staging_dir,
)
from desktop_app.core.model_files.state import State
from desktop_app.core.progress import Job, Progress

_log = logging.getLogger("kura.models")


def missing_staged(bundle: Bundle) -> list[str]:
    """Required files of ``bundle`` not (yet) verified in the staging folder."""
    return [f.name for f in bundle.required if not staged_path(f).is_file()]


def install(bundle: Bundle, state: State | None = None) -> Job[Path]:
    """Install ``bundle`` from its staging folder; returns the file or folder Kura loads."""
    state = state or State()
    missing = missing_staged(bundle)
    if missing:
        raise ModelFileError(staging_dir(bundle), f"not ready to install: {missing} missing")
    checks = yield from check_staged(bundle, state)
    if bundle.role == "llm":
        target = yield from _install_file(bundle, state, checks)
    else:
        target = yield from _install_embedder(bundle, state, checks)
    shutil.rmtree(staging_dir(bundle), ignore_errors=True)
    return target


@dataclass(frozen=True)
class FileCheck:
    """How one staged file was verified, and what its contents were found to be."""

    verification: Verification
    checks: str = ""

    def record(self) -> dict[str, str]:
        return {"verification": self.verification, "checks": self.checks}


def check_staged(bundle: Bundle, state: State | None = None) -> Job[dict[str, FileCheck]]:
    """Check what each staged file of ``bundle`` is; by catalog name, how it was verified.

    Raises NotTheModel (naming the file, in a sentence a person can act on) after
    deleting the file at fault and forgetting the checksum its server reported.
    """
    state = state or State()
    found: dict[str, Identified] = {}
    for file in bundle.files:
        path = staged_path(file)
        if file.expect is None or not path.is_file():
            continue
        yield Progress("verify", item=file.name, message=f"checking it is {file.expect.what}")
        try:
            found[file.name] = identify(path, file.expect, file.name)
        except NotTheModel as exc:
            culprit = next((f for f in bundle.files if staged_path(f) == exc.culprit), file)
            staged_path(culprit).unlink(missing_ok=True)
            # The recorded checksum vouched for the wrong bytes: ask the server afresh.
            state.forget_remote(culprit.key)
            raise NotTheModel(file.name, f"{exc.problem} Kura deleted its copy, so the next "
                                         "download or import starts afresh.",
                              exc.culprit) from None
    covered = {name for identified in found.values() for name in identified.covers}
    results: dict[str, FileCheck] = {}
    for file in bundle.files:
        if not staged_path(file).is_file():
            continue
        identified = found.get(file.name)
        checked = identified is not None or file.basename in covered
        summary = identified.summary if identified else \
            "size checked against the graph that uses it" if checked else ""
        results[file.name] = FileCheck(_verification(file, checked), summary)
    return results


def _verification(file: CatalogFile, checked: bool) -> Verification:
    if file.sha256:
        return "pinned"
    return "checked" if checked else "unverified"


def discard_other_downloads(catalog: Catalog, installed: Bundle) -> None:
    """Once a role is installed, partial downloads of its other bundles are dead weight
    (e.g. 1.2 GB of fp32 left from an attempt before switching to --low-bandwidth)."""
    for bundle in catalog.for_role(installed.role):
        if bundle.id != installed.id:
            shutil.rmtree(downloads_dir() / bundle.id, ignore_errors=True)


def _install_file(bundle: Bundle, state: State, checks: dict[str, FileCheck]) -> Job[Path]:
    (file,) = bundle.required
    target = role_target(bundle)
    source = staged_path(file)
    digest = yield from digest_file(source, file.install_as)
    yield Progress("install", item=file.install_as, message=f"moving into {target.parent}")
    _move_file(source, target)
    state.remember_sha256(target, digest.sha256)
    state.record_installed("llm", bundle.id, target, {
        file.install_as: {"size": digest.size, "sha256": digest.sha256,
                          **checks.get(file.name, FileCheck("unverified")).record()}})
    return target


def _install_embedder(bundle: Bundle, state: State,
                      checks: dict[str, FileCheck]) -> Job[Path]:
    target = role_target(bundle)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".tmp-{target.name}-"))
    try:
        if bundle.prepare == "quantize":
            yield from _quantize_into(bundle, tmp)
            # Files made here have no published checksum: check they work instead.
            check_embedder_loads(tmp)
        else:  # published bytes, already checked against their sha256
            for file in bundle.files:
                if staged_path(file).is_file():
                    os.replace(staged_path(file), tmp / file.install_as)
        files: dict[str, dict[str, Any]] = {}
        sums: dict[str, str] = {}
        by_installed, other = _checks_by_installed_name(bundle, checks)
        for path in sorted(p for p in tmp.iterdir() if p.is_file()):
            digest = yield from digest_file(path)
            files[path.name] = {"size": digest.size, "sha256": digest.sha256,
                                **by_installed.get(path.name, other).record()}
            sums[path.name] = digest.sha256
        yield Progress("install", item=bundle.id, message=f"moving into {target}")
        swap_dir(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for name, sha in sums.items():
        state.remember_sha256(target / name, sha)
    state.record_installed("embedder", bundle.id, target, files)
    return target


def _checks_by_installed_name(bundle: Bundle, checks: dict[str, FileCheck],
                              ) -> tuple[dict[str, FileCheck], FileCheck]:
    """Per installed file name, and for files no catalog entry names: what Kura's recipe
    made is as trustworthy as the weakest of the graph and weights it was made from (and
    it was seen to load and embed)."""
    graph_files = (".onnx", ".onnx_data")
    if bundle.prepare != "quantize":
        return ({f.install_as: checks[f.name] for f in bundle.files if f.name in checks},
                FileCheck("unverified"))
    inputs = [checks[f.name].verification for f in bundle.files
              if f.name in checks and f.name.endswith(graph_files)]
    made = FileCheck(weakest(inputs), "made on this computer by Kura's recipe from the "
                                      "downloaded graph; it loads and embeds")
    return ({f.install_as: checks[f.name] for f in bundle.files
             if f.name in checks and not f.name.endswith(graph_files)}, made)


def _quantize_into(bundle: Bundle, tmp: Path) -> Job[None]:
    from desktop_app.core.quantize import DEFAULT_RECIPE, quantize

    graphs = [f for f in bundle.required if f.name.endswith(".onnx")]
    if len(graphs) != 1:
        raise ModelFileError(staging_dir(bundle), "expected exactly one .onnx graph")
    source = staged_path(graphs[0])

    yield Progress("prepare", item=bundle.id, message=f"quantizing with Kura's recipe "
                                                      f"{DEFAULT_RECIPE.name} (a minute or two)")
    try:
        with _quiet_quantizer():
            quantize(source, tmp / "model.onnx", DEFAULT_RECIPE, progress=_log.info)
    except Exception as exc:  # onnx: ValueError, protobuf's DecodeError, onnxruntime's...
        # The fp32 files stay in the staging folder, so the user need not download
        # 1.2 GB again once the cause is fixed.
        raise ModelFileError(source, f"Kura's recipe could not quantize it ({exc})") from exc
    for file in bundle.files:
        if not file.name.endswith((".onnx", ".onnx_data")) and staged_path(file).is_file():
            shutil.copy2(staged_path(file), tmp / file.install_as)


def check_embedder_loads(folder: Path) -> None:
    """Load the embedder from ``folder`` and embed one query: a 768-d unit vector.

    Cheap (a second or two) next to what it guards against: installing a graph that
    cannot run, and deleting the fp32 files it was made from.
    """
    import numpy as np

    from desktop_app.core.embedder import Embedder

    embedder = Embedder(folder)
    vector = embedder.embed_queries(["kura"])
    norm = float(np.linalg.norm(vector[0])) if vector.shape == (1, 768) else 0.0
    if abs(norm - 1.0) > 1e-3:
        raise ModelFileError(folder, f"the embedder gives vectors of shape {vector.shape} "
                                     f"and norm {norm:.3f}, not 768-d unit vectors")
    del embedder


def swap_dir(tmp: Path, target: Path) -> None:
    """Put ``tmp`` where ``target`` is, with the old folder kept until the new one is in."""
    old: Path | None = None
    if target.exists() or target.is_symlink():
        old = target.with_name(f".old-{target.name}-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    try:
        os.replace(tmp, target)
    except OSError:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _move_file(source: Path, target: Path) -> None:
    """``os.replace``, or copy-then-rename when ``target`` is on another disk
    (``KURA_LLM_PATH`` may point anywhere): never a half-copied file under its name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(source, target)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    partial = target.with_name(target.name + ".part")
    shutil.copyfile(source, partial)
    os.replace(partial, target)
    source.unlink()


@contextlib.contextmanager
def _quiet_quantizer() -> Iterator[None]:
    # onnxruntime's quantizer logs one INFO line per node (thousands); progress says enough.
    logger = logging.getLogger("onnxruntime.quantization")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
