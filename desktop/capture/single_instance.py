"""One Lumen per user: the first instance listens on a local socket, later ones talk to it.

Protocol: the client sends one JSON object on one line; the instance answers with one JSON
line when the work is done (a capture answers after the description) and closes. Requests:
{"cmd": "ping" | "show" | "status" | "quit"}, {"cmd": "capture", "kind": "screen"|"window"|"region"|"text"},
{"cmd": "screenshot", "path": PNG path} (saves the main window, for review).
The client side uses blocking calls and needs no Qt application, so `lumen capture` stays light.
"""
from __future__ import annotations

import getpass
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)
ENV_NAME = "LUMEN_INSTANCE"

Reply = Callable[[dict[str, Any]], None]
Handler = Callable[[dict[str, Any], Reply], None]


def server_name() -> str:
    """A per-user name: `LUMEN_INSTANCE`, else a socket in XDG_RUNTIME_DIR, else lumen-USER."""
    override = os.environ.get(ENV_NAME)
    if override:
        return override
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if sys.platform.startswith("linux") and runtime and Path(runtime).is_dir():
        return str(Path(runtime) / "lumen.sock")
    try:
        user = getpass.getuser()
    except Exception:
        user = "user"
    return f"lumen-{user}"


def send(request: dict[str, Any], timeout_s: float = 5.0, name: str | None = None) -> dict[str, Any] | None:
    """Send one request to the running instance and wait for its answer.

    Returns None when no instance is running; raises TimeoutError when it does not answer.
    """
    sock = QLocalSocket()
    sock.connectToServer(name or server_name())
    if not sock.waitForConnected(1000):
        return None
    sock.write((json.dumps(request) + "\n").encode())
    sock.waitForBytesWritten(1000)  # blocking use, no event loop: push the request out now
    deadline = time.monotonic() + timeout_s
    buf = b""
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            sock.abort()
            raise TimeoutError("Lumen did not answer in time.")
        if sock.waitForReadyRead(int(min(left, 1.0) * 1000)):
            buf += bytes(sock.readAll())
        elif sock.state() != QLocalSocket.LocalSocketState.ConnectedState:
            buf += bytes(sock.readAll())
            break
    sock.disconnectFromServer()
    line = buf.split(b"\n", 1)[0].strip()
    if not line:
        raise ConnectionError("Lumen closed the connection without an answer.")
    return json.loads(line)


def someone_listens(name: str) -> bool:
    sock = QLocalSocket()
    sock.connectToServer(name)
    connected = sock.waitForConnected(500)
    sock.abort()
    return connected


class InstanceServer(QObject):
    """Listens for other `lumen` processes; `handler(request, reply)` runs on the GUI thread."""

    def __init__(self, handler: Handler, name: str | None = None) -> None:
        super().__init__()
        self._handler = handler
        self.name = name or server_name()
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)
        self._clients: set[QLocalSocket] = set()  # connections open now (each owned by Python)

    def listen(self) -> bool:
        """Start listening; False when another instance already owns the name.

        Checked by connecting first: with UserAccessOption Qt renames its socket over an
        existing one, so listen() alone would silently steal a live instance's name."""
        if someone_listens(self.name):
            return False
        QLocalServer.removeServer(self.name)  # left behind by an instance that crashed
        return self._server.listen(self.name)

    def close(self) -> None:
        self._server.close()

    def _accept(self) -> None:
        while self._server.hasPendingConnections():
            sock = self._server.nextPendingConnection()
            # Left a child of the server, the socket's Python wrapper stays in PySide's list of
            # the server's children after Qt deletes the socket: about 1 KB a request for the
            # window's life (2,000 captures: 2,000 wrappers). Owned by Python, it goes with
            # its last reference.
            # Only `_clients` holds the socket itself, so that its last reference, which deletes
            # it, always goes on this (the GUI) thread: a reply kept by a job and let go on a
            # worker thread would otherwise delete the socket there, under Qt's feet. The
            # callbacks reach it through `held`, emptied when the client leaves.
            sock.setParent(None)
            self._clients.add(sock)
            held: dict[str, QLocalSocket] = {"sock": sock}
            state: dict[str, Any] = {"buffer": b"", "read": False}
            sock.readyRead.connect(lambda held=held, state=state: self._read(held, state))
            sock.disconnected.connect(lambda held=held: self._gone(held))

    def _gone(self, held: dict[str, QLocalSocket]) -> None:
        sock = held.pop("sock", None)
        if sock is None:
            return
        sock.readyRead.disconnect()
        sock.disconnected.disconnect()
        # Not inside its own signal: the socket is deleted when this drops the last reference.
        QTimer.singleShot(0, lambda: self._clients.discard(sock))

    def _read(self, held: dict[str, QLocalSocket], state: dict[str, Any]) -> None:
        sock = held.get("sock")
        if sock is None:
            return
        state["buffer"] += bytes(sock.readAll())
        if state["read"] or b"\n" not in state["buffer"]:
            return
        state["read"] = True  # one request per connection
        line = state["buffer"].split(b"\n", 1)[0]
        answered = False

        def reply(answer: dict[str, Any]) -> None:
            nonlocal answered
            if answered:
                return
            answered = True
            sock = held.get("sock")  # None: the client has gone
            try:
                if sock is not None and sock.state() == QLocalSocket.LocalSocketState.ConnectedState:
                    sock.write((json.dumps(answer) + "\n").encode())
                    sock.flush()
                    sock.disconnectFromServer()
            except RuntimeError:  # the client went away and Qt already deleted the socket
                pass

        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError:
            reply({"ok": False, "error": "Lumen did not understand the request."})
            return
        try:
            self._handler(request, reply)
        except Exception as exc:
            log.exception("instance request failed")
            reply({"ok": False, "error": f"Lumen could not do that ({exc})."})
