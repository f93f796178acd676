"""What a file *is*: the shipped catalog's expectations accept files with the published
models' shapes and refuse anything else with a sentence saying what is wrong."""

from __future__ import annotations

import os
import random
from dataclasses import replace
from pathlib import Path

import gguf
import pytest

from desktop_app.core.errors import KuraError
from desktop_app.core.model_files.catalog import load_catalog
from desktop_app.core.model_files.identity import (
    FILE_TYPES,
    Expect,
    Identified,
    NotTheModel,
    identify,
)
from tests.support.model_like import (
    EXPECT_270M,
    GEMMA3_1B,
    GEMMA3_4B,
    Shape,
    parameters,
    point_weights_at,
    write_gguf,
    write_graph,
    write_tokenizer,
)
from tests.support.toy_models import write_catalog

LLM = "gemma-3-4b-it-Q4_K_M.gguf"


def expect(bundle: str, name: str) -> Expect:
    found = load_catalog().bundle(bundle).file(name).expect
    assert found is not None
    return found


def refusal(path: Path, what: Expect) -> NotTheModel:
    with pytest.raises(NotTheModel) as caught:
        identify(path, what)
    return caught.value


# -- the LLM ------------------------------------------------------------------------


def test_a_gguf_with_gemma_3_4b_shapes_passes_the_shipped_expectation(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / LLM, GEMMA3_4B)
    found = identify(path, expect("llm", LLM))
    assert isinstance(found, Identified)
    assert "gemma3, 34 blocks × 2560" in found.summary and "Q4_K_M" in found.summary
    assert f"{parameters(GEMMA3_4B) / 1e9:.2f} billion parameters" in found.summary
    assert "262,144 tokens" in found.summary


@pytest.mark.parametrize(("shape", "cut", "reason"), [
    (replace(GEMMA3_4B, arch="llama"), 0, "architecture: llama"),
    (GEMMA3_1B, 0, "block_count: 26, expected 34"),
    (replace(GEMMA3_4B, ffn=8192), 0, "feed_forward_length: 8,192, expected 10,240"),
    (replace(GEMMA3_4B, file_type=FILE_TYPES["Q8_0"]), 0, "file type Q8_0, expected Q4_K_M"),
    (replace(GEMMA3_4B, tokenizer="gpt2"), 0, "tokenizer: gpt2, expected llama"),
    (replace(GEMMA3_4B, vocab=32000), 0,
     "32,000 tokens in its vocabulary, expected 262,144–262,208"),
    (replace(GEMMA3_4B, tensor_blocks=12), 0,
     "1.80 billion parameters, expected 3.50–4.50 billion"),
    (GEMMA3_4B, 4096, "truncated: 2,187,665,312 bytes, its tensors need 2,187,669,408"),
], ids=["llama", "1b", "ffn", "q8_0", "tokenizer", "vocabulary", "missing-layers",
        "truncated"])
def test_a_gguf_that_is_not_gemma_3_4b_q4_k_m_is_refused_saying_why(
        tmp_path: Path, shape: Shape, cut: int, reason: str) -> None:
    path = write_gguf(tmp_path / LLM, shape, cut=cut)
    refused = refusal(path, expect("llm", LLM))
    assert refused.problem == f"This is not a Gemma 3 4B model file ({reason})."
    assert refused.culprit == path and LLM in str(refused)


@pytest.mark.parametrize("content", ["random", "empty", "zip"])
def test_bytes_that_are_not_a_gguf_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / LLM
    path.write_bytes({"random": random.Random(1).randbytes(1 << 16), "empty": b"",
                      "zip": b"PK\x03\x04" + b"\0" * 100}[content])
    refused = refusal(path, expect("llm", LLM))
    assert refused.problem == "This is not a Gemma 3 4B model file (not a GGUF file)."


@pytest.mark.slow
def test_the_real_270m_is_a_270m_not_a_4b(tmp_path: Path) -> None:
    from models.small_llm import gguf_270m

    real = gguf_270m()
    refused = refusal(real, expect("llm", LLM))
    assert refused.problem == ("This is not a Gemma 3 4B model file "
                               "(block_count: 18, expected 34).")
    found = identify(real, Expect.parse(EXPECT_270M))
    assert "gemma3, 18 blocks × 640" in found.summary and "Q4_K_M" in found.summary
    assert "262,144 tokens" in found.summary
    # The same file cut short: the header is whole, the tensor data is not.
    cut = tmp_path / "cut.gguf"
    with real.open("rb") as src, cut.open("wb") as dst:
        dst.write(src.read(real.stat().st_size - 1000))
    assert "truncated" in refusal(cut, Expect.parse(EXPECT_270M)).problem


def test_file_type_names_are_llama_cpps() -> None:
    for name, value in FILE_TYPES.items():
        expected = "ALL_F32" if name == "F32" else f"MOSTLY_{name}"
        assert gguf.LlamaFileType[expected].value == value


# -- the embedder's graph -----------------------------------------------------------


@pytest.mark.parametrize(("bundle", "name", "data"), [
    ("embedder-fp32", "onnx/model.onnx", "model.onnx_data"),
    ("embedder-q4", "onnx/model_q4.onnx", "model_q4.onnx_data"),
])
def test_a_graph_with_the_embedders_signature_passes(
        tmp_path: Path, bundle: str, name: str, data: str) -> None:
    graph = write_graph(tmp_path, Path(name).name, data)
    found = identify(graph, expect(bundle, name))
    assert found.covers == (data,)  # the weights file was checked with it
    assert "170 weight matrices" in found.summary


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"outputs": {"last_hidden_state": 768}},
     "no output sentence_embedding; its outputs: last_hidden_state"),
    ({"outputs": {"sentence_embedding": 384}},
     "output sentence_embedding has 384 dimensions, expected 768"),
    ({"input_type": 1}, "input input_ids is float[2 dims], expected int64[2 dims]"),
    ({"matmuls": 12}, "12 weight matrices, expected at least 168"),
    ({"data": "weights.bin"}, "its weights are in weights.bin, expected model.onnx_data"),
], ids=["no-sentence-embedding", "384-d", "float-inputs", "6-layers", "other-weights-file"])
def test_a_graph_that_is_not_the_embedder_is_refused_saying_why(
        tmp_path: Path, kwargs: dict, reason: str) -> None:
    graph = write_graph(tmp_path, **({"data": "model.onnx_data"} | kwargs))
    refused = refusal(graph, expect("embedder-fp32", "onnx/model.onnx"))
    assert refused.problem == f"This is not an EmbeddingGemma graph ({reason})."
    assert refused.culprit == graph


def test_weights_cut_short_blame_the_weights_file(tmp_path: Path) -> None:
    graph = write_graph(tmp_path)
    data = tmp_path / "model.onnx_data"
    size = data.stat().st_size
    os.truncate(data, size - 1)
    refused = refusal(graph, expect("embedder-fp32", "onnx/model.onnx"))
    assert refused.culprit == data
    assert f"cut short: {size - 1:,} bytes, the graph needs {size:,}" in refused.problem
    data.unlink()
    assert "model.onnx_data is missing" in refusal(
        graph, expect("embedder-fp32", "onnx/model.onnx")).problem


def test_a_graph_pointing_outside_its_folder_is_refused(tmp_path: Path) -> None:
    graph = write_graph(tmp_path / "inner")
    point_weights_at(graph, "../model.onnx_data")
    (tmp_path / "model.onnx_data").write_bytes((tmp_path / "inner/model.onnx_data").read_bytes())
    refused = refusal(graph, expect("embedder-fp32", "onnx/model.onnx"))
    assert "point outside its folder (../model.onnx_data)" in refused.problem


def test_bytes_that_are_not_a_graph_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(random.Random(2).randbytes(4096))
    refused = refusal(path, expect("embedder-fp32", "onnx/model.onnx"))
    assert refused.problem.startswith("This is not an EmbeddingGemma graph (not an ONNX graph")


# -- tokenizer.json -----------------------------------------------------------------


def test_a_tokenizer_with_gemmas_vocabulary_passes(tmp_path: Path) -> None:
    found = identify(write_tokenizer(tmp_path / "tokenizer.json"),
                     expect("embedder-fp32", "tokenizer.json"))
    assert found.summary == "BPE tokenizer, 262,144 tokens, <pad>, <eos>, <bos>"


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"vocab": 32000}, "32,000 tokens, expected 262,144–262,208"),
    ({"specials": ("<unk>", "<s>", "</s>", "<pad>")}, "<pad>: id 3, expected id 0"),
    ({"specials": ("<pad>", "<eos>", "<s>")}, "<bos>: missing, expected id 2"),
], ids=["llama-2-size", "shifted-specials", "no-bos"])
def test_a_tokenizer_that_is_not_gemmas_is_refused(
        tmp_path: Path, kwargs: dict, reason: str) -> None:
    path = write_tokenizer(tmp_path / "tokenizer.json", **kwargs)
    refused = refusal(path, expect("embedder-fp32", "tokenizer.json"))
    assert refused.problem == f"This is not Gemma's tokenizer ({reason})."


def test_a_tokenizer_that_is_not_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tokenizer.json"
    path.write_bytes(b"<html>rate limited</html>")
    refused = refusal(path, expect("embedder-fp32", "tokenizer.json"))
    assert refused.problem.startswith("This is not Gemma's tokenizer (not valid JSON")
    side = tmp_path / "special_tokens_map.json"
    side.write_text("[1, 2]")
    assert "not a JSON object" in refusal(
        side, expect("embedder-fp32", "special_tokens_map.json")).problem


@pytest.mark.slow
def test_kuras_own_fp32_export_and_gemmas_tokenizer_pass_the_shipped_expectations(
        fp32_dir: Path, tmp_path: Path) -> None:
    """A faithful export of EmbeddingGemma (models.export_onnx, the onnx-community
    signature) and the real tokenizer.json: what the hub serves must look like this."""
    graph = tmp_path / "model.onnx"
    graph.write_bytes((fp32_dir / "model.onnx").read_bytes())
    point_weights_at(graph, "model.onnx_data")  # onnx-community's name for the weights
    (tmp_path / "model.onnx_data").symlink_to(fp32_dir / "model.onnx.data")
    found = identify(graph, expect("embedder-fp32", "onnx/model.onnx"))
    assert found.covers == ("model.onnx_data",)
    assert "outputs last_hidden_state, sentence_embedding" in found.summary
    tokenizer = identify(fp32_dir / "tokenizer.json", expect("embedder-fp32", "tokenizer.json"))
    assert tokenizer.summary == "BPE tokenizer, 262,145 tokens, <pad>, <eos>, <bos>"
    for name in ("tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"):
        assert identify(fp32_dir / name, expect("embedder-fp32", name)).summary == \
            "a JSON object"


# -- the catalog --------------------------------------------------------------------


def test_every_file_a_download_installs_is_checked_or_pinned() -> None:
    """Each downloadable file has an expectation, or is the weights file its graph's
    expectation names (checked with the graph)."""
    for bundle in load_catalog().bundles:
        if not bundle.downloadable:
            continue
        covered = {name for f in bundle.files if f.expect
                   for name in f.expect.facts.get("external_data", ())}
        for file in bundle.files:
            assert file.sha256 or file.expect or file.basename in covered, file.key


@pytest.mark.parametrize("bad", [
    {"kind": "pickle", "what": "x"},
    {"kind": "gguf", "what": "x", "file_type": "Q4_K_XL"},
    "gguf",
])
def test_a_malformed_expectation_is_refused(tmp_path: Path, bad: object) -> None:
    entry = {"name": "a.gguf", "sha256": None, "sources": [], "expect": bad}
    with pytest.raises(KuraError, match="malformed"):
        write_catalog(tmp_path / "c.json", [{"id": "x", "role": "llm", "files": [entry]}])

