"""The preparation step: fp32 files from the hub's layout -> Kura's recipe -> the embedder
folder, atomically; the fp32 files deleted only once the result loads."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import onnx
import pytest

from desktop_app.core.errors import ModelFileError
from desktop_app.core.model_files.fetcher import fetch
from desktop_app.core.model_files.locations import downloads_dir, staged_path
from desktop_app.core.model_files.model_status import status
from desktop_app.core.model_files.prepare import swap_dir
from desktop_app.core.paths import embedder_dir
from desktop_app.core.progress import run_quietly
from tests.support.jobs import run
from tests.support.model_like import shipped_expect
from tests.support.model_server import ModelServer
from tests.support.toy_models import FAST, MB, blob, sha256, source, write_catalog

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "added_tokens.json")


def fp32_bundle(names: list[str], optional: tuple[str, ...] = (),
                expect: bool = False) -> dict:
    """Like the shipped ``embedder-fp32``: nothing pinned, quantized after download (and,
    with ``expect``, its files checked against the shipped expectations)."""
    def entry(n: str) -> dict:
        found = {"name": n, "size": None, "sha256": None, "optional": n in optional,
                 "sources": [source(n)]}
        if expect and n != "onnx/model.onnx_data":
            found["expect"] = shipped_expect("embedder-fp32", n)
        return found

    return {"id": "fp32", "role": "embedder", "default": True, "prepare": "quantize",
            "extra_bytes": 0, "files": [entry(n) for n in names]}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 * MB):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.mark.slow
def test_the_real_fp32_graph_is_fetched_quantized_and_loads(
        server: ModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop_app.core.embedder import Embedder
    from desktop_app.core.model_files import catalog as catalog_module
    from models.build import fp32_onnx_dir

    fp32 = fp32_onnx_dir(log=lambda _m: None)
    # onnx-community's layout names the weights model.onnx_data; Kura's export says
    # model.onnx.data. Rewrite the graph's pointer (2 MB) and serve the 1.2 GB as is.
    graph = onnx.load(str(fp32 / "model.onnx"), load_external_data=False)
    for tensor in onnx.external_data_helper._get_all_tensors(graph):
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "model.onnx_data"
    graph_bytes = graph.SerializeToString()
    server.add(source("onnx/model.onnx"), graph_bytes)
    weights = fp32 / "model.onnx.data"
    server.add(source("onnx/model.onnx_data"), file=weights, sha256=file_sha256(weights))
    for name in TOKENIZER_FILES:
        server.add(source(name), (fp32 / name).read_bytes())

    names = ["onnx/model.onnx", "onnx/model.onnx_data", *TOKENIZER_FILES]
    path = tmp_path / "catalog.json"
    write_catalog(path, [fp32_bundle(names, optional=TOKENIZER_FILES[1:], expect=True)])
    monkeypatch.setattr(catalog_module, "CATALOG_PATH", path)

    steps: list[str] = []
    report = run(fetch(["embedder"], mirror=server.base,
                       options=FAST.__class__(chunk=MB, min_free=0)),
                 lambda e: steps.append(e.message) if e.stage == "prepare" else None)
    assert report.installed["embedder"] == embedder_dir()
    assert any("Kura's recipe" in s for s in steps)
    installed = {p.name for p in embedder_dir().iterdir()}
    assert {"model.onnx", "model.onnx.data", *TOKENIZER_FILES} == installed
    assert sum(p.stat().st_size for p in embedder_dir().iterdir()
               if p.name.startswith("model")) < 200 * 1000 * 1000
    assert not any(downloads_dir().rglob("*"))  # the 1.2 GB of fp32 are gone
    assert not [p for p in embedder_dir().parent.iterdir() if p.name.startswith(".")]

    now = status()
    assert now.can_index and now.embedder.verified and now.embedder.bundle == "fp32"
    # Checked on first use: the downloaded graph and tokenizer against the shipped
    # expectations; what the recipe made inherits that, and was seen to embed.
    assert now.embedder.verification == "checked"
    made = {f.name: f.checks for f in now.embedder.files}
    assert "Kura's recipe" in made["model.onnx"] and "Kura's recipe" in made["model.onnx.data"]
    assert "262,145 tokens" in made["tokenizer.json"]

    embedder = Embedder(embedder_dir())
    docs = embedder.embed_documents(["Mars is called the red planet.",
                                     "The invoice is due at the end of the month."])
    query = embedder.embed_queries(["Which planet is red?"])
    assert docs.shape == (2, 768) and query.shape == (1, 768)
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-4)
    scores = docs @ query[0]
    assert scores[0] > scores[1]


def test_a_graph_that_cannot_be_quantized_keeps_the_downloaded_files(
        server: ModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop_app.core.model_files import catalog as catalog_module

    names = ["onnx/model.onnx", "onnx/model.onnx_data", "tokenizer.json"]
    for seed, name in enumerate(names):
        server.add(source(name), blob(256 * 1024, seed))
    path = tmp_path / "catalog.json"
    catalog = write_catalog(path, [fp32_bundle(names)])
    monkeypatch.setattr(catalog_module, "CATALOG_PATH", path)

    with pytest.raises(ModelFileError, match="could not quantize"):
        run_quietly(fetch(["embedder"], mirror=server.base, options=FAST))
    assert not embedder_dir().exists()
    assert not status().can_index
    bundle = catalog.bundle("fp32")
    assert all(staged_path(f).is_file() for f in bundle.files)  # verified, kept
    assert [p for p in embedder_dir().parent.iterdir() if p.name.startswith(".tmp")] == []

    sent = sum(server.body_bytes(source(n)) for n in names)
    with pytest.raises(ModelFileError):
        run_quietly(fetch(["embedder"], mirror=server.base, options=FAST))
    assert sum(server.body_bytes(source(n)) for n in names) == sent  # not downloaded again


def test_swap_dir_replaces_an_old_folder_and_leaves_no_leftovers(tmp_path: Path) -> None:
    target = tmp_path / "embedder"
    target.mkdir()
    (target / "stale.onnx").write_bytes(b"old")
    new = tmp_path / ".tmp-embedder-1"
    new.mkdir()
    (new / "model.onnx").write_bytes(b"new")
    swap_dir(new, target)
    assert [p.name for p in target.iterdir()] == ["model.onnx"]
    assert [p.name for p in tmp_path.iterdir()] == ["embedder"]
    assert sha256(b"new") == sha256((target / "model.onnx").read_bytes())
