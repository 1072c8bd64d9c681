"""The window's bridge to the one worker (services/worker.py): results come back on the GUI thread.

Work runs off the GUI thread; its success or failure comes back to the GUI thread through a
queued Qt signal, so widgets are only ever touched there. Two kinds of worker:

- `TaskManager.worker(name)`: a `services.worker.SerialWorker`, one dedicated thread, jobs in
  order, whose callbacks and `JobContext.post` run on the GUI thread. The Captioner lives on
  one of these because an ONNX session is not thread-safe. Jobs given a `lane` supersede each
  other: a new job cancels the running one of its lane (through `JobContext.should_stop`) and
  drops any queued one, so the last request wins and bursts never pile up.
- `TaskManager.run`: a small pool for independent work (saving history, translating).

`Coalescer` merges a burst of triggers (a held-down global shortcut) into one call.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from models.memory import release_free_memory
from services.worker import Done, Failed, Job, SerialWorker

log = logging.getLogger(__name__)

TRIM_AFTER_MS = 1500  # a worker idle this long (restarted by each one going idle): memory returned
JobContext = Job  # what a job sees: should_stop(), cancel(), post() to the GUI thread
__all__ = ["Coalescer", "Done", "Failed", "GuiBridge", "JobContext", "SerialWorker", "TaskManager"]


class GuiBridge(QObject):
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

    def worker(self, name: str, on_error: Failed | None = None,
               on_idle: Callable[[], None] | None = None) -> SerialWorker:
        """A serial worker whose callbacks run on this bridge's (the GUI) thread; `on_idle` is
        called on the GUI thread each time its last waiting job has run."""
        idle = (lambda: self.deliver.emit(on_idle)) if on_idle is not None else None
        return SerialWorker(name, deliver=self.deliver.emit, on_error=on_error, on_idle=idle)


class TaskManager(QObject):
    """Owns the bridge, the pool and the named serial workers. Create it on the GUI thread."""

    failed = Signal(object)  # an exception no job handled itself

    def __init__(self, pool_size: int = 2) -> None:
        super().__init__()
        self._bridge = GuiBridge()
        self._pool = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="lumen-pool")
        self._workers: dict[str, SerialWorker] = {}
        # When the workers have been idle a moment, what glibc holds free goes back to the
        # system: a burst of superseded describes frees its pictures and arrays on several
        # threads after the describe's own trim, and a day in the tray would keep the peak.
        self._trim = QTimer(self)
        self._trim.setSingleShot(True)
        self._trim.setInterval(TRIM_AFTER_MS)
        self._trim.timeout.connect(self._return_memory)
        self.memory_returns = 0  # how many times; `lumen`'s status reports it (the uptime test waits on it)
        self._closed = False

    def _default_error(self, exc: BaseException) -> None:
        log.error("background job failed: %s", exc, exc_info=exc)
        self.failed.emit(exc)

    def worker(self, name: str) -> SerialWorker:
        """The single-thread worker called `name`, started on first use."""
        if name not in self._workers:
            self._workers[name] = self._bridge.worker(f"lumen-{name}", self._default_error, self._trim.start)
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

    @property
    def settling(self) -> bool:
        """True while a worker has work or the memory return after it is still to come."""
        return self._trim.isActive() or any(worker.busy for worker in self._workers.values())

    def _return_memory(self) -> None:
        # On the GUI thread: malloc_trim takes 1-2 ms on a fragmented 200 MB heap, and a pool
        # thread would be one more thread for the window's life.
        if not self._closed:  # an idle signal may still arrive after shutdown
            release_free_memory()
            self.memory_returns += 1

    def shutdown(self, timeout: float = 5.0) -> None:
        self._closed = True
        self._trim.stop()
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
