"""services.worker.SerialWorker: order, priority, lanes, cancel, errors, bounded queue, shutdown.

Every step is held by events (a gate job that waits to be released), never by sleeps, so the
outcome does not depend on the machine's speed. HANG is only a safety net against a deadlock.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError as FutureCancelled
from typing import Any

import pytest

from models.errors import CancelledError
from services.worker import HIGH, LOW, Job, SerialWorker, WorkerFull

HANG = 10.0  # seconds; reached only when the worker is broken


class Gate:
    """A job that says it started, then waits to be released (or cancelled)."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.saw_stop = False

    def __call__(self, job: Job[Any]) -> str:
        self.started.set()
        job.on_cancel(self.release.set)
        assert self.release.wait(HANG), "gate never released"
        self.saw_stop = job.should_stop()
        return "gate"


@pytest.fixture
def worker() -> Iterator[SerialWorker]:
    w = SerialWorker("test-worker")
    yield w
    assert w.shutdown(timeout=HANG)


def _hold(worker: SerialWorker, **kwargs: Any) -> tuple[Gate, Job[str]]:
    gate = Gate()
    job = worker.submit(gate, **kwargs)
    assert gate.started.wait(HANG)
    return gate, job


def _record(log: list[str], name: str) -> Callable[[Job[Any]], str]:
    def fn(job: Job[Any]) -> str:
        log.append(name)
        return name
    return fn


def test_jobs_run_one_at_a_time_in_order_on_one_thread(worker: SerialWorker) -> None:
    threads: set[str] = set()
    ran: list[str] = []

    def fn(name: str) -> Callable[[Job[Any]], str]:
        def run(job: Job[Any]) -> str:
            threads.add(threading.current_thread().name)
            ran.append(name)
            return name.upper()
        return run

    jobs = [worker.submit(fn(n)) for n in "abcdef"]
    assert [j.result(HANG) for j in jobs] == list("ABCDEF")
    assert ran == list("abcdef") and threads == {"test-worker"}
    assert worker.wait_idle(timeout=HANG) and worker.completed == 6 and worker.cancelled == 0


def test_higher_priority_waiting_jobs_run_first_equal_ones_in_order(worker: SerialWorker) -> None:
    ran: list[str] = []
    gate, held = _hold(worker)
    jobs = [
        worker.submit(_record(ran, "low"), priority=LOW),
        worker.submit(_record(ran, "normal-1")),
        worker.submit(_record(ran, "high"), priority=HIGH),
        worker.submit(_record(ran, "normal-2")),
    ]
    assert ran == []  # the running job is never pre-empted by priority
    gate.release.set()
    for job in jobs:
        job.result(HANG)
    assert ran == ["high", "normal-1", "normal-2", "low"]
    assert held.result(HANG) == "gate" and not gate.saw_stop


def test_a_new_job_of_a_lane_cancels_the_running_one_and_drops_the_waiting_ones(worker: SerialWorker) -> None:
    ran: list[str] = []
    gate, running = _hold(worker, lane="describe")
    waiting = worker.submit(_record(ran, "stale"), lane="describe")
    other = worker.submit(_record(ran, "other lane"), lane="keywords")
    plain = worker.submit(_record(ran, "no lane"))
    last = worker.submit(_record(ran, "last"), lane="describe")
    assert running.cancelled and waiting.cancelled and not other.cancelled and not plain.cancelled
    assert last.result(HANG) == "last"
    assert gate.saw_stop  # the running job saw should_stop() and ended early
    with pytest.raises(FutureCancelled):
        waiting.result(HANG)
    assert ran == ["other lane", "no lane", "last"]
    assert worker.wait_idle(timeout=HANG)
    assert (worker.completed, worker.cancelled) == (3, 2)


def test_replace_false_queues_behind_the_lane(worker: SerialWorker) -> None:
    ran: list[str] = []
    gate, running = _hold(worker, lane="speak")
    more = [worker.submit(_record(ran, f"sentence {i}"), lane="speak", replace=False) for i in range(3)]
    assert not running.cancelled and not worker.idle("speak")
    gate.release.set()
    for job in more:
        job.result(HANG)
    assert ran == ["sentence 0", "sentence 1", "sentence 2"]


def test_cancel_a_lane_or_everything(worker: SerialWorker) -> None:
    ran: list[str] = []
    gate, running = _hold(worker, lane="a")
    queued_a = worker.submit(_record(ran, "a"), lane="a", replace=False)
    queued_b = worker.submit(_record(ran, "b"), lane="b")
    worker.cancel("a")
    assert running.cancelled and queued_a.cancelled and not queued_b.cancelled
    assert worker.idle("a") and not worker.idle("b")  # a cancelled running job counts as gone
    assert queued_b.result(HANG) == "b"
    gate2, running2 = _hold(worker, lane="c")
    queued = worker.submit(_record(ran, "d"))
    worker.cancel()
    assert running2.cancelled and queued.cancelled
    assert worker.wait_idle(timeout=HANG) and ran == ["b"]


def test_cancel_hooks_run_once_and_at_once_when_already_cancelled(worker: SerialWorker) -> None:
    calls: list[str] = []
    gate, running = _hold(worker, lane="x")
    running.on_cancel(lambda: calls.append("first"))
    running.on_cancel(lambda: 1 / 0)  # a failing hook does not stop the others
    running.on_cancel(lambda: calls.append("second"))
    running.cancel()
    running.cancel()
    running.on_cancel(lambda: calls.append("late"))
    assert calls == ["first", "second", "late"]
    assert running.result(HANG) == "gate" and gate.saw_stop


def test_errors_reach_on_failed_then_on_error_and_the_future(worker: SerialWorker) -> None:
    failed: list[BaseException] = []
    unhandled: list[BaseException] = []
    w = SerialWorker("errors", on_error=unhandled.append)
    try:
        handled = w.submit(lambda job: 1 / 0, on_failed=failed.append)
        loose = w.submit(lambda job: {}["missing"])
        after = w.submit(lambda job: "still running")  # a failure does not end the worker
        assert after.result(HANG) == "still running"
        with pytest.raises(ZeroDivisionError):
            handled.result(HANG)
        with pytest.raises(KeyError):
            loose.result(HANG)
        assert [type(e) for e in failed] == [ZeroDivisionError]
        assert [type(e) for e in unhandled] == [KeyError]
    finally:
        assert w.shutdown(timeout=HANG)


def test_stale_outcomes_and_our_cancelled_error_are_never_delivered(worker: SerialWorker) -> None:
    heard: list[Any] = []
    gate, running = _hold(worker, lane="describe", on_done=heard.append, on_failed=heard.append)

    def stops(job: Job[Any]) -> None:
        raise CancelledError("stopped between two steps")

    stopped = worker.submit(stops, on_failed=heard.append)
    superseding = worker.submit(lambda job: "new", lane="describe", on_done=heard.append)
    assert superseding.result(HANG) == "new"
    with pytest.raises(CancelledError):
        stopped.result(HANG)
    assert worker.wait_idle(timeout=HANG)
    assert heard == ["new"]


def test_callbacks_and_progress_arrive_on_the_deliver_thread() -> None:
    """As in the window: the worker hands callables to another thread, which runs them."""
    inbox: queue.Queue[Callable[[], None]] = queue.Queue()
    w = SerialWorker("delivering", deliver=inbox.put)
    seen: list[tuple[str, str]] = []
    me = threading.current_thread().name
    try:
        def work(job: Job[Any]) -> str:
            job.post(lambda text: seen.append((text, threading.current_thread().name)), "progress")
            return "done"

        job = w.submit(work, on_done=lambda v: seen.append((v, threading.current_thread().name)))
        assert job.result(HANG) == "done" and seen == []  # nothing runs until the deliver thread does
        for _ in range(2):
            inbox.get(timeout=HANG)()
        assert seen == [("progress", me), ("done", me)]

        gate, held = _hold(w)
        held.post(seen.append, "late")
        held.cancel()
        inbox.get(timeout=HANG)()  # posted before the cancel, delivered after it: dropped
        assert seen[-1] == ("done", me)
    finally:
        assert w.shutdown(timeout=HANG)


def test_a_bounded_worker_refuses_work_when_full_unless_a_lane_makes_room() -> None:
    w = SerialWorker("bounded", max_waiting=2)
    try:
        gate, running = _hold(w)
        first = w.submit(lambda job: 1, lane="l")
        w.submit(lambda job: 2)
        with pytest.raises(WorkerFull) as full:
            w.submit(lambda job: 3)
        assert full.value.waiting == 2 and w.waiting == 2
        replacing = w.submit(lambda job: 4, lane="l")  # supersedes `first`: the queue stays at 2
        assert first.cancelled and w.waiting == 2
        gate.release.set()
        assert replacing.result(HANG) == 4
    finally:
        assert w.shutdown(timeout=HANG)


def test_shutdown_cancels_or_lets_the_running_job_finish() -> None:
    w = SerialWorker("closing")
    gate, running = _hold(w)
    waiting = w.submit(lambda job: "never")
    assert w.shutdown(timeout=HANG)
    assert running.cancelled and gate.saw_stop and waiting.cancelled
    late = w.submit(lambda job: "refused")
    assert late.cancelled and late.future.cancelled()

    w = SerialWorker("finishing")
    gate, running = _hold(w)
    waiting = w.submit(lambda job: "never")
    closer = threading.Thread(target=w.shutdown, kwargs={"timeout": HANG, "cancel_running": False})
    closer.start()
    gate.release.set()
    closer.join(HANG)
    assert running.result(HANG) == "gate" and not gate.saw_stop and waiting.cancelled
    assert not closer.is_alive()


def test_wait_idle_times_out_while_a_lane_is_busy(worker: SerialWorker) -> None:
    gate, running = _hold(worker, lane="speak")
    assert not worker.wait_idle("speak", timeout=0)
    assert worker.wait_idle("other", timeout=0)
    gate.release.set()
    assert worker.wait_idle("speak", timeout=HANG) and running.result(HANG) == "gate"


def test_at_exit_a_running_job_is_cancelled_and_waited_for() -> None:
    """Without the exit hook the daemon thread would be dropped mid-job, which ONNX Runtime
    answers with "terminate called" (an abort)."""
    import subprocess
    import sys
    from pathlib import Path

    script = """
import threading
from services.worker import SerialWorker
started = threading.Event()
def job(job):
    started.set()
    while not job.should_stop():
        job_event.wait(0.01)
    print("stopped cleanly", flush=True)
job_event = threading.Event()
SerialWorker("exit-test").submit(job)
started.wait(10)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parent.parent,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "stopped cleanly"


class Picture:
    """Stands for a screen capture a job holds."""


def test_a_finished_or_failed_job_lets_go_of_what_it_held_without_the_garbage_collector(
        worker: SerialWorker) -> None:
    import gc
    import weakref

    held: list[weakref.ref[Picture]] = []

    def fails(job: Job[Any]) -> None:
        picture = Picture()  # a local of a frame in the traceback, with `job`: a cycle
        held.append(weakref.ref(picture))
        raise CancelledError("superseded")

    picture = Picture()
    held.append(weakref.ref(picture))
    gc.disable()  # what is freed here is freed by reference counts alone
    try:
        failed = worker.submit(fails)
        closure = worker.submit(lambda job, picture=picture: "done")  # held by the job's function
        del picture
        assert closure.result(HANG) == "done"
        with pytest.raises(CancelledError):
            failed.result(HANG)
        assert worker.wait_idle(timeout=HANG)
        # the jobs, their futures and the error (with file and line) are still here; the pictures are not
        assert [ref() for ref in held] == [None, None]
        assert failed.future.exception().__traceback__ is not None
    finally:
        gc.enable()


def test_on_idle_runs_on_the_worker_once_the_last_waiting_job_has_run() -> None:
    calls: list[str] = []
    w = SerialWorker("idle", on_idle=lambda: calls.append(threading.current_thread().name))
    try:
        gate, _ = _hold(w)
        jobs = [w.submit(lambda job: None) for _ in range(3)]
        gate.release.set()
        for job in jobs:
            job.result(HANG)
        assert w.wait_idle(timeout=HANG)
        w.submit(lambda job: None).result(HANG)
        assert w.wait_idle(timeout=HANG)
        deadline = threading.Event()
        for _ in range(100):  # on_idle follows the job's outcome by a moment
            if len(calls) == 2:
                break
            deadline.wait(0.05)
        assert calls == ["idle", "idle"]
    finally:
        assert w.shutdown(timeout=HANG)
