"""Fixtures: the misbehaving local server, and a small catalog of model-like files
(``tests/support/toy_models.py``).

Nothing here contacts any host but 127.0.0.1: proxies and HF_ENDPOINT are cleared, and
every catalog used points at the local server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.core.model_files import catalog as catalog_module
from tests.support.model_server import ModelServer
from tests.support.toy_models import Toy, make_toy


@pytest.fixture(autouse=True)
def local_only(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                "all_proxy", "HF_ENDPOINT", "KURA_LLM_PATH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def server() -> Iterator[ModelServer]:
    s = ModelServer().start()
    yield s
    s.stop()


@pytest.fixture
def toy(server: ModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Toy:
    """Pinned checksums; the shipped catalog is replaced by this one (for the CLI too)."""
    toy = make_toy(server, tmp_path, pin=True)
    monkeypatch.setattr(catalog_module, "CATALOG_PATH", toy.catalog_path)
    return toy


@pytest.fixture
def hub_toy(server: ModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Toy:
    """Nothing pinned: checksums come from the server's X-Linked-Etag, like the hub."""
    toy = make_toy(server, tmp_path, pin=False)
    monkeypatch.setattr(catalog_module, "CATALOG_PATH", toy.catalog_path)
    return toy
