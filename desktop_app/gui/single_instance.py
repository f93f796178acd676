"""One window per library: a second launch brings the first window to the front.

The first Kura of a data dir listens on a ``QLocalServer`` (a Unix socket; a named pipe
on Windows) named after the user and the data dir, so two users, or one user's two data
dirs, never meet. A later launch connects, sends ``activate`` and exits 0 once the first
has answered ``ok`` (it raised its window, as far as the desktop allows: some window
managers only flash the task bar). If the first accepts the connection but does not
answer -- its GUI thread is stuck -- the later launch says that Kura is already open. A
socket file left by a Kura that crashed answers no connection at all: it is removed and
this launch becomes the first.

This is about windows, not about writing: the library lock (``core/library_lock.py``)
is what keeps two writers apart, a ``kura add`` included; a second window would only
wait for it, so it hands the user the first one instead.
"""

from __future__ import annotations

import enum
import getpass
import hashlib
import os
import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtNetwork import QAbstractSocket, QLocalServer, QLocalSocket
from PySide6.QtWidgets import QWidget

ACTIVATE = b"activate\n"
ANSWER = b"ok\n"
CONNECT_MS = 1000  # a running Kura accepts at once (the OS does, even if Kura is busy)
ANSWER_MS = 3000  # its event loop answers between two paint events, unless it is stuck


class Reply(enum.Enum):
    NONE_RUNNING = "none running"  # nobody listens: this launch becomes the first
    ACTIVATED = "activated"  # the first raised its window: this launch can exit
    NO_ANSWER = "no answer"  # someone listens but does not answer: Kura is already open


def server_name(home: Path) -> str:
    """The server's name for this user and data dir: short (a Unix socket path is at
    most ~100 bytes) and without the path's characters."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    where = os.path.normcase(str(Path(home).expanduser().resolve()))
    digest = hashlib.sha256(f"{user}\0{where}".encode()).hexdigest()[:16]
    return f"kura-{digest}"


def ask_running_instance(name: str, connect_ms: int = CONNECT_MS,
                         answer_ms: int = ANSWER_MS) -> Reply:
    """Ask the Kura listening on ``name`` to bring its window to the front. Blocking,
    with its own socket: call it before this process's event loop runs (or on any
    thread)."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(connect_ms):
        return Reply.NONE_RUNNING
    try:
        socket.write(ACTIVATE)
        socket.flush()
        deadline = time.monotonic() + answer_ms / 1000
        reply = b""
        while not reply.endswith(b"\n"):
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0 or not socket.waitForReadyRead(left_ms):
                if socket.bytesAvailable():
                    reply += bytes(socket.readAll().data())
                break
            reply += bytes(socket.readAll().data())
        return Reply.ACTIVATED if reply == ANSWER else Reply.NO_ANSWER
    finally:
        socket.abort()


class InstanceServer(QObject):
    """The first Kura's end: ``activate_requested`` when a later launch asks."""

    activate_requested = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._server = QLocalServer(self)
        # Only this user may connect (the socket file's mode on Unix).
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._on_connection)

    def listen(self) -> bool:
        """Start listening; False when another Kura already does."""
        if self._server.listen(self.name):
            return True
        if self._server.serverError() != QAbstractSocket.SocketError.AddressInUseError:
            return False
        # A live Kura, or a socket file left by a crashed one: only the first answers.
        if ask_running_instance(self.name) is not Reply.NONE_RUNNING:
            return False
        QLocalServer.removeServer(self.name)
        return self._server.listen(self.name)

    def close(self) -> None:
        self._server.close()

    def _on_connection(self) -> None:
        while (socket := self._server.nextPendingConnection()) is not None:
            socket.readyRead.connect(lambda s=socket: self._on_ready(s))
            socket.disconnected.connect(socket.deleteLater)
            self._on_ready(socket)

    def _on_ready(self, socket: QLocalSocket) -> None:
        if not socket.canReadLine():
            return
        if bytes(socket.readLine().data()) == ACTIVATE:
            self.activate_requested.emit()
            socket.write(ANSWER)
            socket.flush()
        socket.disconnectFromServer()


def claim(name: str) -> InstanceServer | Reply:
    """Become the first Kura of this data dir (the server, listening), or tell the
    running one to come to the front (its reply)."""
    reply = ask_running_instance(name)
    if reply is not Reply.NONE_RUNNING:
        return reply
    server = InstanceServer(name)
    if server.listen():
        return server
    server.deleteLater()
    # Another launch started listening meanwhile: it is the first.
    reply = ask_running_instance(name)
    return Reply.NO_ANSWER if reply is Reply.NONE_RUNNING else reply


def bring_to_front(window: QWidget) -> None:
    """Show ``window`` un-minimized, raised and focused, as far as the desktop allows."""
    state = window.windowState() & ~Qt.WindowState.WindowMinimized
    window.setWindowState(state | Qt.WindowState.WindowActive)
    window.show()
    window.raise_()
    window.activateWindow()
