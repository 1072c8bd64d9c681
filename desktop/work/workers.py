"""The one way the desktop app runs background work.

Work runs off the GUI thread; its success or failure comes back to the GUI thread through a
queued Qt signal, so widgets are only ever touched there. Two kinds of worker:

- `SerialWorker`: one dedicated thread, jobs in order. The Captioner lives on one of these
  because an ONNX session is not thread-safe. Jobs given a `lane` supersede each other: a new
  job cancels the running one of its lane (through `JobContext.should_stop`) and drops any
  queued one, so the last request wins and bursts never pile up.
- `TaskManager.run`: a small pool for independent work (saving history, translating).

`Coalescer` merges a burst of triggers (a held-down global shortcut) into one call.
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from models.errors import CancelledError

log = logging.getLogger(__name__)

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]


class _Bridge(QObject):
    """Carries callables from any thread to the thread this object lives in (the GUI)."""

    deliver = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.deliver.connect(self._run, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _run(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:  # a callback bug must never end the app
            log.exception("error in a GUI-thread callback")


class JobContext:
    """What a job sees: whether it should stop, and a way to post progress to the GUI."""

    def __init__(self, bridge: _Bridge) -> None:
        self._bridge = bridge
        self._stop = threading.Event()

    def cancel(self) -> None:
        self._stop.set()

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    def should_stop(self) -> bool:
        return self._stop.is_set()

    def post(self, fn: Callable[..., None], *args: Any) -> None:
        """Run `fn(*args)` on the GUI thread, unless this job has been cancelled by then."""
        self._bridge.deliver.emit(lambda: None if self.cancelled else fn(*args))


@dataclass
class _Job:
    fn: Callable[[JobContext], Any]
    ctx: JobContext
    on_done: Done | None
    on_failed: Failed | None
    lane: str | None
    name: str = field(default="job")


class SerialWorker:
    """One thread that runs jobs one at a time, in order; see the module docstring."""

    def __init__(self, bridge: _Bridge, name: str, on_error: Failed) -> None:
        self._bridge = bridge
        self._on_error = on_error
        self._queue: deque[_Job] = deque()
        self._current: _Job | None = None
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(
        self,
        fn: Callable[[JobContext], Any],
        *,
        on_done: Done | None = None,
        on_failed: Failed | None = None,
        lane: str | None = None,
        name: str = "job",
    ) -> JobContext:
        """Queue `fn(ctx)`; with a lane, first cancel that lane's running and queued jobs."""
        job = _Job(fn, JobContext(self._bridge), on_done, on_failed, lane, name)
        with self._cond:
            if self._closed:
                job.ctx.cancel()
                return job.ctx
            if lane is not None:
                self._cancel_lane_locked(lane)
            self._queue.append(job)
            self._cond.notify()
        return job.ctx

    def cancel(self, lane: str) -> None:
        with self._cond:
            self._cancel_lane_locked(lane)

    def _cancel_lane_locked(self, lane: str) -> None:
        for queued in [j for j in self._queue if j.lane == lane]:
            queued.ctx.cancel()
            self._queue.remove(queued)
        if self._current is not None and self._current.lane == lane:
            self._current.ctx.cancel()

    @property
    def busy(self) -> bool:
        with self._cond:
            return self._current is not None or bool(self._queue)

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Cancel everything and stop the thread; True when it stopped within `timeout`."""
        with self._cond:
            self._closed = True
            for job in self._queue:
                job.ctx.cancel()
            self._queue.clear()
            if self._current is not None:
                self._current.ctx.cancel()
            self._cond.notify_all()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                job = self._current = self._queue.popleft()
            try:
                outcome: tuple[bool, Any] = (True, job.fn(job.ctx))
            except BaseException as exc:  # noqa: BLE001 - every failure goes back to the GUI
                outcome = (False, exc)
            with self._cond:
                self._current = None
            self._bridge.deliver.emit(lambda job=job, outcome=outcome: self._finish(job, outcome))

    def _finish(self, job: _Job, outcome: tuple[bool, Any]) -> None:
        ok, value = outcome
        # A superseded job's result is stale: the newer request owns the screen now.
        if job.ctx.cancelled or (not ok and isinstance(value, CancelledError)):
            return
        if ok:
            if job.on_done is not None:
                job.on_done(value)
        elif job.on_failed is not None:
            job.on_failed(value)
        else:
            self._on_error(value)


class TaskManager(QObject):
    """Owns the bridge, the pool and the named serial workers. Create it on the GUI thread."""

    failed = Signal(object)  # an exception no job handled itself

    def __init__(self, pool_size: int = 2) -> None:
        super().__init__()
        self._bridge = _Bridge()
        self._pool = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="lumen-pool")
        self._workers: dict[str, SerialWorker] = {}

    def _default_error(self, exc: BaseException) -> None:
        log.error("background job failed: %s", exc, exc_info=exc)
        self.failed.emit(exc)

    def worker(self, name: str) -> SerialWorker:
        """The single-thread worker called `name`, started on first use."""
        if name not in self._workers:
            self._workers[name] = SerialWorker(self._bridge, f"lumen-{name}", self._default_error)
        return self._workers[name]

    def run(
        self,
        fn: Callable[[], Any],
        on_done: Done | None = None,
        on_failed: Failed | None = None,
    ) -> None:
        """Run `fn()` on the pool; the callbacks run on the GUI thread."""

        def job() -> None:
            try:
                result = fn()
            except BaseException as exc:  # noqa: BLE001
                handler = on_failed or self._default_error
                self._bridge.deliver.emit(lambda exc=exc: handler(exc))  # `exc` dies with the block
                return
            if on_done is not None:
                self._bridge.deliver.emit(lambda: on_done(result))

        self._pool.submit(job)

    def run_on_main(self, fn: Callable[[], None]) -> None:
        """Call `fn` on the GUI thread, from any thread (hotkey listeners, socket handlers)."""
        self._bridge.deliver.emit(fn)

    def shutdown(self, timeout: float = 5.0) -> None:
        for worker in self._workers.values():
            worker.shutdown(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)


class Coalescer(QObject):
    """Calls the last function of a burst once, `delay_ms` after the burst's first call."""

    def __init__(self, delay_ms: int = 150, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending: Callable[[], None] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._fire)

    def call(self, fn: Callable[[], None]) -> None:
        self._pending = fn
        if not self._timer.isActive():  # fixed window: a held key cannot postpone it forever
            self._timer.start()

    def _fire(self) -> None:
        fn, self._pending = self._pending, None
        if fn is not None:
            fn()
