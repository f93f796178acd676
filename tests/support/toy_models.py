"""Model-like files (random bytes) served by ``ModelServer`` in the hub's layout, and the
catalogs that name them: the model-file tests and the window's welcome page use them.
Nothing here contacts any host but 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop_app.core.model_files.catalog import Catalog, load_catalog
from desktop_app.core.model_files.downloader import HttpOptions
from tests.support.model_server import ModelServer

MB = 1024 * 1024
TOY_REPO = "kura-test/toy-models"
# Fast retries and short timeouts: the server misbehaves on purpose.
FAST = HttpOptions(retries=3, backoff=0.01, max_backoff=0.05, timeout=2.0, chunk=64 * 1024,
                   min_free=0)


def blob(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source(name: str) -> str:
    return f"{TOY_REPO}/resolve/main/{name}"


def write_catalog(path: Path, bundles: list[dict[str, Any]]) -> Catalog:
    path.write_text(json.dumps({"base_url": "http://127.0.0.1:9", "bundles": bundles}))
    return load_catalog(path)


@dataclass
class Toy:
    """Model-like files (random bytes), served in the hub's layout, and their catalog."""

    server: ModelServer
    catalog: Catalog
    catalog_path: Path
    blobs: dict[str, bytes]

    @property
    def base(self) -> str:
        return self.server.base

    def path_of(self, name: str) -> str:
        return source(name)


TOY_EMBEDDER = {"onnx/model.onnx": 1 * MB, "onnx/model.onnx_data": 3 * MB,
                "tokenizer.json": 256 * 1024}
TOY_LLM = {"toy-4b-it-Q4_K_M.gguf": 4 * MB}


def make_toy(server: ModelServer, folder: Path, pin: bool) -> Toy:
    """An embedder bundle (installed as is) and an LLM bundle; checksums pinned in the
    catalog when ``pin``, otherwise left null for the server's X-Linked-Etag."""
    blobs: dict[str, bytes] = {}
    for seed, (name, size) in enumerate({**TOY_EMBEDDER, **TOY_LLM}.items()):
        blobs[name] = blob(size, seed)
        server.add(source(name), blobs[name])

    def entry(name: str) -> dict[str, Any]:
        return {"name": name, "size": len(blobs[name]) if pin else None,
                "sha256": sha256(blobs[name]) if pin else None,
                "license": "test", "sources": [source(name)]}

    bundles = [
        {"id": "toy-embedder", "role": "embedder", "default": True, "prepare": "install",
         "files": [entry(n) for n in TOY_EMBEDDER]},
        {"id": "toy-llm", "role": "llm", "default": True, "prepare": "install",
         "files": [entry(n) for n in TOY_LLM]},
    ]
    path = folder / "catalog.json"
    return Toy(server, write_catalog(path, bundles), path, blobs)
