"""The ``kura`` command: the core's CLI, plus ``kura app`` to open the window.

It lives outside both layers on purpose: the core's CLI must not import the GUI (the
import-linter contract in pyproject.toml forbids it), and the GUI should not own the CLI.
"""

from __future__ import annotations

import sys

from desktop_app.core.cli import cli
from desktop_app.core.cli import main as core_main


@cli.command("app")
def app_command() -> None:
    """Open Kura's window (the same as ``kura-app``)."""
    from desktop_app.gui.app import main as gui_main

    sys.exit(gui_main(sys.argv[:1]))


def main() -> None:
    core_main()


__all__ = ["main"]
