"""When Qt cannot open a window, Kura names the missing system libraries and packages."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.gui import app as app_module
from desktop_app.gui import system_libraries
from desktop_app.gui.system_libraries import Missing, install_line, unresolved_libraries
from tests.support.samples import REPO

# What ldd prints for Qt's xcb plugin on a fresh Debian 12 desktop install.
LDD_OUTPUT = """\
\tlinux-vdso.so.1 (0x00007ffd5b5f9000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f6a2c000000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f6a2bfd0000)
\tlibxcb-icccm.so.4 => not found
\tlibsomething-new.so.2 => not found
"""


def _fake_ldd(monkeypatch: pytest.MonkeyPatch, output: str) -> None:
    monkeypatch.setattr(system_libraries.shutil, "which", lambda name: "/usr/bin/ldd")

    def run(args, **kwargs):
        return subprocess.CompletedProcess(args, 0, stdout=output, stderr="")

    monkeypatch.setattr(system_libraries.subprocess, "run", run)


def test_every_missing_library_is_named_with_its_packages(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"\x7fELF")
    _fake_ldd(monkeypatch, LDD_OUTPUT)

    missing = unresolved_libraries(plugin)
    assert missing.libraries == ("libxcb-icccm.so.4", "libxcb-keysyms.so.1",
                                 "libsomething-new.so.2")
    assert missing.debian == ["libxcb-icccm4", "libxcb-keysyms1"]
    assert missing.fedora == ["xcb-util-wm", "xcb-util-keysyms"]
    advice = missing.advice()
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1." in advice
    assert "sudo dnf install xcb-util-wm xcb-util-keysyms." in advice
    assert "libsomething-new.so.2" in advice.split("(Find", 1)[1]
    assert "libxcb-cursor0" not in advice  # no guess: only what is missing


def test_without_ldd_the_loaders_message_names_the_library(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(system_libraries.shutil, "which", lambda name: None)
    missing = unresolved_libraries(
        tmp_path / "libqxcb.so",
        "Cannot load library libqxcb.so: (libxcb-icccm.so.4: cannot open shared object file: "
        "No such file or directory)")
    assert missing == Missing(("libxcb-icccm.so.4",))
    assert missing.debian == ["libxcb-icccm4"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ldd")
def test_a_library_with_everything_present_has_nothing_missing() -> None:
    """The real ldd on a real library whose dependencies are all there."""
    assert unresolved_libraries(Path(sys.executable)).libraries == ()


def test_the_fatal_qt_message_is_followed_by_what_to_install(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    from PySide6.QtCore import QMessageLogContext, QtMsgType

    monkeypatch.setattr(system_libraries, "unresolved_libraries",
                        lambda plugin, error="": Missing(("libxcb-icccm.so.4",)))
    with caplog.at_level(logging.INFO):
        app_module._qt_message(QtMsgType.QtFatalMsg, QMessageLogContext(),
                               'Could not load the Qt platform plugin "xcb"')
    err = capsys.readouterr().err
    assert "Qt could not open a window: missing system libraries: libxcb-icccm.so.4." in err
    assert "sudo apt-get install libxcb-icccm4." in err
    assert "libxcb-cursor0" not in err
    assert "sudo apt-get install libxcb-icccm4." in caplog.text


def test_the_readme_names_every_package_qt_needs() -> None:
    """The README's set-up lines are the table's, so they cannot drift apart."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert install_line("debian") in readme
    assert install_line("fedora") in readme
