"""Where the model-building scripts keep what they make (outside the repository).

Everything is keyed by checksum so a later run, or CI on the same machine, reuses it.
``KURA_BUILD_CACHE`` moves it; the default is ``~/.cache/kura-build``.
"""

from __future__ import annotations

import os
from pathlib import Path


def build_cache_dir() -> Path:
    root = os.environ.get("KURA_BUILD_CACHE") or Path.home() / ".cache" / "kura-build"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path
