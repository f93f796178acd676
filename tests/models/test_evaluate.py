"""The quality measures behind the quantization table (no model needed: synthetic
vectors whose relation to the reference is known)."""

from __future__ import annotations

import numpy as np

from models.evaluate import EvalSet, compare, load_eval_set


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_identical_vectors_agree_perfectly() -> None:
    rng = np.random.default_rng(0)
    ref = unit(rng.normal(size=(30, 768)).astype(np.float32))
    eval_set = EvalSet([f"t{i}" for i in range(30)], 10, [[i] for i in range(10)])
    q = compare(eval_set, ref, ref.copy())
    assert q.mean_cos_768 > 0.9999 and q.worst_cos_256 > 0.9999
    assert q.top1_agreement == 1.0 and q.top10_overlap == 1.0


def test_noise_lowers_cosine_and_agreement() -> None:
    rng = np.random.default_rng(1)
    ref = unit(rng.normal(size=(60, 768)).astype(np.float32))
    noisy = unit(ref + 0.5 * rng.normal(size=ref.shape).astype(np.float32))
    eval_set = EvalSet([f"t{i}" for i in range(60)], 20, [[0] for _ in range(20)])
    q = compare(eval_set, ref, noisy)
    assert q.worst_cos_768 < q.mean_cos_768 < 0.99
    assert q.top10_overlap < 1.0


def test_the_committed_eval_set_is_varied_enough() -> None:
    eval_set = load_eval_set()
    assert len(eval_set.texts) >= 300
    assert eval_set.n_queries >= 100
    passages = eval_set.texts[eval_set.n_queries:]
    assert any("你" in t or "的" in t for t in passages)  # Chinese
    assert sum(len(t) > 4000 for t in passages) >= 5  # long, past the sliding window
    assert all(rel for rel in eval_set.relevant)
