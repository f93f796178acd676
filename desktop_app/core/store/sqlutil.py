"""Small SQL helpers shared by the repositories."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

# Well under SQLite's host-parameter limit (999 before 3.32) and small enough that one
# statement never holds the write lock for long.
IN_BATCH = 500


def now() -> float:
    return time.time()


def marks(n: int) -> str:
    """``?, ?, ?`` for an IN list of ``n`` values."""
    return ", ".join("?" * n)


def batched(items: Sequence[T], size: int = IN_BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def path_text(path: str | os.PathLike[str]) -> str:
    return os.fspath(path)


def folder_prefixes(folder: str) -> list[str]:
    """Prefixes that a path strictly inside ``folder`` starts with (either separator on
    Windows). A plain ``startswith(folder)`` would put /docs-old inside /docs."""
    base = folder.rstrip("/\\") or folder
    seps = {os.sep, os.altsep or os.sep}
    return [base if base.endswith(sep) else base + sep for sep in sorted(seps)]


def is_under(path: str, folder: str) -> bool:
    base = folder.rstrip("/\\") or folder
    return path == base or any(path.startswith(p) for p in folder_prefixes(folder))
