"""The embedder on the real quantized EmbeddingGemma (built by models/ from PyPI), and the
library on any ``TextEmbedder``."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from desktop_app.core.embedder import (
    Embedder,
    document_prompt,
    plan_batches,
    query_prompt,
    truncate_dims,
)
from desktop_app.core.errors import KuraError, ModelFileError
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


def test_vector_does_not_depend_on_the_batch(embedder: Embedder) -> None:
    texts = ["short", "Mars is red. " * 4, "如何重置密码?", LONG_TEXT[:900], "a b c " * 40]
    alone = np.vstack([embedder.embed_documents([t]) for t in texts])
    together = embedder.embed_documents(texts)
    assert cosine(alone, together).min() >= 0.9999
    # Force the padded path: every text padded to the longest one in one batch.
    prompted = [document_prompt(t) for t in texts]
    ids = [e.ids for e in embedder._tokenizer.encode_batch(prompted)]
    padded = embedder._run(ids)
    assert cosine(alone, padded).min() >= 0.9999


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
