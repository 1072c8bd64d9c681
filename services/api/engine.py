"""One engine worker behind a bounded queue: every model call of the server runs on one thread.

ONNX sessions are not shared between threads (the engine's rule), and one worker keeps memory
bounded however many clients connect: a request either gets a place in the queue or is told to
come back (`Busy`, answered 503 with Retry-After). Each job carries a cancel flag: a job whose
client went away is skipped if it has not started, and stopped between decoding steps if it has.
The worker is services/worker.py's `SerialWorker`, the one every part of Lumen uses.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from services.worker import Job, SerialWorker, StopCheck, WorkerFull

T = TypeVar("T")
DEFAULT_QUEUE = 8
__all__ = ["Busy", "Engine", "Job", "StopCheck"]


class Busy(Exception):
    """The queue is full; `retry_after` is a whole number of seconds worth waiting."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"busy: retry after {retry_after} s")
        self.retry_after = retry_after


class Engine:
    """Runs `load()` on its own worker (services/worker.py), then the jobs given to `submit`,
    one at a time; at most `queue_size` wait."""

    def __init__(self, load: Callable[[], Any], queue_size: int = DEFAULT_QUEUE) -> None:
        self._load = load
        self._worker = SerialWorker("lumen-engine", max_waiting=queue_size)
        self._seconds = 1.0  # running mean of a job's time, for Retry-After
        self.state: Any = None  # what load() returned: the loaded models
        self._loads = 0  # the load job, which is no request

    @property
    def completed(self) -> int:
        """Jobs run to the end (answered, or failed with an error)."""
        return self._worker.completed - self._loads

    @property
    def cancelled(self) -> int:
        """Jobs skipped or stopped because their client went away."""
        return self._worker.cancelled

    def start(self) -> Any:
        """Load the models on the worker; raise what loading raised."""
        try:
            self.state = self._worker.submit(lambda job: self._load(), name="load").result()
        except BaseException:
            self._worker.shutdown(0)
            raise
        self._loads = self._worker.completed
        return self.state

    def submit(self, work: Callable[[StopCheck], T]) -> Job[T]:
        def run(job: Job[T]) -> T:
            started = time.perf_counter()
            try:
                return work(job.should_stop)
            finally:
                self._seconds = 0.8 * self._seconds + 0.2 * (time.perf_counter() - started)

        try:
            return self._worker.submit(run, name="request")
        except WorkerFull:
            raise Busy(self.retry_after()) from None

    def retry_after(self) -> int:
        return max(1, math.ceil(self._seconds * (self._worker.waiting + 1)))

    @property
    def waiting(self) -> int:
        return self._worker.waiting

    def close(self, timeout: float = 10.0) -> None:
        """Finish the running job, drop the waiting ones, stop the thread."""
        self._worker.shutdown(timeout, cancel_running=False)
