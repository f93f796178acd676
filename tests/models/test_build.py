"""The artifact build: reference weights verified, cached, manifest true."""

from __future__ import annotations

import json
from pathlib import Path

from models.build_cache import sha256_file
from models.reference_weights import SAFETENSORS_SHA256, ensure_reference_weights


def test_reference_weights_are_the_genuine_checkpoint() -> None:
    folder = ensure_reference_weights(lambda _m: None)
    assert (folder / ".verified").read_text().strip() == SAFETENSORS_SHA256
    assert json.loads((folder / "modules.json").read_text())[0]["type"].endswith("Transformer")
    assert (folder / "tokenizer.json").stat().st_size > 1_000_000


def test_artifact_manifest_names_its_source(embedder_dir: Path) -> None:
    manifest = json.loads((embedder_dir / "manifest.json").read_text())
    assert manifest["built_from"] == {"model.safetensors": SAFETENSORS_SHA256}
    assert manifest["model"] == "embeddinggemma-300m"


def test_committed_manifest_matches_the_build(embedder_dir: Path) -> None:
    committed = json.loads((Path(__file__).resolve().parents[2] / "models" /
                            "manifest.json").read_text())
    built = {f["name"]: f for f in
             json.loads((embedder_dir / "manifest.json").read_text())["files"]}
    for entry in committed["files"]:
        if entry["name"] == "tokenizer.json":  # byte-identical copy of the upstream file
            assert sha256_file(embedder_dir / "tokenizer.json") == entry["sha256"]
        assert entry["name"] in built
