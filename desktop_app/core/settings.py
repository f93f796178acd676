"""Paths and settings in one place.

The data directory is platformdirs' ``user_data_dir("Kura")`` unless the user moved it
(Settings → Data location, kept in a one-line file in ``user_config_dir("Kura")``, read
at start-up) or ``KURA_HOME`` says otherwise (tests point it at a temporary folder). It is
created readable by the user only: it holds the text of their private documents.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_config_dir, user_data_dir

APP_NAME = "Kura"
EMBEDDER_DIRNAME = "embeddinggemma-300m"


def default_data_dir() -> Path:
    return Path(user_data_dir(APP_NAME, False))


def data_location_file() -> Path:
    """Where a chosen data location is remembered: outside the data dir, by design."""
    return Path(user_config_dir(APP_NAME, False)) / "data-location"


def chosen_data_dir() -> Path | None:
    try:
        text = data_location_file().read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return Path(text).expanduser() if text else None


def set_data_location(path: Path | None) -> None:
    """Use ``path`` as the data dir from the next start (None: back to the default).
    Nothing is moved: an existing Kura folder there is used as it is."""
    target = data_location_file()
    if path is None or Path(path).expanduser() == default_data_dir():
        target.unlink(missing_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(str(Path(path).expanduser().resolve()) + "\n", encoding="utf-8")
    os.replace(tmp, target)


def data_dir() -> Path:
    override = os.environ.get("KURA_HOME")
    path = Path(override).expanduser() if override else chosen_data_dir() or default_data_dir()
    _make_private_dir(path)
    return path


def models_dir() -> Path:
    path = data_dir() / "models"
    _make_private_dir(path)
    return path


def embedder_dir() -> Path:
    """Where the quantized embedder (ONNX graph, weights, tokenizer) lives.

    ``KURA_EMBEDDER_DIR`` points elsewhere, e.g. at a build-cache artifact.
    """
    override = os.environ.get("KURA_EMBEDDER_DIR")
    return Path(override).expanduser() if override else models_dir() / EMBEDDER_DIRNAME


def _make_private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    # mkdir's mode is masked by the umask and ignored for existing folders.
    if os.name == "posix":
        path.chmod(0o700)


@dataclass(frozen=True)
class EmbedderSettings:
    """How the embedder runs. Defaults suit a laptop CPU."""

    max_length: int = 2048  # the model's own limit
    dim: int = 768  # Matryoshka: 768, 512, 256 or 128
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    batch_tokens: int = 4096  # padded tokens per batch; bounds memory, not quality


@dataclass(frozen=True)
class LibrarySettings:
    """How the document library reads, chunks, stores and searches."""

    # The hnswlib index may hold truncated Matryoshka vectors (coarse), the candidates
    # rescored with the full 768-d vectors from SQLite (fine). benchmarks/search.py
    # chose full 768: at 100k chunks it reaches recall@10 0.990 with ef 200 for 0.7 ms,
    # while 256 dims needs 400 candidates to reach 0.982; 256 saves ~200 MB of RAM there.
    index_dim: int = 768
    hnsw_ef: int = 200
    chunk_tokens: int = 320
    chunk_overlap: int = 48
    embed_batch: int = 32  # chunks per embedding step: progress and cancel granularity
    save_every: int = 512  # vectors between index saves (the index is a cache anyway)
    max_file_bytes: int = 200 * 1024 * 1024
