"""`lumen serve` against slow and broken clients: a real server process, real sockets on 127.0.0.1.

- headers sent one byte a second, and half a body then silence: dropped with 408 after
  `--read-timeout` (2 s here; 10 s by default), while other clients are served;
- 16 clients sending requests of which 10% are malformed (bad JSON, no picture, bad base64, not a
  picture, an oversized Content-Length, a garbage request line): every one answered 200, 201,
  400, 413 or 503, every stored training pair (201) is in the training set, memory flat.
  The suite sends 100; LUMEN_SOAK=full sends 1,000.
"""
from __future__ import annotations

import json
import select
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.require import require

from tests.support import soak
from tests.support.clip_fixtures import tiny_clip_hf, tiny_clip_onnx  # noqa: F401 (fixtures)
from tests.test_serve import Server, _b64, _jpeg, start_server, stop_server

requests = require("requests")
TIMEOUT = 2  # --read-timeout for these tests
REQUESTS = soak.count(100, 1000)


@pytest.fixture(scope="module")
def server(tiny_blip_onnx: Path, tiny_clip_onnx: Path, tmp_path_factory) -> Server:
    tmp = tmp_path_factory.mktemp("serve-hostile")
    running = start_server(tmp, "--model", str(tiny_blip_onnx), "--tags-model", str(tiny_clip_onnx),
                           "--captions", "2", "--queue", "4", "--device", "cpu",
                           "--read-timeout", str(TIMEOUT))
    running.training = tmp / "training"  # type: ignore[attr-defined]
    yield running
    stop_server(running)


def _address(server: Server) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


def _dropped_after(sock: socket.socket, started: float, dribble: bytes) -> tuple[float, bytes]:
    """Send `dribble` one byte a second until the server answers or closes; returns when it did
    (seconds since `started`) and what it said. Fails if the whole dribble got through."""
    for byte in dribble:
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - started, b""
        readable, _, _ = select.select([sock], [], [], 1.0)
        if readable:
            return time.monotonic() - started, _read_all(sock)
    raise AssertionError("the server waited for the whole slow request")


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def test_headers_one_byte_a_second_are_dropped(server: Server) -> None:
    request = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"X-Padding: " + b"a" * 60 + b"\r\n\r\n")
    started = time.monotonic()
    with socket.create_connection(_address(server), timeout=60) as slow:
        # while it dribbles, a whole request on another connection is answered
        assert requests.get(f"{server.url}/hello-world", timeout=30).status_code == 200
        seconds, answer = _dropped_after(slow, started, request)
    assert answer.startswith(b"HTTP/1.1 408") and b'"error"' in answer, answer
    assert seconds >= TIMEOUT * 0.9  # not before the deadline (clocks differ by milliseconds)
    soak.report(f"serve: headers one byte a second dropped with 408 after {seconds:.1f} s "
                f"(--read-timeout {TIMEOUT})")


def test_half_a_body_then_silence_is_dropped(server: Server) -> None:
    body = json.dumps({"image": _b64(_jpeg(1))}).encode()
    with socket.create_connection(_address(server), timeout=60) as half:
        half.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body[: len(body) // 2])
        started = time.monotonic()
        answer = _read_all(half)  # blocks until the server answers and closes
        seconds = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408") and b'"error"' in answer, answer
    assert seconds >= TIMEOUT * 0.9  # not before the deadline (clocks differ by milliseconds)
    soak.report(f"serve: half a body then silence dropped with 408 after {seconds:.1f} s")


def test_a_client_that_connects_and_sends_nothing_is_dropped(server: Server) -> None:
    with socket.create_connection(_address(server), timeout=60) as idle:
        started = time.monotonic()
        answer = _read_all(idle)
    assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - started >= TIMEOUT * 0.9


def _raw(server: Server, payload: bytes) -> int:
    """Send bytes as they are; the status the server answers with."""
    with socket.create_connection(_address(server), timeout=120) as s:
        s.sendall(payload)
        answer = _read_all(s)
    return int(answer.split(b" ", 2)[1])


def _malformed(server: Server, i: int) -> int:
    kind = (i // 10) % 6
    post = lambda body, ctype="application/json": requests.post(  # noqa: E731
        f"{server.url}/", data=body, headers={"Content-Type": ctype}, timeout=120).status_code
    if kind == 0:
        return post(b'{"image": "abc"')  # cut-off JSON
    if kind == 1:
        return post(b'{"picture": "x"}')  # no image field
    if kind == 2:
        return post(json.dumps({"image": "%%% not base64 %%%"}).encode())
    if kind == 3:
        return post(json.dumps({"image": _b64(b"GIF89a but not really a picture")}).encode())
    if kind == 4:  # says it is 30 MB: refused before any of it is read
        return _raw(server, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            b"Content-Length: 30000000\r\n\r\n")
    return _raw(server, b"\x16\x03\x01 not http at all\r\n\r\n")  # e.g. TLS to a plain port


def test_many_clients_with_malformed_requests(server: Server) -> None:
    from services.training_set import TrainingSet

    picture = _b64(_jpeg(5))
    stored: dict[int, str] = {}

    def one(i: int) -> tuple[int, int]:
        if i % 10 == 0:
            return i, _malformed(server, i)
        if i % 10 in (1, 2):  # a training pair, each with its own picture
            caption = f"pair number {i}"
            answer = requests.post(f"{server.url}/caption", timeout=120,
                                   json={"image": _b64(_jpeg(1000 + i)), "caption": caption})
            if answer.status_code == 201:
                stored[i] = caption
            return i, answer.status_code
        answer = requests.post(f"{server.url}/", json={"image": picture}, timeout=120)
        if answer.status_code == 200:
            assert answer.json()["captions"], answer.text
        return i, answer.status_code

    rss = [server.rss_kb()]
    results: list[tuple[int, int]] = []
    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        for part in range(10):
            results += list(pool.map(one, range(part * REQUESTS // 10, (part + 1) * REQUESTS // 10)))
            rss.append(server.rss_kb())
    seconds = time.monotonic() - started
    codes = [c for _, c in results]
    assert len(results) == REQUESTS
    assert set(codes) <= {200, 201, 400, 413, 503}, sorted(set(codes))
    bad = [c for i, c in results if i % 10 == 0]
    assert set(bad) <= {400, 413, 503}, sorted(set(bad))
    # only "not a picture" is found out by the engine, so only it can meet a full queue
    early = [c for i, c in results if i % 10 == 0 and (i // 10) % 6 != 3]
    assert set(early) <= {400, 413}, sorted(set(early))
    kept = {e.text for e in TrainingSet(server.training).examples()}  # type: ignore[attr-defined]
    lost = set(stored.values()) - kept
    assert not lost and stored, lost
    growth = (rss[-1] - rss[1]) / rss[1]
    counts = {c: codes.count(c) for c in sorted(set(codes))}
    soak.report(f"serve: {REQUESTS} requests from 16 clients ({len(bad)} malformed) in "
                f"{seconds:.0f} s: {counts}; {len(stored)} pairs stored, {len(lost)} lost; server "
                f"RSS {rss[0] // 1024} -> {rss[1] // 1024} (10%) -> {rss[-1] // 1024} MB "
                f"({growth:+.1%} from 10% to 100%)")
    assert growth <= 0.05, rss
    assert requests.get(f"{server.url}/hello-world", timeout=30).status_code == 200
