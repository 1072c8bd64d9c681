"""`lumen serve`'s queue as its clients see it, held by a gate: the engine's one worker waits on a
threading.Event inside the model call, so a full queue and clients that leave are reached the
same way on any machine, fast or slow (no sleeps, no timings). The app and engine are the real
ones (services/api), served by uvicorn on a real socket; clients are `requests` and raw sockets.
"""
from __future__ import annotations

import base64
import io
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.support.require import require

requests = require("requests")
uvicorn = require("uvicorn")

QUEUE = 4
CLIENTS = 16
HANG_GUARD = 120.0  # seconds: only a broken server ever waits this long


def _jpeg(seed: int) -> str:
    pixels = np.random.default_rng(seed).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)


class GatedCaptioner:
    """The real captioner; each describe first waits until the test opens the gate."""

    def __init__(self, real) -> None:  # noqa: ANN001 - models.captioner.Captioner
        self.real = real
        self.gate = threading.Event()
        self.entered: queue.Queue[int] = queue.Queue()  # one item per describe that reached the gate

    def __getattr__(self, name: str):  # noqa: ANN204 - name, provider, ... of the real one
        return getattr(self.real, name)

    def describe(self, image, options, **kwargs):  # noqa: ANN001, ANN201
        self.entered.put(1)
        assert self.gate.wait(HANG_GUARD), "the test never opened the gate"
        return self.real.describe(image, options, **kwargs)

    def wait_entered(self) -> None:
        self.entered.get(timeout=HANG_GUARD)


@dataclass
class Gated:
    url: str
    engine: object  # services.api.engine.Engine
    captioner: GatedCaptioner
    jobs: list  # every Job the routes submitted, in order

    def hello(self) -> dict:
        return requests.get(f"{self.url}/hello-world", timeout=30).json()


@pytest.fixture
def gated(tiny_blip_onnx: Path, no_network) -> Iterator[Gated]:
    from models.captioner import Captioner
    from services.api import work
    from services.api.app import create_app
    from services.api.engine import Engine

    captioner = GatedCaptioner(Captioner.load(tiny_blip_onnx, device="cpu", cache_dir=None))
    engine = Engine(lambda: work.Loaded(captioner, None, 1, None), QUEUE)
    engine.start()
    jobs: list = []
    submit = engine.submit
    engine.submit = lambda job_work: jobs.append(submit(job_work)) or jobs[-1]  # type: ignore[method-assign]
    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(engine), log_level="warning", access_log=False,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_until(lambda: server.started, "uvicorn started")
    try:
        yield Gated(f"http://127.0.0.1:{sock.getsockname()[1]}", engine, captioner, jobs)
    finally:
        captioner.gate.set()
        server.should_exit = True
        thread.join(30)
        engine.close()
        sock.close()


def _post(url: str, picture: str) -> requests.Response:
    return requests.post(f"{url}/", json={"image": picture}, timeout=HANG_GUARD)


def test_a_full_queue_answers_503_with_retry_after(gated: Gated) -> None:
    """One picture held on the worker, QUEUE waiting: every further client is told to come back
    (503 + Retry-After, a JSON error); once the gate opens every accepted picture is answered."""
    picture = _jpeg(5)
    with ThreadPoolExecutor(1 + QUEUE + CLIENTS) as pool:
        held = pool.submit(_post, gated.url, picture)
        gated.captioner.wait_entered()  # the worker is inside the model call
        waiting = [pool.submit(_post, gated.url, picture) for _ in range(QUEUE)]
        wait_until(lambda: gated.hello()["waiting"] == QUEUE, "the queue is full")
        refused = list(pool.map(lambda _: _post(gated.url, picture), range(CLIENTS * 4)))
        assert [r.status_code for r in refused] == [503] * (CLIENTS * 4)
        for answer in refused:
            assert int(answer.headers["Retry-After"]) >= 1 and answer.json()["error"]
        gated.captioner.gate.set()
        accepted = [held.result(), *(f.result() for f in waiting)]
    assert [a.status_code for a in accepted] == [200] * (1 + QUEUE), [a.text for a in accepted]
    assert len({a.json()["captions"][0] for a in accepted}) == 1  # the same picture, the same beam caption
    hello = gated.hello()
    assert (hello["completed"], hello["cancelled"], hello["waiting"]) == (1 + QUEUE, 0, 0)
    assert _post(gated.url, picture).status_code == 200  # room again


def _raw_post(url: str, picture: str) -> socket.socket:
    """A client that sends its request and will leave without reading the answer."""
    body = ('{"image": "%s", "alternatives": 2}' % picture).encode()
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.sendall(b"POST /describe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(body) + body)
    return sock


def test_clients_that_leave_cancel_their_work(gated: Gated) -> None:
    """The held picture's client and the waiting ones leave: the waiting pictures are dropped
    without running the model, and the held one stops at its first decoding step."""
    picture = _jpeg(4)
    held = _raw_post(gated.url, picture)
    gated.captioner.wait_entered()
    leaving = [_raw_post(gated.url, picture) for _ in range(QUEUE)]
    wait_until(lambda: len(gated.jobs) == 1 + QUEUE and gated.hello()["waiting"] == QUEUE, "the queue is full")
    for client in (held, *leaving):
        client.close()
    wait_until(lambda: all(job.cancelled for job in gated.jobs), "the server saw every client leave")
    gated.captioner.gate.set()
    wait_until(lambda: gated.hello()["cancelled"] == 1 + QUEUE, "every job counted as cancelled")
    hello = gated.hello()
    assert (hello["completed"], hello["waiting"]) == (0, 0), hello
    assert gated.captioner.entered.empty()  # no waiting picture reached the model
    # A client that stays still gets its answer.
    assert _post(gated.url, picture).status_code == 200
    assert gated.hello()["completed"] == 1
