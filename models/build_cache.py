"""Where the model-building scripts keep what they make (outside the repository).

Everything is keyed by checksum so a later run, or CI on the same machine, reuses it.
``KURA_BUILD_CACHE`` moves it; the default is ``~/.cache/kura-build``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def build_cache_dir() -> Path:
    root = os.environ.get("KURA_BUILD_CACHE") or Path.home() / ".cache" / "kura-build"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_file(path: Path, block: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()
