"""Fit the relevance calibration that search reports and answering uses to decline.

    python benchmarks/calibrate_relevance.py

On the multilingual eval set, with the shipped quantized embedder: each query's cosine to
its labelled passages are positives; its best cosines to other passages are negatives
(hard ones: the closest wrong passages). A one-feature logistic regression maps cosine to
P(relevant). Then it simulates the decision "answer or say I don't know" on the top-1
passage: with the relevant passages present (should answer) and removed from the pool
(should decline), and prints both error rates at the chosen threshold. The constants go
into ``desktop_app/core/relevance.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from desktop_app.core.relevance import DECLINE_BELOW, relevance  # noqa: E402
from models.build import quantized_dir  # noqa: E402
from models.evaluate import artifact_vectors, load_eval_set  # noqa: E402


def fit_logistic(x: np.ndarray, y: np.ndarray, iters: int = 50) -> tuple[float, float]:
    """Newton's method on a balanced log-loss; returns (slope, intercept)."""
    weights = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    features = np.stack([x, np.ones_like(x)], axis=1)
    beta = np.zeros(2)
    for _ in range(iters):
        p = 1 / (1 + np.exp(-features @ beta))
        gradient = features.T @ (weights * (p - y))
        hessian = (features * (weights * p * (1 - p))[:, None]).T @ features
        beta -= np.linalg.solve(hessian + 1e-9 * np.eye(2), gradient)
    return float(beta[0]), float(beta[1])


def main() -> None:
    eval_set = load_eval_set()
    vectors = artifact_vectors(eval_set, quantized_dir(log=lambda _m: None))
    nq = eval_set.n_queries
    scores = vectors[:nq] @ vectors[nq:].T
    xs, ys, top_with, top_without = [], [], [], []
    for q, rel in enumerate(eval_set.relevant):
        if not rel:
            continue
        others = np.delete(scores[q], rel)
        xs += [scores[q, r] for r in rel] + list(np.sort(others)[-3:])
        ys += [1] * len(rel) + [0] * 3
        top_with.append(scores[q].max())
        top_without.append(others.max())
    slope, intercept = fit_logistic(np.array(xs), np.array(ys, dtype=float))
    print(f"fitted: SLOPE = {slope:.3f}, INTERCEPT = {intercept:.3f} "
          f"(P = 0.5 at cosine {-intercept / slope:.3f})")
    with_p = relevance(np.array(top_with))
    without_p = relevance(np.array(top_without))
    print(f"with the constants in relevance.py, threshold {DECLINE_BELOW}:")
    print(f"  answerable queries declined:   {np.mean(with_p < DECLINE_BELOW):.1%} "
          f"of {len(with_p)}")
    print(f"  unanswerable queries answered: {np.mean(without_p >= DECLINE_BELOW):.1%} "
          f"of {len(without_p)}")
    print(f"  top-1 cosine, answerable: median {np.median(top_with):.3f}; "
          f"unanswerable: median {np.median(top_without):.3f}")


if __name__ == "__main__":
    main()
