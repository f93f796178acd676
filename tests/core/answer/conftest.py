"""Fixtures for answering: the real llama.cpp path on the Gemma 3 270M base GGUF.

The GGUF is the ``gguf_270m`` fixture (``tests/conftest.py``): from PyPI, assembled once
into the build cache. A base model without a chat template: it proves the llama.cpp path,
prompt and streaming, not answer quality. ``kb_library`` is there too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.core.answer import AnswerSettings, LlamaEngine, LLMSettings, make_llm

TEST_CTX = 4096  # plenty for the eight short documents of corp_kb


@pytest.fixture(scope="session")
def engine(gguf_270m: Path) -> Iterator[LlamaEngine]:
    """Loaded once for the whole session: every test reuses it, as the app does. Made by
    ``make_llm``, as the answerer makes it."""
    llm = make_llm(LLMSettings(model_path=gguf_270m, n_ctx=TEST_CTX))
    assert isinstance(llm, LlamaEngine)
    yield llm
    llm.close()


@pytest.fixture
def short_answers() -> AnswerSettings:
    """Answers of a few tokens: the 270M base model's prose is not what is tested."""
    return AnswerSettings(max_answer_tokens=24, temperature=0.0)
