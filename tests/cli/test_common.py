"""What every command shares: the exit-code table, the library closed however a command
ends, and the one progress renderer."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from desktop_app.cli import _common
from desktop_app.cli._common import ExitCode, ProgressBars, open_library, user_errors
from desktop_app.core.errors import KuraError
from desktop_app.core.library import Library
from desktop_app.core.library_lock import LibraryLock
from desktop_app.core.progress import STAGES, Cancelled, Progress


@pytest.mark.parametrize("writer", [True, False])
def test_open_library_closes_it_also_when_the_command_fails(
        closed_libraries: list[Library], writer: bool) -> None:
    with pytest.raises(KuraError), open_library(writer=writer) as library:
        assert library.writer is writer
        raise KuraError("something the user can fix")
    assert closed_libraries == [library]
    # ...and a writer's lock went with it: the next writer gets in at once.
    LibraryLock(library.home, "kura add").acquire(wait=False)


def _ending_with(problem: BaseException | None) -> click.Command:
    @click.command()
    @user_errors
    def command() -> None:
        click.echo("working")
        if problem is not None:
            raise problem

    return command


@pytest.mark.parametrize(("problem", "code", "stderr"), [
    (None, ExitCode.DONE, ""),
    (KuraError("no collection named 'nope'"), ExitCode.CANNOT_RUN,
     "kura: no collection named 'nope'\n"),
    (Cancelled("the download was cancelled"), ExitCode.STOPPED,
     "kura: the download was cancelled\n"),
    (KeyboardInterrupt(), ExitCode.STOPPED,
     "Stopped; run the same command again to resume.\n"),
])
def test_user_errors_holds_the_exit_code_table(problem: BaseException | None, code: int,
                                               stderr: str) -> None:
    result = CliRunner().invoke(_ending_with(problem))
    assert (result.exit_code, result.stderr, result.stdout) == (code, stderr, "working\n")


def test_an_unexpected_error_keeps_its_traceback_and_exits_1() -> None:
    result = CliRunner().invoke(_ending_with(RuntimeError("a bug")))
    assert result.exit_code == ExitCode.FAILED
    assert isinstance(result.exception, RuntimeError)


def test_one_renderer_draws_library_jobs_and_model_files(capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[dict[str, object]] = []

    class Bar:  # records what tqdm was asked to draw
        def __init__(self, **options: object) -> None:
            opened.append(options)
            self.total = options["total"]
            self.n = 0

        def refresh(self) -> None:
            pass

        def close(self) -> None:
            pass

    monkeypatch.setattr("tqdm.tqdm", Bar)
    retrying = Progress("download", unit="bytes", item="model.onnx",
                        message="HTTP 503; trying again in 1.0 s")
    with ProgressBars(quiet=False) as bars:
        for step in (Progress("scan", 1, 2, item="a.md", message="new"), Progress("scan", 2, 2),
                     Progress("embed", 5, 9), Progress("index", 0, 4096),
                     Progress("index", 2048, 4096)):
            bars.show(step)
        for event in (Progress("probe", item="model.onnx", message="HEAD ok"),
                      Progress("download", 10, 100, "bytes", "model.onnx"),
                      retrying, retrying,  # repeated while waiting: one line
                      Progress("install", item="model.onnx", message="installed")):
            bars.show(event)
    assert [(o["desc"], o["unit"], o["leave"]) for o in opened] == [
        ("reading files", " items", True), ("embedding", " items", True),
        ("indexing", " items", True), ("downloading model.onnx", "B", False)]
    assert capsys.readouterr().err == ("model.onnx: HTTP 503; trying again in 1.0 s\n"
                                       "model.onnx: installed\n")
    assert _common.bar_state(Progress("prepare", item="embedder")) is None


def test_interleaved_reading_and_embedding_keep_one_bar_each(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A library job reads files while it embeds earlier ones: its "scan" and "embed"
    steps alternate, and each stage must move its own bar, not open a new one."""
    bars: list[dict[str, object]] = []

    class Bar:
        def __init__(self, **options: object) -> None:
            self.options = dict(options, closed=False)
            bars.append(self.options)
            self.total = options["total"]
            self.n = 0

        def refresh(self) -> None:
            self.options["n"], self.options["total"] = self.n, self.total

        def close(self) -> None:
            self.options["closed"] = True

    monkeypatch.setattr("tqdm.tqdm", Bar)
    with ProgressBars(quiet=False) as shown:
        for step in (Progress("scan", 1, None, item="a.md", message="new"),
                     Progress("embed", 4, 4), Progress("scan", 2, None, message="new"),
                     Progress("embed", 9, 12), Progress("scan", 3, 3, message="new"),
                     Progress("embed", 12, 12)):
            shown.show(step)
        assert [(b["desc"], b["position"], b["n"], b["total"], b["closed"]) for b in bars] \
            == [("reading files", 0, 3, 3, False), ("embedding", 1, 12, 12, False)]
        shown.show(Progress("download", 1, 10, "bytes", "model.onnx"))  # drawn alone
    assert [b["closed"] for b in bars] == [True, True, True]


@pytest.mark.parametrize("stage", STAGES)
def test_the_renderer_handles_every_stage(stage: str) -> None:
    for step in (Progress(stage), Progress(stage, 3, 10, "bytes", "model.onnx", 1.5, 4.7),
                 Progress(stage, 3, None, item="model.onnx", message="news")):
        shown = _common.bar_state(step)
        assert shown is None or isinstance(shown, str | _common.BarState)


def test_run_job_returns_the_summary_and_closes_the_job() -> None:
    closed: list[bool] = []

    def job():
        try:
            yield Progress("scan", 1, 1)
            return "summary"
        finally:
            closed.append(True)

    assert _common.run_job(job(), as_json=True) == "summary" and closed == [True]


def test_json_draws_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with ProgressBars(quiet=True) as bars:
        bars.show(Progress("scan", 1, 2))
        bars.show(Progress("install", item="model.onnx", message="installed"))
    assert capsys.readouterr() == ("", "")
