"""Which numbered passages an answer cites.

The model is asked for ``[1]`` or ``[2][3]``; models also write ``[1, 3]``, ``[1-3]`` and,
in Chinese, full-width ``［1］`` or ``【1】``. All of these count. A number that names no
passage given to the model (a hallucinated ``[9]`` of five) is ignored, not trusted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

MARKER = re.compile(r"[\[［【]\s*(\d+(?:\s*[,，、;；\-–~]\s*\d+)*)\s*[\]］】]")
_PART = re.compile(r"(\d+)\s*[\-–~]\s*(\d+)|(\d+)")
_MAX_RANGE = 20  # "[1-3]" is a range; "[1-2000]" is not a citation

T = TypeVar("T")


def cited_numbers(text: str, count: int) -> list[int]:
    """Passage numbers cited in ``text`` (1..count), in order of first citation."""
    seen: dict[int, None] = {}
    for marker in MARKER.finditer(text):
        for part in _PART.finditer(marker.group(1)):
            if part.group(3):
                numbers = [int(part.group(3))]
            else:
                low, high = int(part.group(1)), int(part.group(2))
                numbers = list(range(low, high + 1)) if 0 <= high - low <= _MAX_RANGE else []
            for n in numbers:
                if 1 <= n <= count:
                    seen.setdefault(n)
    return list(seen)


def cited(text: str, numbered: Sequence[T]) -> list[T]:
    """The items of ``numbered`` (item i is passage [i+1]) that ``text`` cites."""
    return [numbered[n - 1] for n in cited_numbers(text, len(numbered))]
