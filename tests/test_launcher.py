"""The ``kura`` command: the core's CLI with ``kura app`` on top."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from desktop_app.launcher import cli


def test_kura_lists_the_app_command_beside_the_core_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("app", "add", "search", "ask", "models"):
        assert f"  {command} " in result.output


def test_kura_app_opens_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[list[str]] = []

    def fake_main(argv: list[str]) -> int:  # stands in for the real window (no event loop)
        started.append(argv)
        return 0

    monkeypatch.setattr("desktop_app.gui.app.main", fake_main)
    result = CliRunner().invoke(cli, ["app"])
    assert result.exit_code == 0
    assert len(started) == 1
