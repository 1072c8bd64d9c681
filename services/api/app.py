"""`lumen serve`'s routes: the seed services' JSON, unchanged, plus Lumen's own describe.

Every answer is JSON; every error is {"error": "..."} with 400 (bad request), 401 (token),
408 (the request stalled: services/api/slow_clients.py), 413 (body over 25 MB), 503 +
Retry-After (queue full) or 500 (the model failed).
No route takes a file path: pictures arrive as base64 and the training set's folder is the
server's own.
"""
from __future__ import annotations

import asyncio
import html
import secrets
from pathlib import Path
from typing import Any, Callable, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from models.errors import CancelledError, LumenError, ModelRuntimeError
from models.results import AUTO, DETAILS, MAX_ALTERNATIVES, TASKS, DescribeOptions
from services.api import work
from services.api.engine import Busy, Engine, StopCheck
from services.api.learning import Learning, LearningBusy, NoTrainer
from services.api.payload import BodyLimit, decode_image_field
from services.api.slow_clients import READ_TIMEOUT, BodyDeadline

POLL_SECONDS = 0.2  # how often a waiting request checks that its client is still there


class ImageIn(BaseModel):
    image: str = Field(description="The picture, base64-encoded; a data:image/...;base64, prefix is accepted.")


class CaptionIn(ImageIn):
    caption: str = Field(description="What the picture shows: the text to train on.")
    fileType: str | None = Field(None, description="jpeg, png, ... (accepted; the picture's own format is kept).")


class DescribeIn(ImageIn):
    detail: Literal[DETAILS] = "brief"  # type: ignore[valid-type]
    task: Literal[(*TASKS, AUTO)] | None = Field(  # type: ignore[valid-type]
        None, description="caption (default for pictures), ocr, objects, or auto (default for documents: "
                          "text read, blank named, photos described, decided page by page).")
    pages: str | None = Field(None, description="A PDF's or multi-page TIFF's pages to read, like 1-3,7 "
                                                "(at most 100 per request; default all).")
    password: str | None = Field(None, description="The password of an encrypted PDF.")
    lang: str | None = Field(None, description="Translate the description to this language code (installed packages only).")
    alternatives: int = Field(0, ge=0, le=MAX_ALTERNATIVES, description="Also give N sampled captions.")
    seed: int | None = Field(None, ge=0, description="Seed for the alternatives (reproducible).")
    tags: bool = Field(False, description="Add tags and english_captions, as POST / does.")


class AskIn(ImageIn):
    question: str = Field(min_length=1, description="A question about the picture, in English.")
    max_tokens: int | None = Field(None, ge=1, le=512, description="Longest answer in tokens.")
    seed: int | None = Field(None, ge=0, description="Sample the answer with this seed.")


class SeedOut(BaseModel):
    tags: list[tuple[str, float]] = Field(description="[keyword, probability] pairs, best first.")
    captions: list[str] = Field(description="The best (beam-search) caption.")
    english_captions: list[str] = Field(description="Every sentence the tags were taken from.")
    confidence: float
    uncertain: bool
    model: str


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": " ".join(str(message).split())}, status_code=status, headers=headers)


async def _answer(request: Request, engine: Engine, job_work: Callable[[StopCheck], Any],
                  status: int = 200) -> Response:
    """Queue the work, wait for it, and cancel it if the client goes away meanwhile."""
    try:
        job = engine.submit(job_work)
    except Busy as e:
        return error(503, "Lumen is busy with other pictures; retry shortly",
                     {"Retry-After": str(e.retry_after)})
    waiting = asyncio.wrap_future(job.future)
    try:
        while not waiting.done():
            await asyncio.wait({waiting}, timeout=POLL_SECONDS)
            if not waiting.done() and await request.is_disconnected():
                job.cancel()
                waiting.cancel()  # its late result or CancelledError is then dropped quietly
                return Response(status_code=499)  # nobody is left to read it
        result = waiting.result()
    except asyncio.CancelledError:
        job.cancel()
        waiting.cancel()
        raise
    except CancelledError:
        return Response(status_code=499)
    except ModelRuntimeError as e:
        return error(500, str(e))
    except LumenError as e:  # the picture, the text or the language asked for
        return error(400, str(e))
    return JSONResponse(result, status_code=status)


def create_app(engine: Engine, *, token: str | None = None, training_dir: Path | None = None,
               read_timeout: float = READ_TIMEOUT, learning: Learning | None = None) -> Any:
    """The ASGI app: FastAPI's routes inside the 25 MB body limit and the body deadline.
    `learning`: the model /learning-model answers with and its training (None: the same as POST /)."""
    app = FastAPI(
        title="Lumen", version="1", docs_url=None, redoc_url=None,
        description="Describes pictures offline. POST / and /learning-model answer as the newsroom "
                    "captioning services did; POST /describe answers as `lumen describe --json`.",
    )

    def authorised(request: Request) -> None:
        if token is None:
            return
        given = request.headers.get("authorization", "")
        if not secrets.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise _Unauthorised()

    @app.exception_handler(_Unauthorised)
    async def unauthorised(_: Request, __: Exception) -> JSONResponse:
        return error(401, "send the server's token as 'Authorization: Bearer TOKEN'",
                     {"WWW-Authenticate": "Bearer"})

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return error(400, f"{where or 'the body'}: {first.get('msg', 'is not valid JSON')}")

    guarded = [Depends(authorised)]

    def state() -> work.Loaded:
        return engine.state

    @app.get("/hello-world", summary="Health check")
    async def hello() -> dict[str, Any]:
        loaded = state()
        return {"message": "Hello World", "model": loaded.captioner.name,
                "tags_model": loaded.clip.name if loaded.clip else None,
                "completed": engine.completed, "cancelled": engine.cancelled, "waiting": engine.waiting}

    @app.post("/", response_model=SeedOut, dependencies=guarded,
              summary="Tags and captions (the first captioning service)")
    async def seed(body: ImageIn, request: Request) -> Response:
        data = _bytes(body.image)
        if isinstance(data, Response):
            return data
        return await _answer(request, engine, lambda stop: work.seed_answer(state(), data, stop))

    @app.post("/learning-model", response_model=SeedOut, dependencies=guarded,
              summary="Tags and captions (the second, trainable service)")
    async def learning_model(body: ImageIn, request: Request) -> Response:
        if learning is None:
            return await seed(body, request)
        data = _bytes(body.image)
        if isinstance(data, Response):
            return data
        return await _answer(request, engine, lambda stop: work.learning_answer(state(), learning, data, stop))

    @app.get("/learning-model", dependencies=guarded,
             summary="Which model /learning-model answers with, and the state of its training")
    async def learning_status() -> Response:
        if learning is None:
            return error(501, "this server has no learning model")
        return JSONResponse(learning.status().to_json())

    @app.post("/learning-model/train", status_code=202, dependencies=guarded,
              summary="Train a model on the pairs sent to POST /caption, in the background")
    async def learning_train() -> Response:
        if learning is None:
            return error(501, "this server has no learning model")
        try:
            return JSONResponse(learning.train().to_json(), status_code=202)
        except NoTrainer as e:
            return error(501, str(e))
        except LearningBusy as e:
            return error(409, str(e))

    @app.post("/caption", status_code=201, dependencies=guarded,
              summary="Store a picture and its caption in the local training set")
    async def caption(body: CaptionIn, request: Request) -> Response:
        data = _bytes(body.image)
        if isinstance(data, Response):
            return data
        return await _answer(request, engine, lambda stop: work.store_pair(training_dir, data, body.caption),
                             status=201)

    @app.post("/describe", dependencies=guarded, summary="The `lumen describe --json` object")
    async def describe(body: DescribeIn, request: Request) -> Response:
        data = _bytes(body.image)
        if isinstance(data, Response):
            return data
        from models.documents import is_document

        document = is_document(data)
        try:
            options = DescribeOptions(task=body.task or ("auto" if document else "caption"), detail=body.detail,
                                      alternatives=body.alternatives, seed=body.seed)
            if body.lang and body.lang != "en":
                from services.translation import translation_route

                translation_route(body.lang)  # an uninstalled language is refused before queueing
        except (ValueError, LumenError) as e:
            return error(400, str(e))
        if document:  # a PDF or multi-page TIFF: {"pages": [one describe object per page]}
            return await _answer(request, engine, lambda stop: work.document_answer(
                state(), data, options, body.pages, body.password, body.lang, stop))
        return await _answer(request, engine, lambda stop: work.describe_answer(
            state(), data, options, body.lang, body.tags, stop))

    @app.post("/ask", dependencies=guarded, summary="Answer a question about the picture (`lumen ask --json`)")
    async def ask(body: AskIn, request: Request) -> Response:
        if state().ask_folder is None:
            from models.asker import install_hint

            return error(501, f"{work.NO_ASK_MODEL}; {install_hint()}")
        data = _bytes(body.image)
        if isinstance(data, Response):
            return data
        return await _answer(request, engine, lambda stop: work.ask_answer(
            state(), data, body.question, body.max_tokens, body.seed, stop))

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    async def docs() -> HTMLResponse:
        return HTMLResponse(_docs_page(app.openapi()))

    return BodyDeadline(BodyLimit(app), read_timeout)


class _Unauthorised(Exception):
    pass


def _bytes(field: str) -> bytes | Response:
    try:
        return decode_image_field(field)
    except LumenError as e:
        return error(400, str(e))


def _docs_page(spec: dict) -> str:
    """The API described in plain HTML: Swagger UI loads its script from a CDN, which an offline
    machine cannot reach, and a page without scripts also reads well in a screen reader."""
    rows = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            rows.append(f"<h2>{method.upper()} {html.escape(path)}</h2><p>{html.escape(op.get('summary', ''))}</p>")
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(spec['info']['title'])} API"
            f"</title></head><body><main><h1>{html.escape(spec['info']['title'])} API</h1>"
            f"<p>{html.escape(spec['info'].get('description', ''))}</p>"
            "<p>The machine-readable description (OpenAPI 3) is at <a href=/openapi.json>/openapi.json</a>.</p>"
            + "".join(rows) + "</main></body></html>")

