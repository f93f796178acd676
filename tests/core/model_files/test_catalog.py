"""The shipped catalog: the files the issue names, the choices, and Kura's own build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop_app.core.errors import KuraError
from desktop_app.core.model_files.catalog import kura_build_files, load_catalog
from tests.support.samples import REPO
from tests.support.toy_models import write_catalog


def test_the_shipped_catalog_mirrors_the_public_repositories() -> None:
    catalog = load_catalog()
    llm = catalog.choose("llm")
    assert [f.sources for f in llm.required] == [
        ("ggml-org/gemma-3-4b-it-GGUF/resolve/main/gemma-3-4b-it-Q4_K_M.gguf",)]
    fp32 = catalog.choose("embedder")
    assert fp32.id == "embedder-fp32" and fp32.prepare == "quantize"
    assert {f.name for f in fp32.required} == {"onnx/model.onnx", "onnx/model.onnx_data",
                                               "tokenizer.json"}
    assert all(s.startswith("onnx-community/embeddinggemma-300m-ONNX/resolve/main/")
               for f in fp32.files for s in f.sources)
    assert all(f.license.startswith("Gemma Terms of Use") for b in catalog.bundles
               for f in b.files)


def test_low_bandwidth_is_the_prebuilt_q4_with_its_trade_off_stated() -> None:
    q4 = load_catalog().choose("embedder", low_bandwidth=True)
    assert q4.id == "embedder-q4" and q4.prepare == "install"
    graph = q4.file("onnx/model_q4.onnx")
    # The embedder looks for model.onnx; the data file keeps the name the graph refers to.
    assert graph.install_as == "model.onnx"
    assert q4.file("onnx/model_q4.onnx_data").install_as == "model_q4.onnx_data"
    assert "3%" in q4.quality and "0.5%" in q4.quality
    assert q4.approx_bytes < load_catalog().choose("embedder").approx_bytes / 4


def test_kuras_own_build_is_pinned_as_models_manifest_records_it() -> None:
    """Fails when the recipe changed without the catalog: run
    ``sync_kura_build(Path("models/manifest.json"))`` (or models.build --write-manifest)."""
    manifest = json.loads((REPO / "models" / "manifest.json").read_text())
    catalog = json.loads((REPO / "desktop_app/core/model_files/catalog.json").read_text())
    bundle = next(b for b in catalog["bundles"] if b["id"] == "embedder-kura")
    assert bundle["files"] == kura_build_files(manifest)
    assert not load_catalog().bundle("embedder-kura").downloadable  # import only


def test_the_llm_file_is_the_one_the_answerer_loads() -> None:
    from desktop_app.core.answer.settings import llm_path

    assert load_catalog().choose("llm").required[0].install_as == llm_path().name


@pytest.mark.parametrize("bad", [
    {"name": "../escape.bin", "sha256": None, "sources": []},
    {"name": "a.bin", "sha256": "not-hex", "sources": []},
    {"name": "a.bin", "size": -1, "sha256": None, "sources": []},
])
def test_a_malformed_catalog_is_refused(tmp_path: Path, bad: dict) -> None:
    with pytest.raises(KuraError, match="malformed"):
        write_catalog(tmp_path / "c.json", [{"id": "x", "role": "llm", "files": [bad]}])
