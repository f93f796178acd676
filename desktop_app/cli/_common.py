"""What every ``kura`` command shares: how it ends, how it opens the library, ``--json``,
and its progress bars. Command modules import this and nothing of each other.

Exit codes (the README's "The document library" repeats this table):

====  ===================================================================================
code  meaning
====  ===================================================================================
0     done, also when some files were skipped (they are listed, each with its reason)
1     failed: an unexpected error (with its traceback), or ``kura models verify`` found a
      missing or damaged file
2     could not run: bad input, a missing model file, an unknown collection (every
      ``KuraError``; click's own usage errors exit 2 as well)
130   stopped by Ctrl+C (or a cancelled job): what was done is kept, and running the
      same command again resumes it. Ctrl+C while ``kura watch`` waits for changes is
      how watching ends: 0
====  ===================================================================================
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from enum import IntEnum
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import click

from desktop_app.core.errors import KuraError
from desktop_app.core.library import Library
from desktop_app.core.preferences import load_preferences
from desktop_app.core.progress import Cancelled, Job, Progress


class ExitCode(IntEnum):
    DONE = 0
    FAILED = 1
    CANNOT_RUN = 2
    STOPPED = 130  # 128 + SIGINT, what shells report for a program stopped by Ctrl+C


STOPPED = "Stopped; run the same command again to resume."

Params = ParamSpec("Params")
Result = TypeVar("Result")
Summary = TypeVar("Summary")
Decorated = TypeVar("Decorated", bound=Callable[..., Any])


def user_errors(command: Callable[Params, Result]) -> Callable[Params, Result]:
    """Turn what a person can act on into one line on stderr and the exit code of the
    table above; anything else keeps its traceback (exit 1), because it is a bug.

    Catching Ctrl+C here, inside the command, keeps click from printing "Aborted!" and
    exiting 1: a stopped job is not a failed one."""

    @wraps(command)
    def run(*args: Params.args, **kwargs: Params.kwargs) -> Result:
        try:
            return command(*args, **kwargs)
        except Cancelled as exc:
            click.echo(f"kura: {exc}", err=True)
            sys.exit(ExitCode.STOPPED)
        except KuraError as exc:
            click.echo(f"kura: {exc}", err=True)
            sys.exit(ExitCode.CANNOT_RUN)
        except KeyboardInterrupt:
            click.echo(STOPPED, err=True)
            sys.exit(ExitCode.STOPPED)

    return run


def json_option(text: str = "Print JSON instead of text.") -> Callable[[Decorated], Decorated]:
    """``--json``, passed as ``as_json``: every command has it but ``kura app`` and
    ``kura selftest``."""
    return click.option("--json", "as_json", is_flag=True, help=text)


@contextmanager
def open_library(*, writer: bool, ocr: bool = True) -> Iterator[Library]:
    """The library in the data dir for one command, closed however the command ends
    (a writer's changed vector index is saved, SQLite is closed).

    ``writer=True``, for a command that changes the library: it first takes the
    library's lock (one writer per library, ``core/library_lock.py``). While another
    process holds it -- the window, another ``kura add`` -- the command says on stderr
    whom it waits for and waits; Ctrl+C stops the wait (exit 130). ``writer=False``, for
    a command that only reads: it never waits and never writes, not even the vector
    index (an index behind the database is brought up to date in memory only).

    ``ocr=False`` (``--no-ocr``): scanned pages are not read this time; otherwise they
    are when the window's Settings say so (the same settings file)."""
    if writer:
        # The window's settings (the same file): the index's width, whether scans are read.
        prefs = load_preferences()
        settings = replace(prefs.library_settings(), ocr=ocr and prefs.ocr)
        library = Library(writer=True, purpose=_purpose(), on_wait=_say_waiting,
                          settings=settings)
    else:
        library = Library(writer=False)
    try:
        yield library
    finally:
        library.close()


def _purpose() -> str:
    """How a waiting process names this one: "kura add"."""
    context = click.get_current_context(silent=True)
    return f"kura {context.info_name}" if context and context.info_name else "kura"


def _say_waiting(holder: str) -> None:
    click.echo(f"Waiting for {holder} to finish with this library…", err=True)


# -- progress ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BarState:
    """One progress step as the terminal draws it. Steps with the same ``key`` move one
    bar; a new key closes the bar before it and opens the next."""

    key: tuple[str, ...]
    label: str
    done: int
    total: int | None
    in_bytes: bool = False  # scaled byte counts (12.3MB, 4.56MB/s) instead of items
    keep: bool = True  # leave the finished bar on screen


LABELS = {"scan": "reading files", "ocr": "recognising pages", "embed": "embedding",
          "index": "indexing",
          "download": "downloading", "copy": "copying", "verify": "checking"}


def bar_state(step: Progress) -> BarState | str | None:
    """What the terminal shows for one step. Counted items (files, passages, vectors) get
    a bar per stage, kept on screen as the job's summary; bytes a bar per stage and file
    (cleared when done); news about a model file (preparing, installing, retrying) a
    line; a probe nothing (one per file: not news)."""
    if step.stage == "probe":
        return None
    label = LABELS.get(step.stage, step.stage)
    if step.unit == "items" and step.stage in ("scan", "ocr", "embed", "index"):
        # A scan step's message is what became of its file: the bar says enough.
        return BarState((step.stage,), label, step.done, step.total)
    if step.message:
        return f"{step.item}: {step.message}"
    if step.stage in ("prepare", "install"):
        return None
    return BarState((step.stage, step.item or ""), f"{label} {step.item}", step.done,
                    step.total, in_bytes=step.unit == "bytes", keep=False)


class ProgressBars:
    """The CLI's one progress renderer: tqdm bars on stderr, lines of news between bars
    (a line repeated while a job waits is printed once), nothing at all when ``quiet``
    (``--json``: stdout stays pure JSON).

    Counted stages stand one above the other and move together: a library job
    interleaves "scan" and "embed" steps (files are read while earlier ones are
    embedded), and one bar each keeps both in view instead of redrawing a new bar at
    every switch. Any other bar (bytes of one file) is drawn alone."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self._bars: dict[tuple[str, ...], Any] = {}  # open bars, top to bottom
        self._news: str | None = None

    def __enter__(self) -> ProgressBars:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._close()

    def show(self, step: Progress) -> None:
        """Draw one step."""
        shown = None if self.quiet else bar_state(step)
        if shown is None:
            return
        if isinstance(shown, str):
            if shown != self._news:
                self._close()
                click.echo(shown, err=True)
                self._news = shown
            return
        self._news = None
        bar = self._bars.get(shown.key)
        if bar is None:
            open_bars = list(self._bars)
            if not shown.keep or any(not _stacks(key) for key in open_bars):
                self._close()
            from tqdm import tqdm

            # initial: tqdm's rate counts from here, so a resumed download does not
            # show the bytes already on disk as if they came in this second.
            bar = tqdm(desc=shown.label, total=shown.total, initial=shown.done,
                       unit="B" if shown.in_bytes else " items",
                       unit_scale=shown.in_bytes, unit_divisor=1000,
                       file=sys.stderr, leave=shown.keep, position=len(self._bars))
            self._bars[shown.key] = bar
        if shown.total is not None and bar.total != shown.total:
            bar.total = shown.total
        bar.n = shown.done
        bar.refresh()

    def _close(self) -> None:
        # Bottom first: tqdm moves the cursor back up over the bars still open.
        for bar in reversed(list(self._bars.values())):
            bar.close()
        self._bars = {}


def _stacks(key: tuple[str, ...]) -> bool:
    """A bar that stays open beside others: one per counted library stage."""
    return len(key) == 1 and key[0] in ("scan", "ocr", "embed", "index")


def run_job(job: Job[Summary], as_json: bool) -> Summary:
    """Drive a job to its end (bars for people, silence for ``--json``); its summary.
    However it ends (Ctrl+C too), the job is closed, so its own clean-up runs."""
    with ProgressBars(quiet=as_json) as bars:
        try:
            while True:
                try:
                    step = next(job)
                except StopIteration as end:
                    return end.value
                bars.show(step)
        finally:
            job.close()
