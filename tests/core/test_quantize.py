"""The quantization recipe on the real fp32 export."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import onnx
import pytest

from desktop_app.core.fileio import sha256_file
from desktop_app.core.quantize import (
    DEFAULT_RECIPE,
    ROLES,
    Recipe,
    artifact_size,
    classify_weights,
)

BUDGET_BYTES = 200_000_000


@pytest.fixture(scope="module")
def fp32_graph(fp32_dir: Path) -> onnx.ModelProto:
    return onnx.load(str(fp32_dir / "model.onnx"), load_external_data=False)


def test_roles_are_found_from_structure(fp32_graph: onnx.ModelProto) -> None:
    weights = classify_weights(fp32_graph)
    counts = Counter(w.role for w in weights)
    assert counts == Counter({**dict.fromkeys(ROLES[:7], 24), "dense1": 1, "dense2": 1,
                              "embed": 1})
    by_role = {w.role: w for w in weights if w.layer == 0}
    assert by_role["q"].shape == (768, 768) and by_role["o"].shape == (768, 768)
    assert by_role["k"].shape == (768, 256) and by_role["v"].shape == (768, 256)
    assert by_role["down"].shape == (1152, 768)
    assert {w.layer for w in weights if w.role == "q"} == set(range(24))


def test_roles_do_not_depend_on_node_names(fp32_graph: onnx.ModelProto) -> None:
    renamed = onnx.ModelProto()
    renamed.CopyFrom(fp32_graph)
    for i, node in enumerate(renamed.graph.node):
        node.name = f"n{len(renamed.graph.node) - i}"  # names now say nothing
    original = [(w.layer, w.role) for w in classify_weights(fp32_graph)]
    assert [(w.layer, w.role) for w in classify_weights(renamed)] == original


def test_a_graph_that_is_not_embeddinggemma_is_refused() -> None:
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])
    w = onnx.numpy_helper.from_array(__import__("numpy").ones((4, 4), "float32"), "w")
    graph = onnx.helper.make_graph([onnx.helper.make_node("MatMul", ["x", "w"], ["y"])],
                                   "g", [x], [y], [w])
    with pytest.raises(ValueError, match="EmbeddingGemma"):
        classify_weights(onnx.helper.make_model(graph))


def test_recipe_gives_eight_bits_to_the_sensitive_weights() -> None:
    from desktop_app.core.quantize import WeightNode

    recipe = Recipe("t", eight_bit=frozenset({"v", "@23", "down@18-20", "dense1"}))
    assert recipe.bits_for(WeightNode("a", "v", 3, (768, 256))) == 8
    assert recipe.bits_for(WeightNode("b", "q", 23, (768, 768))) == 8
    assert recipe.bits_for(WeightNode("c", "q", 3, (768, 768))) == 4
    assert recipe.bits_for(WeightNode("d", "down", 19, (1152, 768))) == 8
    assert recipe.bits_for(WeightNode("e", "down", 21, (1152, 768))) == 4
    assert recipe.bits_for(WeightNode("f", "dense1", -1, (768, 3072))) == 8
    assert recipe.bits_for(WeightNode("g", "dense2", -1, (3072, 768))) == 4


def test_shipped_artifact_is_under_budget_with_a_true_manifest(embedder_dir: Path) -> None:
    size = artifact_size(embedder_dir / "model.onnx")
    assert size < BUDGET_BYTES
    manifest = json.loads((embedder_dir / "manifest.json").read_text())
    assert manifest["recipe"] == DEFAULT_RECIPE.name
    assert manifest["artifact_bytes"] == size
    names = {f["name"] for f in manifest["files"]}
    assert {"model.onnx", "model.onnx.data", "tokenizer.json"} <= names
    for entry in manifest["files"]:
        path = embedder_dir / entry["name"]
        assert path.stat().st_size == entry["size"]
        assert sha256_file(path) == entry["sha256"]
        assert entry["license"] and entry["source"].startswith("https://")


def test_quantized_graph_keeps_the_public_signature(embedder_dir: Path) -> None:
    graph = onnx.load(str(embedder_dir / "model.onnx"), load_external_data=False).graph
    assert [i.name for i in graph.input] == ["input_ids", "attention_mask"]
    assert [o.name for o in graph.output] == ["last_hidden_state", "sentence_embedding"]
    ops = Counter(n.op_type for n in graph.node)
    assert ops["GatherBlockQuantized"] == 1 and ops["MatMulNBits"] == 170


def _tiny_matmul(weight):
    x = onnx.helper.make_tensor_value_info("a", onnx.TensorProto.FLOAT, [None, weight.shape[0]])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("MatMul", ["a", "w"], ["y"], name="mm")], "g", [x], [y],
        [onnx.numpy_helper.from_array(weight, "w")])
    return onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 21)])


@pytest.mark.parametrize("k", [96, 128])  # odd and even number of blocks per column
def test_clip_search_packs_what_onnxruntime_reads_and_beats_rtn(k: int) -> None:
    import numpy as np
    import onnxruntime as ort

    from desktop_app.core.quantize import apply_plan

    rng = np.random.default_rng(0)
    weight = (rng.standard_t(4, size=(k, 64)) * 0.02).astype(np.float32)
    eye = np.eye(k, dtype=np.float32)
    errors = {}
    for clip in (False, True):
        model = apply_plan(_tiny_matmul(weight), {"mm": (4, 32)},
                           Recipe("t", clip_search=clip, quantize_table=False))
        session = ort.InferenceSession(model.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        dequantized = session.run(None, {"a": eye})[0]
        errors[clip] = float(np.sqrt(np.mean((dequantized - weight) ** 2)))
    assert errors[True] < errors[False] < 0.01


def test_gemm_dense_layers_become_matmuls() -> None:
    """onnx-community-style graphs export the Dense head as Gemm (transB=1)."""
    import numpy as np
    import onnxruntime as ort

    from desktop_app.core.quantize import gemm_to_matmul

    rng = np.random.default_rng(0)
    w = rng.normal(size=(16, 8)).astype(np.float32)  # [out, in], as nn.Linear stores it
    b = rng.normal(size=(16,)).astype(np.float32)
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [None, 8])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="dense", transB=1)],
        "g", [x], [y],
        [onnx.numpy_helper.from_array(w, "w"), onnx.numpy_helper.from_array(b, "b")])
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 18)])
    data = rng.normal(size=(3, 8)).astype(np.float32)
    before = ort.InferenceSession(model.SerializeToString()).run(None, {"x": data})[0]
    assert gemm_to_matmul(model) == 1
    assert [n.op_type for n in model.graph.node] == ["MatMul", "Add"]
    after = ort.InferenceSession(model.SerializeToString()).run(None, {"x": data})[0]
    assert np.allclose(before, after, atol=1e-5)
