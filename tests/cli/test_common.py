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
from desktop_app.core.progress import STAGES, Cancelled, Progress


def test_open_library_closes_it_also_when_the_command_fails(
        closed_libraries: list[Library]) -> None:
    with pytest.raises(KuraError), open_library() as library:
        raise KuraError("something the user can fix")
    assert closed_libraries == [library]


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
