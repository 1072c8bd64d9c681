"""One engine worker behind a bounded queue: every model call of the server runs on one thread.

ONNX sessions are not shared between threads (the engine's rule), and one worker keeps memory
bounded however many clients connect: a request either gets a place in the queue or is told to
come back (`Busy`, answered 503 with Retry-After). Each job carries a cancel flag: a job whose
client went away is skipped if it has not started, and stopped between decoding steps if it has.
"""
from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")
StopCheck = Callable[[], bool]
DEFAULT_QUEUE = 8


class Busy(Exception):
    """The queue is full; `retry_after` is a whole number of seconds worth waiting."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"busy: retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass
class Job(Generic[T]):
    work: Callable[[StopCheck], T]
    future: Future = field(default_factory=Future)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        self.cancelled.set()
        self.future.cancel()  # only succeeds while it waits in the queue


class Engine:
    """Runs `load()` on its own thread, then the jobs given to `submit`, one at a time."""

    def __init__(self, load: Callable[[], Any], queue_size: int = DEFAULT_QUEUE) -> None:
        self._load = load
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=queue_size)
        self._ready = threading.Event()
        self._load_error: BaseException | None = None
        self._seconds = 1.0  # running mean of a job's time, for Retry-After
        self.state: Any = None  # what load() returned: the loaded models
        self.completed = 0  # jobs run to the end (answered, or failed with an error)
        self.cancelled = 0  # jobs skipped or stopped because their client went away
        self._thread = threading.Thread(target=self._run, name="lumen-engine", daemon=True)

    def start(self) -> Any:
        """Load the models on the worker; raise what loading raised."""
        self._thread.start()
        self._ready.wait()
        if self._load_error is not None:
            raise self._load_error
        return self.state

    def submit(self, work: Callable[[StopCheck], T]) -> Job[T]:
        job: Job[T] = Job(work)
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise Busy(self.retry_after()) from None
        return job

    def retry_after(self) -> int:
        return max(1, math.ceil(self._seconds * (self._queue.qsize() + 1)))

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    def close(self, timeout: float = 10.0) -> None:
        """Finish the running job, drop the waiting ones, stop the thread."""
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job.cancel()
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            self.state = self._load()
        except BaseException as e:  # reported by start(), on the caller's thread
            self._load_error = e
            self._ready.set()
            return
        self._ready.set()
        while True:
            job = self._queue.get()
            if job is None:
                return
            if job.cancelled.is_set() or not job.future.set_running_or_notify_cancel():
                self.cancelled += 1  # its client went away while it waited
                continue
            started = time.perf_counter()
            try:
                result = job.work(job.cancelled.is_set)
            except BaseException as e:
                job.future.set_exception(e)
                stopped = job.cancelled.is_set()
            else:
                job.future.set_result(result)
                stopped = False
            self._seconds = 0.8 * self._seconds + 0.2 * (time.perf_counter() - started)
            if stopped:
                self.cancelled += 1
            else:
                self.completed += 1
