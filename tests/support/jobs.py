"""Driving a job (``desktop_app.core.progress``) in a test: its steps and its summary."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from desktop_app.core.progress import Job, Progress

Summary = TypeVar("Summary")


def run(job: Job[Summary], on_step: Callable[[Progress], object] | None = None) -> Summary:
    """Run ``job`` to its end, handing each step to ``on_step``; its summary."""
    while True:
        try:
            step = next(job)
        except StopIteration as end:
            return end.value
        if on_step is not None:
            on_step(step)


def steps_and_summary(job: Job[Summary]) -> tuple[list[Progress], Summary]:
    steps: list[Progress] = []
    return steps, run(job, steps.append)
