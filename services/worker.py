"""The one way Lumen runs background work: a serial worker, Qt-free.

One thread runs jobs one at a time. An ONNX session and the pyttsx3 engine are not
thread-safe, so each lives on one of these; the window (through `desktop.work.workers`), the server's
engine (`services.api.engine`), speech (`services.speech`, `services.speech_engine`) and the
Wayland screenshot tool all use this class.

- Lanes: a job may belong to a lane; a new job of that lane supersedes the lane's running job
  (cancelled through `Job.should_stop`) and drops its queued ones, so the last request wins
  (`replace=False` queues behind them instead). `cancel(lane)` empties a lane.
- Priority: a waiting job of higher priority runs before lower ones; equal ones keep their order.
  A running job is never pre-empted by priority, only by cancelling.
- Outcomes: each job has a `concurrent.futures.Future`, and optional `on_done` / `on_failed`
  callbacks called through `deliver` (the caller's thread of choice: a GUI's, through a queued
  signal; by default the worker's own). A cancelled job's outcome is never delivered: a newer
  request owns the result. An error with no `on_failed` goes to the worker's `on_error`, if it
  has one; it is always in the job's future.
- `max_waiting`: a bounded queue; `submit` raises `WorkerFull` rather than pile work up.
- Memory: a finished job lets go of its function (and so of what its closure holds), and a
  failed one's traceback frames lose their locals, which would otherwise keep a cancelled
  describe's picture alive in a cycle until the garbage collector's next full pass. `on_idle`
  runs on the thread whenever the last waiting job has run (the window returns freed memory).
"""
from __future__ import annotations

import atexit
import itertools
import logging
import threading
import traceback
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

from models.errors import CancelledError

log = logging.getLogger(__name__)

T = TypeVar("T")
StopCheck = Callable[[], bool]
Deliver = Callable[[Callable[[], None]], None]
Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]

LOW, NORMAL, HIGH = -1, 0, 1  # priorities: background warming < ordinary work < what a user waits on
EXIT_WAIT_S = 10.0  # at interpreter exit, how long a running job gets to see should_stop() and end
_live: weakref.WeakSet[SerialWorker] = weakref.WeakSet()


class WorkerFull(Exception):
    """`max_waiting` jobs already wait; `waiting` says how many."""

    def __init__(self, waiting: int) -> None:
        super().__init__(f"{waiting} jobs are already waiting")
        self.waiting = waiting


def _direct(fn: Callable[[], None]) -> None:
    fn()


class Job(Generic[T]):
    """What a job's function receives and what `submit` returns: cancel it, ask whether it
    should stop, post progress to the deliver thread, or wait for its result."""

    def __init__(self, fn: Callable[[Job[T]], T], *, lane: str | None, priority: int, name: str,
                 on_done: Done | None, on_failed: Failed | None, deliver: Deliver) -> None:
        self.fn, self.lane, self.priority, self.name = fn, lane, priority, name
        self.on_done, self.on_failed = on_done, on_failed
        self.future: Future[T] = Future()
        self._deliver = deliver
        self._lock = threading.Lock()
        self._cancelled = False
        self._on_cancel: list[Callable[[], None]] = []

    def cancel(self) -> None:
        """Ask the job to stop; a waiting job never starts. Safe from any thread, repeatable."""
        with self._lock:
            if self._cancelled:
                return
            self._cancelled = True
            callbacks, self._on_cancel = self._on_cancel, []
        self.future.cancel()  # only succeeds while it waits
        for fn in callbacks:
            _call_quietly(fn)

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def should_stop(self) -> bool:
        return self._cancelled

    def on_cancel(self, fn: Callable[[], None]) -> None:
        """Call `fn` when the job is cancelled (at once if it already is): stops what
        `should_stop` cannot reach, such as a playing sound."""
        with self._lock:
            if not self._cancelled:
                self._on_cancel.append(fn)
                return
        _call_quietly(fn)

    def post(self, fn: Callable[..., None], *args: Any) -> None:
        """Run `fn(*args)` on the deliver thread, unless the job has been cancelled by then."""
        self._deliver(lambda: None if self._cancelled else fn(*args))

    def result(self, timeout: float | None = None) -> T:
        """Wait for the outcome; raises what the job raised, concurrent.futures' CancelledError
        for a job cancelled before it started, TimeoutError when `timeout` runs out."""
        return self.future.result(timeout)


def _spent(_job: Job[Any]) -> Any:
    raise RuntimeError("a job runs once")


def _clear_locals(exc: BaseException) -> None:
    """Drop the locals of every frame in `exc`'s tracebacks (and its causes'); the file names
    and line numbers stay for the log."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        traceback.clear_frames(exc.__traceback__)
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]


def _call_quietly(fn: Callable[[], None]) -> None:
    try:
        fn()
    except Exception:  # a cancel or idle hook must not stop the others
        log.exception("error in a worker's hook")


class SerialWorker:
    """One thread that runs jobs one at a time; see the module docstring."""

    def __init__(self, name: str, *, deliver: Deliver = _direct, on_error: Failed | None = None,
                 max_waiting: int | None = None, on_idle: Callable[[], None] | None = None) -> None:
        self.name = name
        self._on_idle = on_idle  # called on the thread when the last waiting job has run
        self._deliver = deliver
        self._on_error = on_error
        self._max_waiting = max_waiting
        self._waiting: list[tuple[int, int, Job[Any]]] = []  # (-priority, order, job)
        self._order = itertools.count()
        self._current: Job[Any] | None = None
        self._cond = threading.Condition()
        self._closed = False
        self.completed = 0  # jobs that ran to their end uncancelled (a result or an error)
        self.cancelled = 0  # jobs dropped before they started, or cancelled while running
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()
        _live.add(self)

    # ---- submitting and cancelling --------------------------------------------------------

    def submit(self, fn: Callable[[Job[T]], T], *, lane: str | None = None, replace: bool = True,
               priority: int = NORMAL, on_done: Done | None = None, on_failed: Failed | None = None,
               name: str = "job") -> Job[T]:
        """Queue `fn(job)`. With a lane and `replace`, first cancel that lane's jobs. Returns the
        job (already cancelled when the worker is shut down); raises WorkerFull when full."""
        job: Job[T] = Job(fn, lane=lane, priority=priority, name=name, on_done=on_done,
                          on_failed=on_failed, deliver=self._deliver)
        dropped: list[Job[Any]] = []
        with self._cond:
            if self._closed:
                dropped.append(job)
            else:
                superseded = lane is not None and replace
                if self._max_waiting is not None:
                    stays = [e for e in self._waiting if not (superseded and e[2].lane == lane)]
                    if len(stays) >= self._max_waiting:
                        raise WorkerFull(len(stays))
                if superseded:
                    dropped = self._take_lane_locked(lane)
                self._waiting.append((-priority, next(self._order), job))
                self._cond.notify_all()
        self._cancel_all(dropped)
        return job

    def cancel(self, lane: str | None = None) -> None:
        """Cancel the lane's running and waiting jobs; with no lane, every job."""
        with self._cond:
            jobs = self._take_lane_locked(lane)
        self._cancel_all(jobs)

    def _take_lane_locked(self, lane: str | None) -> list[Job[Any]]:
        """Remove the lane's waiting jobs; return them and the lane's running job."""
        taken = [entry for entry in self._waiting if lane is None or entry[2].lane == lane]
        self._waiting = [entry for entry in self._waiting if entry not in taken]
        jobs = [entry[2] for entry in taken]
        if self._current is not None and (lane is None or self._current.lane == lane):
            jobs.append(self._current)
        self.cancelled += len(taken)
        self._cond.notify_all()
        return jobs

    def _cancel_all(self, jobs: list[Job[Any]]) -> None:
        for job in jobs:  # outside the lock: cancel hooks may take their own locks
            job.cancel()
        if jobs:
            with self._cond:
                self._cond.notify_all()  # wait_idle() sees a cancelled running job as idle

    # ---- state ----------------------------------------------------------------------------

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._waiting)

    @property
    def busy(self) -> bool:
        with self._cond:
            return self._current is not None or bool(self._waiting)

    def idle(self, lane: str | None = None) -> bool:
        """True when no uncancelled job of `lane` (any lane: None) waits or runs."""
        with self._cond:
            return self._idle_locked(lane)

    def _idle_locked(self, lane: str | None) -> bool:
        if any(lane is None or job.lane == lane for _, _, job in self._waiting):
            return False
        running = self._current
        return running is None or running.cancelled or (lane is not None and running.lane != lane)

    def wait_idle(self, lane: str | None = None, timeout: float | None = None) -> bool:
        """Block until `idle(lane)`; False when `timeout` ran out first."""
        with self._cond:
            return self._cond.wait_for(lambda: self._idle_locked(lane), timeout)

    def shutdown(self, timeout: float | None = 5.0, *, cancel_running: bool = True) -> bool:
        """Drop the waiting jobs (and cancel the running one unless told not to), stop the
        thread; True when it stopped within `timeout` (0: do not wait)."""
        with self._cond:
            self._closed = True
            jobs = self._take_lane_locked(None)
        if not cancel_running:
            jobs = [job for job in jobs if job is not self._current]
        self._cancel_all(jobs)
        if threading.current_thread() is not self._thread and timeout != 0:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    # ---- the thread -----------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._waiting and not self._closed:
                    self._cond.wait()
                if not self._waiting:
                    return
                entry = min(self._waiting, key=lambda e: e[:2])
                self._waiting.remove(entry)
                job = self._current = entry[2]
            started = job.future.set_running_or_notify_cancel()
            if not started:
                outcome: tuple[bool, Any] = (False, CancelledError("cancelled before it started"))
            else:
                try:
                    outcome = (True, job.fn(job))
                except BaseException as exc:  # noqa: BLE001 - every failure goes to its caller
                    # The traceback's frames hold the job's locals (a screen capture, its pixel
                    # arrays) in a cycle with the job itself: cleared, they go now instead of at
                    # the garbage collector's next full pass, which hammered keys outran by 100 MB.
                    _clear_locals(exc)
                    outcome = (False, exc)
            job.fn = _spent  # its closure (the picture, the callbacks) is not needed again
            with self._cond:  # counted before the outcome is out: whoever got it sees the count
                if job.cancelled:
                    self.cancelled += 1
                else:
                    self.completed += 1
            if started and outcome[0]:
                job.future.set_result(outcome[1])
            elif started:
                job.future.set_exception(outcome[1])
            with self._cond:
                self._current = None
                self._cond.notify_all()
            wanted = job.on_done if outcome[0] else (job.on_failed or self._on_error)
            if wanted is not None and not job.cancelled:
                self._deliver(lambda job=job, outcome=outcome: self._finish(job, outcome))
            del job, entry, outcome, wanted  # nothing of the last job stays alive while idle
            if self._on_idle is not None:
                with self._cond:
                    idle = not self._waiting
                if idle:
                    _call_quietly(self._on_idle)

    def _finish(self, job: Job[Any], outcome: tuple[bool, Any]) -> None:
        ok, value = outcome
        # A superseded job's outcome is stale: the newer request owns the result now.
        if job.cancelled or (not ok and isinstance(value, CancelledError)):
            return
        if ok:
            if job.on_done is not None:
                job.on_done(value)
        elif job.on_failed is not None:
            job.on_failed(value)
        elif self._on_error is not None:
            self._on_error(value)


@atexit.register
def _stop_all_at_exit() -> None:
    """Cancel and join every worker before the interpreter tears down: a daemon thread still
    inside native code then (an ONNX Runtime run) can abort the process ("terminate called")."""
    for worker in list(_live):
        worker.shutdown(EXIT_WAIT_S)
