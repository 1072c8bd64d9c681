"""What a request may carry: a base64 picture (with or without a data: URL prefix), and a
body of at most MAX_BODY bytes, refused with 413 before it is read in full."""
from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from models.errors import LumenError
from models.exit_status import ExitStatus

MAX_BODY = 25 * 1024 * 1024
# A picture in memory: enough for a 40-megapixel photo. load_image's own ceiling (178 MP, 0.5 GB
# decoded) suits one desktop user, not a server that strangers can send pictures to.
MAX_PIXELS = 40_000_000
_DATA_URL = re.compile(r"data:[\w.+/-]*(;[\w=.+-]+)*;base64,", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


class BadRequest(LumenError):
    """The request cannot be answered as sent (answered 400 with {"error": message})."""

    exit_code = ExitStatus.USAGE


def decode_image_field(value: str) -> bytes:
    """The bytes of a base64 picture; a `data:image/...;base64,` prefix is accepted."""
    text = _WHITESPACE.sub("", value or "")
    match = _DATA_URL.match(text)
    if match:
        text = text[match.end():]
    if not text:
        raise BadRequest("image is empty: send the picture as base64")
    if "-" in text or "_" in text:  # the URL-safe alphabet
        text = text.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)  # some clients drop the padding
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("image is not valid base64: send the picture's bytes base64-encoded") from None
    if not data:
        raise BadRequest("image is empty: send the picture as base64")
    return data


class BodyLimit:
    """ASGI middleware: bodies over `limit` bytes get 413 {"error"}, judged by Content-Length
    when sent and by counting otherwise (chunked uploads). Starlette and uvicorn have no such
    limit of their own, hence this small wrapper."""

    def __init__(self, app: Any, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await _too_large(send, self.limit)
            return
        seen, over, started = 0, False, False

        async def guarded_send(message: dict) -> None:
            nonlocal started
            if over:
                return  # the app's answer to a cut-off body is replaced by the 413 below
            started = started or message["type"] == "http.response.start"
            await send(message)

        async def counted_receive() -> dict:
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    over = True  # the app reads a disconnect and stops
                    return {"type": "http.disconnect"}
            return message

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not over:
                raise
        if over and not started:
            await _too_large(send, self.limit)


async def _too_large(send: Any, limit: int) -> None:
    body = json.dumps({"error": f"the request is larger than {limit // (1024 * 1024)} MB; "
                                "send a smaller picture"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
