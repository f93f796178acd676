"""A calibrated relevance score: how likely a passage answers the query.

EmbeddingGemma's cosines are not probabilities (relevant pairs sit around 0.5–0.7,
unrelated ones around 0.2–0.4), so search maps the dense cosine of a passage through a
logistic curve fitted on Kura's multilingual eval set (``benchmarks/calibrate_relevance.py``
prints the fit and the error rates of the decline decision; the figures are in the
README). Search shows it, and it filters the passages the model is given. Whether to
answer at all is ``answer/decline.py``'s decision, not this score's: one cosine curve
cannot serve every pair of languages (benchmarks/decline.py); ``DECLINE_BELOW`` is the
default threshold of that decision's confidence.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

# Fitted by benchmarks/calibrate_relevance.py on the shipped quantized embedder.
SLOPE = 18.12
INTERCEPT = -8.21
DECLINE_BELOW = 0.5  # answer/decline.decide's default threshold (AnswerSettings)


def relevance(cosine: ArrayLike) -> np.ndarray:
    x = np.asarray(cosine, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-(SLOPE * x + INTERCEPT)))
