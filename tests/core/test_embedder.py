"""The embedder on the real quantized EmbeddingGemma (built by models/ from PyPI), and the
library on any ``TextEmbedder``."""

from __future__ import annotations

import json
import platform
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from desktop_app.core.embedder import (
    BLOCKS,
    FP32,
    INT8_COMPUTE_ID,
    ROWS,
    Embedder,
    cpu_flags,
    document_prompt,
    int8_compute_model,
    int8_plan,
    plan_batches,
    query_prompt,
    resolve_compute,
    truncate_dims,
)
from desktop_app.core.errors import KuraError, ModelFileError
from desktop_app.core.fileio import sha256_file
from desktop_app.core.library import Library
from desktop_app.core.settings import MATRYOSHKA_DIMS, EmbedderSettings
from tests.support.samples import RED_PLANET_DOCS, RED_PLANET_QUERY
from tests.support.text_embedders import HashedWords

MODEL_CARD_FP32 = [0.3011, 0.6359, 0.4930, 0.4889]

LONG_TEXT = " ".join(
    f"Paragraph {i}: the quarterly report lists revenue, travel costs and the new "
    f"password policy for department {i % 7}, with notes on meeting rooms and leave."
    for i in range(60)
)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def red_planet_scores(embedder: Embedder) -> np.ndarray:
    q = embedder.embed_queries([RED_PLANET_QUERY])
    d = embedder.embed_documents(RED_PLANET_DOCS)
    return d @ q[0]


def test_fp32_export_reproduces_the_model_card(fp32_embedder: Embedder) -> None:
    scores = red_planet_scores(fp32_embedder)
    assert np.allclose(scores, MODEL_CARD_FP32, atol=0.002), scores


def test_quantized_model_keeps_the_model_card_example(embedder: Embedder) -> None:
    scores = red_planet_scores(embedder)
    assert np.abs(scores - MODEL_CARD_FP32).max() <= 0.02, scores
    assert int(np.argmax(scores)) == 1  # Mars first


def test_prompts_are_the_embeddinggemma_task_prompts(embedder: Embedder) -> None:
    assert query_prompt("x") == "task: search result | query: x"
    assert document_prompt("x") == "title: none | text: x"
    assert document_prompt("x", "  Handbook ") == "title: Handbook | text: x"
    q = embedder.embed_queries(["reset password"])
    manual = embedder.embed_prompted(["task: search result | query: reset password"])
    assert cosine(q, manual)[0] > 0.99999
    titled = embedder.embed_documents(["reset password"], titles=["IT"])
    untitled = embedder.embed_documents(["reset password"])
    assert cosine(titled, untitled)[0] < 0.9999  # the title really reaches the model


def test_tokens_carry_bos_and_eos_like_the_reference(embedder: Embedder, reference_model) -> None:
    text = document_prompt("如何重置密码? Reset it in the portal.")
    ours = embedder._tokenizer.encode(text).ids
    theirs = reference_model.tokenizer(text)["input_ids"]
    assert ours == list(theirs)
    assert ours[0] == 2 and ours[-1] == 1


def test_truncation_keeps_eos_at_the_configured_length(embedder_dir: Path) -> None:
    short = Embedder(embedder_dir, EmbedderSettings(max_length=64))
    ids = short._tokenizer.encode("word " * 500).ids
    assert len(ids) == 64 and ids[0] == 2 and ids[-1] == 1


# 1 - cos between a text embedded alone and inside a padded batch. fp32 compute: float
# rounding only (measured < 2e-6). int8 compute: an activation near a rounding boundary
# lands on the other int8 step when the batch changes the last bits of the attention:
# measured at most 9.9e-4 over 474 text/batch pairs padded by up to 350 tokens
# (benchmarks/embedder.py prints it), far below the quantization's own error (1 - cos
# ~5e-3 to the fp32 model).
BATCH_DRIFT = {"fp32": 1e-4, "int8": 2e-3}
BATCH_TEXTS = ["short", "Mars is red. " * 4, "如何重置密码?", LONG_TEXT[:900], "a b c " * 40]


def batch_drift(embedder: Embedder) -> float:
    alone = np.vstack([embedder.embed_documents([t]) for t in BATCH_TEXTS])
    together = embedder.embed_documents(BATCH_TEXTS)
    # Force the padded path: every text padded to the longest one in one batch.
    prompted = [document_prompt(t) for t in BATCH_TEXTS]
    ids = [e.ids for e in embedder._tokenizer.encode_batch(prompted)]
    padded = embedder._run(ids)
    return float(1 - min(cosine(alone, together).min(), cosine(alone, padded).min()))


def test_vector_depends_on_the_batch_only_by_rounding(embedder: Embedder) -> None:
    assert batch_drift(embedder) <= BATCH_DRIFT[embedder.compute]


@pytest.fixture(scope="module")
def fp32_compute(embedder_dir: Path) -> Embedder:
    return Embedder(embedder_dir, EmbedderSettings(compute="fp32"))


@pytest.fixture(scope="module")
def int8_compute(embedder_dir: Path) -> Embedder:
    return Embedder(embedder_dir, EmbedderSettings(compute="int8"))


def test_fp32_compute_vector_does_not_depend_on_the_batch(fp32_compute: Embedder) -> None:
    assert fp32_compute.compute == "fp32"
    assert batch_drift(fp32_compute) <= 1e-4


def test_int8_compute_stays_close_to_fp32_compute(fp32_compute: Embedder,
                                                  int8_compute: Embedder) -> None:
    texts = [RED_PLANET_QUERY, *RED_PLANET_DOCS, *BATCH_TEXTS, LONG_TEXT * 2]
    a, b = fp32_compute.embed_documents(texts), int8_compute.embed_documents(texts)
    # Measured on 424 eval texts: mean 1 - cos 5e-4, worst 1.7e-3.
    assert cosine(a, b).mean() >= 0.999 and cosine(a, b).min() >= 0.997
    assert int(np.argmax(red_planet_scores(int8_compute))) == 1  # Mars first, as with fp32
    q = int8_compute.embed_queries(["How do I reset my password?"])
    assert cosine(q, fp32_compute.embed_queries(["How do I reset my password?"]))[0] >= 0.997


def test_compute_mode_is_part_of_the_model_id(fp32_compute: Embedder, int8_compute: Embedder,
                                              embedder_dir: Path) -> None:
    digest = sha256_file(embedder_dir / "model.onnx")[:16]
    assert fp32_compute.model_id == f"embeddinggemma-300m:{digest}"  # as before int8 compute
    assert int8_compute.compute == "int8"
    assert int8_compute.model_id == f"embeddinggemma-300m:{digest}:{INT8_COMPUTE_ID}"


def test_int8_compute_rewrites_in_memory_and_leaves_the_shipped_file(embedder_dir: Path) -> None:
    import onnx

    plan = int8_plan(onnx.load(str(embedder_dir / "model.onnx"), load_external_data=False).graph)
    assert plan is not None
    roles = list(plan.values())
    # 24 layers: q, k, o, gate, up as int8 GEMMs; v and down in blocks; the Dense head fp32.
    assert (roles.count(ROWS), roles.count(BLOCKS), roles.count(FP32)) == (120, 48, 2)
    rewritten = int8_compute_model(embedder_dir / "model.onnx")
    assert rewritten is not None
    model = onnx.load_from_string(rewritten)
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("MatMulInteger") == 120 and ops.count("MatMulNBits") == 48
    int8_blocks = [n for n in model.graph.node if n.op_type == "MatMulNBits"
                   and any(a.name == "accuracy_level" and a.i == 4 for a in n.attribute)]
    assert len(int8_blocks) == 48
    manifest = json.loads((Path(__file__).parents[2] / "models/manifest.json").read_text())
    pinned = {f["name"]: f["sha256"] for f in manifest["files"]}
    for name in ("model.onnx", "model.onnx.data"):
        assert sha256_file(embedder_dir / name) == pinned[name]


def test_a_graph_without_nbits_weights_keeps_fp32_compute(fp32_embedder: Embedder) -> None:
    """An fp32 export (or any graph the rewrite does not know) runs as it is, under the
    name it always had, even where the CPU could do int8."""
    assert fp32_embedder.compute == "fp32"
    assert not fp32_embedder.model_id.endswith(INT8_COMPUTE_ID)


def test_auto_compute_follows_the_cpu() -> None:
    assert resolve_compute("auto", frozenset({"avx2", "avx512_vnni"})) == "int8"
    assert resolve_compute("auto", frozenset({"avx2", "avx_vnni"})) == "int8"
    # No VNNI: onnxruntime's u8 x s8 kernels would saturate 16-bit sums; unknown CPU: fp32.
    assert resolve_compute("auto", frozenset({"avx2", "avx512f"})) == "fp32"
    assert resolve_compute("auto", frozenset()) == "fp32"
    assert resolve_compute("fp32", frozenset({"avx512_vnni"})) == "fp32"
    assert resolve_compute("int8", frozenset()) == "int8"  # forced: for measuring
    with pytest.raises(KuraError, match="compute"):
        resolve_compute("fp16")


@pytest.mark.skipif(not sys.platform.startswith("linux")
                    or platform.machine().lower() not in ("x86_64", "amd64"),
                    reason="the flags come from Linux's /proc/cpuinfo on x86")
def test_cpu_flags_are_read_from_the_system() -> None:
    assert "sse2" in cpu_flags()  # every x86-64 CPU has it


def test_long_input_matches_the_reference(embedder: Embedder, fp32_embedder: Embedder,
                                          reference_model) -> None:
    text = document_prompt(LONG_TEXT * 2)
    n_tokens = len(embedder._tokenizer.encode(text).ids)
    assert n_tokens > 1100  # past the 512-token sliding window
    ref = reference_model.encode([text], normalize_embeddings=True)
    assert cosine(fp32_embedder.embed_prompted([text]), ref)[0] >= 0.9999
    assert cosine(embedder.embed_prompted([text]), ref)[0] >= 0.985


@pytest.mark.parametrize("dim", MATRYOSHKA_DIMS)
def test_matryoshka_dims_truncate_and_renormalize(embedder: Embedder, dim: int) -> None:
    full = embedder.embed_queries([RED_PLANET_QUERY, "年假政策"])
    cut = embedder.embed_queries([RED_PLANET_QUERY, "年假政策"], dim=dim)
    assert cut.shape == (2, dim)
    assert np.allclose(np.linalg.norm(cut, axis=1), 1.0, atol=1e-5)
    expected = full[:, :dim] / np.linalg.norm(full[:, :dim], axis=1, keepdims=True)
    assert np.allclose(cut, expected, atol=1e-6)


def test_matryoshka_rejects_other_dims() -> None:
    with pytest.raises(KuraError, match="dimension"):
        truncate_dims(np.ones((1, 768), dtype=np.float32), 300)


@pytest.mark.parametrize(
    "text",
    ["", "   \n\t ", "x" * 100_000, "bad \ud800 surrogate \udfff", "\x00\x01\x1b[31m\x7f ctrl",
     "🙂" * 50, "中" * 5000],
    ids=["empty", "whitespace", "100k-chars", "surrogates", "control", "emoji", "cjk-5000"],
)
def test_bad_input_gives_a_unit_vector(embedder: Embedder, text: str) -> None:
    for vectors in (embedder.embed_queries([text]), embedder.embed_documents([text])):
        assert vectors.shape == (1, 768)
        assert np.isfinite(vectors).all()
        assert abs(float(np.linalg.norm(vectors)) - 1.0) < 1e-4


def test_non_text_input_is_a_clear_error(embedder: Embedder) -> None:
    with pytest.raises(TypeError, match="expected text"):
        embedder.embed_queries([b"bytes"])  # type: ignore[list-item]


def test_empty_list_gives_an_empty_array(embedder: Embedder) -> None:
    assert embedder.embed_documents([]).shape == (0, 768)


def test_missing_model_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError) as err:
        Embedder(tmp_path / "nowhere")
    assert "model.onnx" in str(err.value) and "missing" in str(err.value)


def test_corrupt_model_file_names_the_file(tmp_path: Path, embedder_dir: Path) -> None:
    shutil.copy2(embedder_dir / "tokenizer.json", tmp_path / "tokenizer.json")
    (tmp_path / "model.onnx").write_bytes(b"\x08\x07 not a protobuf at all" * 100)
    with pytest.raises(ModelFileError) as err:
        Embedder(tmp_path)
    assert str(tmp_path / "model.onnx") in str(err.value)


def test_truncated_weights_file_names_the_file(tmp_path: Path, embedder_dir: Path) -> None:
    for name in ("model.onnx", "tokenizer.json"):
        shutil.copy2(embedder_dir / name, tmp_path / name)
    data = (embedder_dir / "model.onnx.data").read_bytes()
    (tmp_path / "model.onnx.data").write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelFileError) as err:
        Embedder(tmp_path)
    assert "model.onnx" in str(err.value)


def test_corrupt_tokenizer_names_the_file(tmp_path: Path, embedder_dir: Path) -> None:
    (tmp_path / "model.onnx").write_bytes((embedder_dir / "model.onnx").read_bytes())
    (tmp_path / "tokenizer.json").write_text("{ not json")
    with pytest.raises(ModelFileError) as err:
        Embedder(tmp_path)
    assert "tokenizer.json" in str(err.value)


def test_plan_batches_covers_every_row_once_within_budget() -> None:
    rng = np.random.default_rng(0)
    lengths = [int(x) for x in rng.integers(3, 2048, size=300)]
    batches = plan_batches(lengths, budget_tokens=4096)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(300))
    for batch in batches:
        longest = max(lengths[i] for i in batch)
        assert longest * len(batch) <= 4096 or len(batch) == 1
        assert longest**2 * len(batch) <= 2048 * 2048 or len(batch) == 1
        assert longest <= 1.25 * min(lengths[i] for i in batch) + 8


HANDBOOK = {
    "passwords.md": "# Passwords\n\nTo reset your password, open the reset portal and "
                    "follow the steps. A password expires after 90 days.",
    "leave.md": "# Annual leave\n\nEvery employee has 15 days of annual leave a year.",
    "rooms.md": "# Meeting rooms\n\nBook meeting rooms in the shared calendar.",
}


@pytest.mark.parametrize("which", ["stand-in", pytest.param("real", marks=pytest.mark.slow)])
def test_the_library_adds_and_searches_with_any_text_embedder(
        which: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    embedder = HashedWords() if which == "stand-in" else request.getfixturevalue("embedder")
    folder = tmp_path / "handbook"
    folder.mkdir()
    for name, text in HANDBOOK.items():
        (folder / name).write_text(text, encoding="utf-8")
    library = Library(home=tmp_path / "home", embedder=embedder)
    try:
        for _ in library.add([folder]):
            pass
        status = library.status()
        assert status.documents["embedded"] == 3 and status.unembedded_keys == 0
        top = library.search("How do I reset my password?", k=3).results[0]
        assert top.path.endswith("passwords.md")
        assert top.cosine is not None  # found by its vector too, not only by keywords
    finally:
        library.close()


@pytest.mark.parametrize(("bits", "k", "block", "zero_points"),
                         [(4, 96, 32, True), (4, 64, 32, False), (8, 256, 128, True),
                          (8, 128, 64, False)],
                         ids=["4bit-odd-blocks", "4bit-no-zeros", "8bit", "8bit-no-zeros"])
def test_dequantized_weights_are_what_matmulnbits_computes_with(
        bits: int, k: int, block: int, zero_points: bool) -> None:
    """The int8 rewrite starts from these weights: they must be the fp32 kernel's."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from desktop_app.core.embedder import dequantize_nbits

    rng = np.random.default_rng(bits + k)
    n, blocks = 24, -(-k // block)
    packed = rng.integers(0, 256, (n, blocks, block * bits // 8), dtype=np.uint8)
    scales = rng.uniform(0.001, 0.02, (n, blocks)).astype(np.float32)
    tensors: dict[str, np.ndarray] = {"B": packed, "S": scales}
    inputs = ["A", "B", "S"]
    if zero_points:
        tensors["Z"] = rng.integers(0, 256, (n, -(-blocks // 2) if bits == 4 else blocks),
                                    dtype=np.uint8)
        inputs.append("Z")
    node = helper.make_node("MatMulNBits", inputs, ["Y"], domain="com.microsoft", K=k, N=n,
                            bits=bits, block_size=block)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("A", TensorProto.FLOAT, [None, k])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, name) for name, v in tensors.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21),
                                                    helper.make_opsetid("com.microsoft", 1)])
    a = rng.standard_normal((5, k)).astype(np.float32)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {"A": a})
    weight = dequantize_nbits(node, tensors)
    assert weight.shape == (k, n)
    assert np.allclose(a @ weight, expected, rtol=1e-4, atol=1e-4)
