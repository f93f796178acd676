"""One progress event for every long step (probe, download, copy, verify, prepare).

The CLI draws it with tqdm; the GUI maps it onto a progress bar. Rate and ETA are
computed here, once, so both show the same figures.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Stage = Literal["probe", "download", "copy", "verify", "prepare", "install"]


@dataclass(frozen=True)
class Progress:
    stage: Stage
    name: str  # the file (or bundle, for "prepare") this is about
    done: int = 0  # bytes
    total: int | None = None  # bytes, when known
    rate: float | None = None  # bytes per second, over the last few seconds
    eta: float | None = None  # seconds left at that rate
    message: str = ""

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None


ProgressCallback = Callable[[Progress], None]
ShouldStop = Callable[[], bool]


def no_progress(_event: Progress) -> None:
    pass


def never_stop() -> bool:
    return False


class RateMeter:
    """Bytes per second over a sliding window.

    Why a window and not the average since the start: a resumed download starts with most
    bytes already on disk, and a connection's speed changes; the last few seconds predict
    the next ones best.
    """

    def __init__(self, window: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self._window = window
        self._clock = clock
        self._samples: deque[tuple[float, int]] = deque()

    def update(self, done: int) -> float | None:
        now = self._clock()
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > self._window:
            self._samples.popleft()
        first_time, first_done = self._samples[0]
        elapsed = now - first_time
        if elapsed <= 0:
            return None
        return (done - first_done) / elapsed

    def reset(self) -> None:
        self._samples.clear()


def eta_seconds(done: int, total: int | None, rate: float | None) -> float | None:
    if total is None or not rate or rate <= 0:
        return None
    return max(0.0, (total - done) / rate)


def format_duration(seconds: float | None) -> str:
    """An ETA as people read it: "45 s", "1:15", "1:02:05"; "…" while unknown."""
    if seconds is None:
        return "…"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}:{seconds:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover - the loop always returns
