"""One progress protocol for every long job: reading files, embedding, rebuilding the
search index, downloading, copying and checking model files.

A long job is a generator of ``Progress`` (a ``Job``), shaped for superqt's generator
workers:

- the caller iterates to make progress and shows each step (the CLI with one renderer in
  ``desktop_app.cli._common``, the GUI with one function in ``desktop_app.gui.jobs``);
- the caller stops the job by closing the generator (or by not asking for the next
  step): jobs yield only at safe points, so a closed job leaves nothing half done, and
  running it again resumes it;
- the job's summary (what a sync changed, what a fetch installed) is the generator's
  return value: ``summary = yield from job`` inside another job, ``run_quietly(job)``
  where nobody watches.

Rate and ETA are computed here, once, so the terminal and the window show the same
figures.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Literal, TypeVar

from desktop_app.core.errors import KuraError

# scan/ocr/embed/index: the library ("ocr": the pages of one scan, as they are
# recognised); the rest: model files.
Stage = Literal["scan", "ocr", "embed", "index", "probe", "download", "copy", "verify",
                "prepare", "install"]
STAGES: tuple[Stage, ...] = ("scan", "ocr", "embed", "index", "probe", "download", "copy",
                             "verify", "prepare", "install")
Unit = Literal["items", "bytes"]

Summary = TypeVar("Summary")
Job = Generator["Progress", None, Summary]


@dataclass(frozen=True)
class Progress:
    """One step of a long job. ``total`` is None while it is not known.

    ``item`` is what the step is about (a file, a folder, a model bundle); ``message`` is
    news about it: for a scan step, what became of the file ("new", "changed",
    "unchanged", "skipped" or "removed"); for model files, a sentence ("checksum failed;
    downloading again").
    """

    stage: Stage
    done: int = 0
    total: int | None = None
    unit: Unit = "items"
    item: str | None = None
    rate: float | None = None  # units per second, over the last few seconds
    eta: float | None = None  # seconds left at that rate
    message: str | None = None

    @property
    def fraction(self) -> float | None:
        return min(1.0, self.done / self.total) if self.total else None


class Cancelled(KuraError):
    """A job that takes ``should_stop`` (hashing a file) was told to stop; what was done
    is kept, and the next run resumes it."""


def run_quietly(job: Job[Summary]) -> Summary:
    """Run ``job`` to its end without showing its steps; its summary."""
    while True:
        try:
            next(job)
        except StopIteration as end:
            return end.value


class RateMeter:
    """Units per second over a sliding window, and the ETA at that rate.

    Why a window and not the average since the start: a resumed download starts with most
    bytes already on disk, and a connection's (or a CPU's) speed changes; the last few
    seconds predict the next ones best.
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

    def measure(self, done: int, total: int | None) -> tuple[float | None, float | None]:
        """(rate, eta) with ``done`` of ``total`` reached now."""
        rate = self.update(done)
        return rate, eta_seconds(done, total, rate)

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
