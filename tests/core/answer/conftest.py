"""Fixtures for answering: the real llama.cpp path on the Gemma 3 270M base GGUF.

The GGUF is ``models.small_llm.gguf_270m()``: from PyPI, assembled once into the build
cache. A base model without a chat template: it proves the llama.cpp path, prompt and
streaming, not answer quality.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.core.answer import AnswerSettings, LlamaEngine, LLMSettings
from desktop_app.core.library import Library
from models import small_llm
from tests.conftest import FIXTURES

CORP_KB = FIXTURES / "corp_kb"
TEST_CTX = 4096  # plenty for the eight short documents of corp_kb


@pytest.fixture(scope="session")
def gguf_270m() -> Path:
    return small_llm.gguf_270m()


@pytest.fixture(scope="session")
def engine(gguf_270m: Path) -> Iterator[LlamaEngine]:
    """Loaded once for the whole session: every test reuses it, as the app does."""
    llm = LlamaEngine(LLMSettings(model_path=gguf_270m, n_ctx=TEST_CTX))
    yield llm
    llm.close()


@pytest.fixture(scope="session")
def kb_library(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[Library]:
    """The seed's knowledge base, one collection per category folder, embedded once."""
    root = tmp_path_factory.mktemp("answer-kb")
    kb = root / "corp_kb"
    shutil.copytree(CORP_KB, kb)
    library = Library(home=root / "home", embedder=embedder)
    for folder in sorted(p for p in kb.iterdir() if p.is_dir()):
        for _ in library.add([folder]):
            pass
    yield library
    library.close()


@pytest.fixture
def short_answers() -> AnswerSettings:
    """Answers of a few tokens: the 270M base model's prose is not what is tested."""
    return AnswerSettings(max_answer_tokens=24, temperature=0.0)
