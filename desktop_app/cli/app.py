"""``kura app`` and ``kura selftest``: the window and its self-test, started exactly as
``kura-app`` and ``kura-app --selftest`` start them (same log, same offline switch).

The GUI is imported only when one of these runs: every other command works without Qt.
"""

from __future__ import annotations

import sys

import click


def _run_gui(*args: str) -> int:
    from desktop_app.gui.app import main as gui_main

    return gui_main([*sys.argv[:1], *args])


@click.command("app")
def app_command() -> None:
    """Open Kura's window (the same as kura-app)."""
    sys.exit(_run_gui())


@click.command()
def selftest() -> None:
    """Check that every native part loads and print a report (the same as
    kura-app --selftest); exit code 1 if one failed."""
    sys.exit(_run_gui("--selftest"))
