"""The window's handle on the caption engine.

The Captioner is created and used only on one dedicated worker thread (an ONNX session is not
thread-safe); the GUI thread sees only `ModelInfo` and results, delivered by the task helper.
Describe requests share one lane, so a new one cancels the one in flight (last wins).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop.imaging import ImageSource
from desktop.work.model_threads import SPIN, model_threads
from desktop.work.reading_job import TEXT_FIRST_TASKS, ReadingJob, page_key
from desktop.work.workers import Failed, JobContext, TaskManager
from models.errors import LumenError, ModelFolderError
from models.results import DETAILS, Caption, DescribeOptions
from services import latency_trace
from services.worker import LOW

log = logging.getLogger(__name__)
DESCRIBE_LANE = "describe"
# The window's one sentence when there is no description model: its notice, and describing.
NO_MODEL = "No description model is loaded. Choose Set up model to install one."
AHEAD_LANE = "ahead"  # work for the next likely action, cancelled by any new describe


@dataclass(frozen=True)
class ModelInfo:
    name: str
    family: str
    provider: str
    folder: Path


def resolve_model_dir(model: str | None) -> Path | None:
    """models.registry.model_dir, the command line's lookup, except that a damaged registry
    must not stop the window opening: it opens with no model."""
    from models.registry import model_dir

    try:
        return model_dir(model)
    except Exception as exc:
        log.warning("could not read the installed models: %s", exc)
        return None


def error_sentence(exc: BaseException) -> str:
    """One sentence fit to show and speak, never a traceback."""
    if isinstance(exc, LumenError):
        return str(exc).strip() or "Something went wrong; please try again."
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"Something went wrong ({text}); please try again."


def warm_up(captioner: Any) -> None:
    """One short describe of a blank picture right after loading (on the worker, before the
    model is reported ready), so the first real press finds every session's kernels chosen and
    its memory arenas grown: ONNX Runtime's first run of a session is several times slower."""
    try:
        from PIL import Image

        t = time.perf_counter()
        captioner.describe(Image.new("RGB", (64, 48), (128, 128, 128)), DescribeOptions(max_tokens=2))
        latency_trace.mark("warm_up", seconds=time.perf_counter() - t)
    except Exception as exc:  # a model that cannot warm up still gets its real chance
        log.info("warm-up describe failed: %s", exc)


class CaptionEngine(QObject):
    """Loads the model and describes images in the background."""

    state_changed = Signal(str)  # "none", "loading", "ready", "failed"

    def __init__(self, tasks: TaskManager, device: str = "auto") -> None:
        super().__init__()
        self._worker = tasks.worker("captioner")
        self._device = device
        self._captioner: Any = None  # read and written on the worker thread only
        self._reading = ReadingJob(device)  # PP-OCR and the picture's kind, on the worker too
        self.info: ModelInfo | None = None
        self._page_ahead: tuple | None = None  # page_key of the page being read ahead (GUI thread)
        self._ahead_text = ""  # what the page read ahead is sure to start with, so far
        self._ahead_listener: Callable[[str], None] | None = None  # a describe of that page, streaming
        self.state = "none"
        self.error = ""

    def _set_state(self, state: str, error: str = "") -> None:
        self.state, self.error = state, error
        self.state_changed.emit(state)

    def load(self, folder: Path) -> None:
        """Start loading `folder` on the worker; state_changed tells how it went."""
        self._set_state("loading")
        device = self._device

        def job(ctx: JobContext) -> ModelInfo:
            from models.captioner import Captioner  # onnxruntime import stays off the GUI thread

            if not folder.is_dir():
                raise ModelFolderError(
                    f"The model folder {folder} does not exist; choose another model in model setup."
                )
            self._captioner = None
            captioner = Captioner.load(folder, device=device, threads=model_threads(), spin=SPIN)
            warm_up(captioner)
            self._captioner = captioner
            return ModelInfo(
                str(getattr(captioner, "name", folder.name)),
                str(getattr(captioner, "family", "")),
                str(getattr(captioner, "provider", "")),
                folder,
            )

        def warm_reader(ctx: JobContext) -> None:
            try:
                t = time.perf_counter()
                self._reading.warm()
                latency_trace.mark("warm_up_reader", seconds=time.perf_counter() - t)
            except Exception as exc:  # reading text is optional: describing still works
                log.info("warming up the text reader failed: %s", exc)
                latency_trace.mark("warm_up_reader", error=str(exc))

        def done(info: ModelInfo) -> None:
            self.info = info
            self._set_state("ready")
            # Next on the same worker, after "ready": the capture shortcuts' kind check uses
            # PP-OCR, and the first press must not be the one that loads it.
            self._worker.submit(warm_reader, priority=LOW, name="warm the text reader")

        def failed(exc: BaseException) -> None:
            self.info = None
            self._set_state("failed", error_sentence(exc))

        self._worker.submit(job, on_done=done, on_failed=failed, name="load")

    def describe(
        self,
        source: ImageSource,
        options: DescribeOptions,
        *,
        on_text: Callable[[str], None],
        on_done: Callable[[Caption], None],
        on_failed: Failed,
        on_settled: Callable[[str], None] | None = None,
    ) -> JobContext:
        """Describe on the worker; cancels the describe in flight. Callbacks run on the GUI.

        `on_settled` hears the text the answer is sure to start with, as it grows."""

        def job(ctx: JobContext) -> Caption:
            captioner = self._captioner
            reading = options.task in TEXT_FIRST_TASKS  # PP-OCR needs no description model
            if captioner is None and not reading:
                raise ModelFolderError(NO_MODEL)
            latency_trace.mark("describe_start", task=options.task, detail=options.detail)
            cpu = time.thread_time()  # this thread's share (ONNX Runtime's other threads run the rest)

            def settled(text: str) -> None:
                latency_trace.mark("settled", chars=len(text))
                if on_settled is not None:
                    ctx.post(on_settled, text)

            streaming = settled if on_settled is not None or latency_trace.enabled() else None
            heard = lambda text: ctx.post(on_text, text)  # noqa: E731
            heading = source.heading  # a document's page: "Page 2 of 5" is said first, at once
            if heading:
                heard = lambda text: ctx.post(on_text, f"{heading}\n\n{text}")  # noqa: E731
                if streaming is not None:
                    streaming(f"{heading}\n")
                    streaming = (lambda say: lambda text: say(f"{heading}\n\n{text}"))(streaming)
            if reading and source.kind == "page":
                caption = self._reading.run_page(source, options, captioner, should_stop=ctx.should_stop,
                                                 on_settled=streaming)
                heard(caption.caption)
            elif reading:
                caption = self._reading.run(
                    source.data, options, captioner, screen=source.kind == "screen",
                    on_text=heard, should_stop=ctx.should_stop, on_settled=streaming)
            else:
                caption = captioner.describe(
                    source.data, options, on_text=heard, should_stop=ctx.should_stop, on_settled=streaming,
                )
            if heading:
                caption.caption = f"{heading}\n\n{caption.caption}"
            latency_trace.mark("describe_done", timings_ms=caption.timings_ms, cpu_s=time.thread_time() - cpu)
            return caption

        def done(caption: Caption) -> None:
            if options.task == "caption" or (options.task == "auto" and caption.kind == "photo"):
                self._prepare_ahead(source, options)
            on_done(caption)  # may start the next describe, which cancels the work ahead

        if source.kind == "page" and self._page_ahead is not None \
                and self._page_ahead == page_key(source, options, self._captioner):
            self._claim_page_ahead(source, on_settled)  # that read goes on; this describe answers from it
        else:
            self._worker.cancel(AHEAD_LANE)
            self._page_ahead, self._ahead_listener = None, None
        return self._worker.submit(
            job, on_done=done, on_failed=on_failed, lane=DESCRIBE_LANE, name="describe"
        )

    def read_page_ahead(self, source: ImageSource, options: DescribeOptions) -> None:
        """Read a document's next page while this one is heard: Page Down then answers at once.
        Any describe of another picture or page cancels it."""
        if not self._reading_possible(options):
            return
        captioner = self._captioner
        key = page_key(source, options, captioner)

        def job(ctx: JobContext) -> bool:
            latency_trace.mark("read_ahead_start", page=source.page)
            return self._reading.read_ahead(source, options, captioner, should_stop=ctx.should_stop,
                                            on_settled=lambda text: ctx.post(self._ahead_settled, key, text))

        def over(*_: object) -> None:
            if self._page_ahead == key:
                self._page_ahead, self._ahead_text, self._ahead_listener = None, "", None

        self._page_ahead, self._ahead_text, self._ahead_listener = key, "", None
        self._worker.submit(job, lane=AHEAD_LANE, replace=False, priority=LOW, name="read the next page",
                            on_done=over, on_failed=over)

    def _claim_page_ahead(self, source: ImageSource, on_settled: Callable[[str], None] | None) -> None:
        """A describe of the page being read ahead: what that read settles is heard at once, as a
        describe of its own would stream it (the describe itself then answers from the kept page)."""
        if on_settled is None:
            return
        heading = source.heading
        if heading:
            on_settled(f"{heading}\n")
            self._ahead_listener = lambda text: on_settled(f"{heading}\n\n{text}")
        else:
            self._ahead_listener = on_settled
        if self._ahead_text:
            self._ahead_listener(self._ahead_text)

    def _ahead_settled(self, key: tuple, text: str) -> None:
        if self._page_ahead == key:
            self._ahead_text = text
            if self._ahead_listener is not None:
                self._ahead_listener(text)

    @property
    def reading_ahead(self) -> bool:
        """A document's next page is being read ahead (or waits to be)."""
        return self._page_ahead is not None

    def _reading_possible(self, options: DescribeOptions) -> bool:
        return options.task in TEXT_FIRST_TASKS or self._captioner is not None

    def _prepare_ahead(self, source: ImageSource, done: DescribeOptions) -> None:
        """While the description is spoken, encode the prompts of the other detail levels:
        "describe again" then skips the text encoder as well as the vision encoder
        (`lumen bench --latency`: describe again, README). Any new describe cancels it; one
        arriving mid-run waits for that one text-encoder run."""
        captioner = self._captioner
        if captioner is None:
            return
        others = [DescribeOptions(task="caption", detail=d) for d in DETAILS if d != done.detail]

        def job(ctx: JobContext) -> int:
            return captioner.prepare_ahead(source.data, others, should_stop=ctx.should_stop)

        self._worker.submit(job, lane=AHEAD_LANE, priority=LOW, name="prepare ahead",
                            on_failed=lambda exc: log.info("preparing ahead failed: %s", exc))

    def cancel(self) -> None:
        self._worker.cancel(DESCRIBE_LANE)

    @property
    def busy(self) -> bool:
        return self._worker.busy
