"""``kura app`` and ``kura selftest``: the window and its self-test, from the CLI."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from desktop_app.cli import cli


def test_kura_lists_the_app_command_beside_the_core_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("app", "add", "search", "ask", "models", "selftest"):
        assert f"  {command} " in result.output


@pytest.fixture
def window_starts(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The command lines ``kura-app``'s main was called with; stands in for the real
    window (no event loop)."""
    started: list[list[str]] = []

    def fake_main(argv: list[str]) -> int:
        started.append(argv)
        return 0

    monkeypatch.setattr("desktop_app.gui.app.main", fake_main)
    return started


def test_kura_app_opens_the_window(window_starts: list[list[str]]) -> None:
    result = CliRunner().invoke(cli, ["app"])
    assert result.exit_code == 0
    assert len(window_starts) == 1
    assert window_starts[0][1:] == []


def test_kura_selftest_runs_kura_app_selftest(window_starts: list[list[str]]) -> None:
    result = CliRunner().invoke(cli, ["selftest"])
    assert result.exit_code == 0
    assert [argv[1:] for argv in window_starts] == [["--selftest"]]
