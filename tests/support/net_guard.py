"""A socket guard: any connection beyond this machine is recorded and refused.

In-process: the `no_network` fixture (tests/conftest.py) uses `guard_sockets`, and fails the
test at teardown even when a library swallowed the refusal. For a subprocess (e.g.
`lumen describe --lang`), put `guard_site_dir(tmp)` first on PYTHONPATH: its sitecustomize
installs the same guard and exits with NETWORK_EXIT_CODE on the first attempt.
"""
from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

LOCAL_HOSTS = {"127.0.0.1", "::1", "localhost", "0.0.0.0"}
NETWORK_EXIT_CODE = 86


class NetworkBlocked(OSError):
    pass


def _host(address: Any) -> str | None:
    if isinstance(address, tuple) and address:
        return str(address[0])
    return None  # AF_UNIX paths and the like stay allowed


def guard_sockets(monkeypatch: Any) -> list[str]:
    """Patch socket connections; returns the list that collects refused attempts."""
    attempts: list[str] = []

    def check(address: Any) -> None:
        host = _host(address)
        if host is not None and host not in LOCAL_HOSTS:
            attempts.append(repr(address))
            raise NetworkBlocked(f"network access blocked in tests: {address!r}")

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_create = socket.create_connection
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> Any:
        check(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        check(address)
        return real_connect_ex(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
        check(address)
        return real_create(address, *args, **kwargs)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        # Name lookups go to a DNS server: refuse them too, except for this machine.
        if host is not None and str(host) not in LOCAL_HOSTS:
            check((host, 0))
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


SITECUSTOMIZE = f'''
import os, socket, sys
_LOCAL = {sorted(LOCAL_HOSTS)!r}
def _check(address):
    if isinstance(address, tuple) and address and str(address[0]) not in _LOCAL:
        sys.stderr.write("network access attempted: %r\\n" % (address,))
        sys.stderr.flush()
        os._exit({NETWORK_EXIT_CODE})
_connect, _connect_ex, _getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo
socket.socket.connect = lambda self, a: (_check(a), _connect(self, a))[1]
socket.socket.connect_ex = lambda self, a: (_check(a), _connect_ex(self, a))[1]
def _gai(host, *args, **kwargs):
    if host is not None:
        _check((host, 0))
    return _getaddrinfo(host, *args, **kwargs)
socket.getaddrinfo = _gai
'''


def guard_site_dir(tmp: Path) -> Path:
    """A folder whose sitecustomize.py guards every Python process started with it on
    PYTHONPATH; such a process exits with NETWORK_EXIT_CODE on any outside connection."""
    folder = tmp / "net-guard-site"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return folder
