"""The timing-only 4B-shaped model's layout (the model itself takes minutes to build and
is used by benchmarks/answer_speed.py, not by tests)."""

from __future__ import annotations

import numpy as np
import pytest

from models.timing_llm import GEMMA3_4B, tensor_shapes

GEMMA3_270M = dict(GEMMA3_4B, embedding_length=640, block_count=18, feed_forward_length=2048,
                   head_count=4, head_count_kv=1)


@pytest.mark.slow
def test_the_layout_reproduces_the_real_270m_file_tensor_for_tensor() -> None:
    """The same function given the 270M's hyper-parameters names and shapes every tensor
    of the real Gemma 3 270M GGUF: so the 4B-shaped file is laid out as llama.cpp's
    gemma3 loader expects a real Gemma 3 file."""
    from gguf import GGUFReader

    from models.small_llm import gguf_270m

    real = {t.name: tuple(int(d) for d in reversed(t.shape))
            for t in GGUFReader(str(gguf_270m())).tensors}
    assert dict(tensor_shapes(GEMMA3_270M)) == real


def test_the_4b_shapes_hold_gemma_3_4b_parameter_count() -> None:
    params = sum(int(np.prod(shape)) for _, shape in tensor_shapes())
    # Gemma 3 4B's language model: 3.88 billion parameters (the 4.3B total includes the
    # 0.4B vision tower, which answering text never runs).
    assert 3.87e9 < params < 3.89e9
    names = [name for name, _ in tensor_shapes()]
    assert len(names) == 2 + 34 * 13 and "output.weight" not in names  # tied embedding
