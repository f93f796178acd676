"""One window per data dir: a second launch of Kura brings the first window to the front
(the second is a real process), or says that Kura is already open."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QDir, Qt
from PySide6.QtNetwork import QLocalServer
from PySide6.QtWidgets import QMessageBox, QWidget

from desktop_app.core.paths import data_dir
from desktop_app.gui import app as app_module
from desktop_app.gui.single_instance import (
    InstanceServer,
    Reply,
    ask_running_instance,
    bring_to_front,
    claim,
    server_name,
)

ASK = ("import sys\nfrom desktop_app.gui.single_instance import ask_running_instance\n"
       "print(ask_running_instance(sys.argv[1]).value)\n")
LAUNCH = "import sys\nfrom desktop_app.gui.app import main\nsys.exit(main(['kura-app']))\n"


def _start(code: str, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture
def first(qtbot, tmp_path: Path):
    """The first Kura of a data dir: listening, and counting what it was asked."""
    server = claim(server_name(tmp_path / "data"))
    assert isinstance(server, InstanceServer)
    asked: list[bool] = []
    server.activate_requested.connect(lambda: asked.append(True))
    yield server, asked
    server.close()


def test_a_second_process_brings_the_first_window_to_the_front(qtbot, first) -> None:
    server, asked = first
    window = QWidget()
    qtbot.addWidget(window)
    window.showMinimized()
    server.activate_requested.connect(lambda: bring_to_front(window))
    second = _start(ASK, server.name)
    qtbot.waitUntil(lambda: second.poll() is not None, timeout=30_000)  # our loop answers
    out, err = second.communicate()
    assert out.strip() == Reply.ACTIVATED.value, err
    assert asked == [True]
    assert not window.windowState() & Qt.WindowState.WindowMinimized and window.isVisible()


def test_a_second_kura_app_exits_0_without_a_window(qtbot, first, private_user_dirs) -> None:
    """``kura-app`` started again for the same data dir: the first is asked to come to
    the front, and the second ends with exit code 0 (its log says why)."""
    server, asked = first
    server.close()
    mine = claim(server_name(data_dir()))  # the data dir the second launch will use
    assert isinstance(mine, InstanceServer)
    mine.activate_requested.connect(lambda: asked.append(True))
    try:
        second = _start(LAUNCH)
        qtbot.waitUntil(lambda: second.poll() is not None, timeout=60_000)
        _, err = second.communicate()
    finally:
        mine.close()
    assert second.returncode == 0, err
    assert asked == [True]
    log = (private_user_dirs / "logs" / "kura.log").read_text(encoding="utf-8")
    assert "Kura is already open: its window was brought to the front" in log
    assert "window shown" not in log


def test_a_first_that_does_not_answer_means_kura_is_already_open(qtbot, tmp_path: Path
                                                                  ) -> None:
    name = server_name(tmp_path)
    stuck = QLocalServer()  # accepts (the OS does) but its loop never answers
    assert stuck.listen(name)
    try:
        assert ask_running_instance(name, answer_ms=300) is Reply.NO_ANSWER
    finally:
        stuck.close()
    shown: list[QMessageBox] = []
    assert app_module._already_open(Reply.NO_ANSWER, shown.append) == 0
    qtbot.addWidget(shown[0])
    assert shown[0].text() == "Kura is already open."


@pytest.mark.skipif(sys.platform == "win32", reason="named pipes leave no file behind")
def test_a_socket_left_by_a_crashed_kura_does_not_block_the_next(qtbot, tmp_path: Path
                                                                 ) -> None:
    name = server_name(tmp_path)
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = os.path.join(QDir.tempPath(), name)
    leftover.bind(path)  # bound, never listening, never removed: what a crash leaves
    leftover.close()
    try:
        assert os.path.exists(path)
        assert ask_running_instance(name) is Reply.NONE_RUNNING
        server = claim(name)
        assert isinstance(server, InstanceServer)
        server.close()
    finally:
        if os.path.exists(path):
            os.unlink(path)


def test_the_name_is_per_data_dir_and_stable(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    assert server_name(one) != server_name(two)
    assert server_name(one) == server_name(tmp_path / "two" / ".." / "one")
    assert len(server_name(one)) < 40 and "/" not in server_name(one)
