"""A small client for speech-dispatcher's SSIP protocol: speak a message through the speech
server that Orca (and other Linux screen readers) use, with the user's speech-dispatcher voice.

Written by hand on purpose: speech-dispatcher's own Python bindings (`speechd`) ship only as
Debian's `python3-speechd`, not on PyPI, so a virtual environment or a PyInstaller bundle cannot
import them; `spd-say` would cost a process per message and cannot report failures. SSIP is a
plain line protocol over a Unix socket (speech-dispatcher's "SSIP" documentation): a command per
line ending in CRLF, replies `NNN-data` ... `NNN text` where 2xx means success, and message text
ends with a line holding one dot (a line starting with a dot is sent with the dot doubled).
"""
from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from services.errors import ScreenReaderError

# Priorities as speech-dispatcher defines them. "message" is what Orca speaks with: a message is
# never dropped and queues behind other messages; "notification" is dropped when anything else
# is speaking (right for chatter such as "Describing…", wrong for a result or an error).
PRIORITIES = ("important", "message", "text", "notification", "progress")
CONNECT_TIMEOUT_S = 2.0


def default_address(env: dict[str, str] | None = None) -> str:
    """speech-dispatcher's address: $SPEECHD_ADDRESS, else the per-user socket it listens on."""
    env = dict(os.environ) if env is None else env
    if env.get("SPEECHD_ADDRESS"):
        return env["SPEECHD_ADDRESS"]
    runtime = env.get("XDG_RUNTIME_DIR") or env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return f"unix_socket:{Path(runtime) / 'speech-dispatcher' / 'speechd.sock'}"


def encode_text(text: str) -> bytes:
    """The SPEAK data block for `text`: CRLF lines, leading dots doubled, ending in CRLF . CRLF."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    body = "\r\n".join("." + line if line.startswith(".") else line for line in lines)
    return (body + "\r\n.\r\n").encode("utf-8")


def parse_reply(lines: list[str]) -> tuple[int, list[str], str]:
    """(code, data lines, final text) of one reply made of `NNN-data` lines and `NNN text`."""
    if not lines or len(lines[-1]) < 4 or not lines[-1][:3].isdigit() or lines[-1][3] != " ":
        raise ScreenReaderError(f"speech-dispatcher sent a reply Lumen does not understand: {lines!r}.")
    return int(lines[-1][:3]), [line[4:] for line in lines[:-1]], lines[-1][4:]


@dataclass
class SSIPClient:
    """One connection; `speak` is thread-safe. Raises ScreenReaderError when the server is gone."""

    address: str = ""
    name: str = "lumen"

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._buffer = b""

    def connect(self) -> None:
        address = self.address or default_address()
        method, _, rest = address.partition(":")
        try:
            if method == "unix_socket":
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(CONNECT_TIMEOUT_S)
                sock.connect(rest)
            elif method == "inet_socket":
                host, _, port = rest.partition(":")
                sock = socket.create_connection((host or "127.0.0.1", int(port or 6560)), CONNECT_TIMEOUT_S)
            else:
                raise ScreenReaderError(f"speech-dispatcher address {address!r} is not one Lumen knows.")
        except OSError as exc:
            raise ScreenReaderError(f"speech-dispatcher is not running ({exc.strerror or exc}).") from exc
        self._sock = sock
        user = os.environ.get("USER", "user")
        self._command(f"SET self CLIENT_NAME {user}:{self.name}:main")

    def speak(self, text: str, priority: str = "message") -> None:
        if priority not in PRIORITIES:
            raise ValueError(f"priority must be one of {PRIORITIES}")
        text = text.strip()
        if not text:
            return
        with self._lock:
            if self._sock is None:
                self.connect()
            try:
                self._command(f"SET self PRIORITY {priority}")
                self._command("SPEAK", expect=230)  # 230: ready to receive the text
                self._send(encode_text(text))
                self._reply()
            except ScreenReaderError:
                self._drop()
                raise

    def cancel(self) -> None:
        """Silence what this client queued (not the screen reader's own speech)."""
        with self._lock:
            if self._sock is not None:
                try:
                    self._command("CANCEL self")
                except ScreenReaderError:
                    self._drop()

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                try:
                    self._send(b"QUIT\r\n")
                except ScreenReaderError:
                    pass
                self._drop()

    # ----- the wire -----
    def _command(self, line: str, expect: int | None = None) -> tuple[int, list[str], str]:
        self._send(line.encode("utf-8") + b"\r\n")
        code, data, text = self._reply()
        if code != expect if expect is not None else not 200 <= code < 300:
            raise ScreenReaderError(f"speech-dispatcher refused {line.split()[0]}: {code} {text}.")
        return code, data, text

    def _send(self, data: bytes) -> None:
        if self._sock is None:
            raise ScreenReaderError("speech-dispatcher is not connected.")
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise ScreenReaderError(f"speech-dispatcher went away ({exc.strerror or exc}).") from exc

    def _reply(self) -> tuple[int, list[str], str]:
        lines: list[str] = []
        while True:
            while b"\r\n" not in self._buffer:
                try:
                    chunk = self._sock.recv(4096) if self._sock is not None else b""
                except OSError as exc:
                    raise ScreenReaderError(f"speech-dispatcher did not answer ({exc}).") from exc
                if not chunk:
                    raise ScreenReaderError("speech-dispatcher closed the connection.")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\r\n", 1)
            line = raw.decode("utf-8", "replace")
            if line.startswith("7"):  # an event notification; we ask for none, skip any
                continue
            lines.append(line)
            if len(line) >= 4 and line[3] == " ":
                return parse_reply(lines)

    def _drop(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock, self._buffer = None, b""
