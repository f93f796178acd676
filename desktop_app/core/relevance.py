"""A calibrated relevance score: how likely a passage answers the query.

EmbeddingGemma's cosines are not probabilities (relevant pairs sit around 0.5–0.7,
unrelated ones around 0.2–0.4), so search maps the dense cosine of a passage through a
logistic curve fitted on Kura's multilingual eval set (``benchmarks/calibrate_relevance.py``
prints the fit and the error rates of the decline decision; the figures are in the
README). Answering declines ("I don't know") when the best passage's relevance is below
``DECLINE_BELOW``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

# Fitted by benchmarks/calibrate_relevance.py on the shipped quantized embedder.
SLOPE = 18.12
INTERCEPT = -8.21
DECLINE_BELOW = 0.5


def relevance(cosine: ArrayLike) -> np.ndarray:
    x = np.asarray(cosine, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-(SLOPE * x + INTERCEPT)))
