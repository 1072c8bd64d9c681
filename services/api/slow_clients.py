"""Deadlines for clients that connect and then send too slowly, or stop half-way.

uvicorn closes an idle keep-alive connection (`timeout_keep_alive`) but has no deadline for a
request still arriving: a client sending its headers a byte a second, or half a body, would hold
a connection (and, 64 of them, the whole server: `--limit-concurrency` answers 503) for ever.
Two guards, both answering 408 {"error"} and closing the connection:
- `GuardedH11Protocol` (uvicorn's own h11 protocol, which this project uses) drops a connection
  whose request line and headers have not all arrived `timeout` seconds after the connection
  opened or the request's first byte;
- `BodyDeadline` (ASGI middleware) drops a request whose body stops arriving for `timeout`
  seconds, or has not all arrived after `4 * timeout` (a 25 MB body over a slow network).
Checked about once a second, so a stalled client is dropped within timeout + 1 s.
"""
from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

READ_TIMEOUT = 10.0  # seconds: `lumen serve --read-timeout`
_TICK = 1.0


def _message(timeout: float) -> str:
    return (f"the request did not arrive in time ({timeout:g} s without progress); "
            "send it whole, without pauses")


def _response_408(timeout: float) -> bytes:
    body = json.dumps({"error": _message(timeout)}).encode()
    return (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
            b"connection: close\r\ncontent-length: %d\r\n\r\n" % len(body)) + body


def guarded_protocol(timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a deadline for each request's headers."""

    class GuardedH11Protocol(H11Protocol):
        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._since: float | None = self.loop.time()  # waiting for headers since
            self._watch = self.loop.call_later(_TICK, self._check)

        def data_received(self, data: bytes) -> None:
            if self._since is None and self._between_requests():
                self._since = self.loop.time()  # the next request's first byte
            super().data_received(data)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self._between_requests():
                self._since = None  # idle keep-alive: uvicorn's own timeout_keep_alive

        def connection_lost(self, exc: Exception | None) -> None:
            self._watch.cancel()
            super().connection_lost(exc)

        def _between_requests(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _check(self) -> None:
            if self.transport.is_closing():
                return
            if not self._between_requests():
                self._since = None  # headers in: the body has BodyDeadline
            elif self._since is not None and self.loop.time() - self._since > timeout:
                self.logger.info("dropped a client whose request headers stalled")
                self.transport.write(_response_408(timeout))
                self.transport.close()
                return
            self._watch = self.loop.call_later(_TICK, self._check)

    return GuardedH11Protocol


class BodyDeadline:
    """ASGI middleware: 408 and close when a request body stalls (see the module's note)."""

    def __init__(self, app: Any, timeout: float = READ_TIMEOUT) -> None:
        self.app, self.timeout = app, timeout

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 4 * self.timeout
        body_done, late, started = False, False, False

        async def timed_receive() -> dict:
            nonlocal body_done, late
            if late:
                return {"type": "http.disconnect"}
            if body_done:  # the app waiting to hear of a disconnect: no deadline
                return await receive()
            wait = min(self.timeout, deadline - loop.time())
            try:
                message = await asyncio.wait_for(receive(), max(wait, 0.001))
            except asyncio.TimeoutError:
                late = True  # the app reads a disconnect and stops
                return {"type": "http.disconnect"}
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def guarded_send(message: dict) -> None:
            nonlocal started
            if late:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, timed_receive, guarded_send)
        except Exception:
            if not late:
                raise
        if late and not started:
            body = json.dumps({"error": _message(self.timeout)}).encode()
            await send({"type": "http.response.start", "status": 408,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode()),
                                    (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": body})
