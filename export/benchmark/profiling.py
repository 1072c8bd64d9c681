"""Where the time goes: onnxruntime's profiler on every session of one loaded variant.

`profile_variant(folder, dtype, ...)` loads a variant with profiling switched on in every
session it creates (models.session makes them; the class is swapped only while loading), runs
two describes, and sums each session's kernel time per operator type over the second.
"""
from __future__ import annotations

import collections
import contextlib
import json
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from PIL import Image

CONTROL_FLOW = {"If", "Loop", "Scan"}
# <part>_<date>_<time>.json -> <part>
_TRACE_NAME = re.compile(r"_\d{4}-\d\d-\d\d_.*$")


@dataclass(frozen=True)
class OpTime:
    op: str
    ms: float
    calls: int


@dataclass(frozen=True)
class SessionProfile:
    part: str  # the ONNX file's stem, e.g. "vision_encoder_int8"
    run_ms: float  # all `run` calls
    ops: list[OpTime]  # kernel time per operator type, largest first


@contextlib.contextmanager
def _profiling(prefix: Path, sessions: list[Any]) -> Iterator[None]:
    import onnxruntime as ort

    real = ort.InferenceSession

    class Profiled(real):  # type: ignore[misc, valid-type]
        def __init__(self, path: str, sess_options: Any = None, **kwargs: Any) -> None:
            sess_options = sess_options or ort.SessionOptions()
            sess_options.enable_profiling = True
            sess_options.profile_file_prefix = str(prefix / _part(Path(str(path))))
            super().__init__(path, sess_options=sess_options, **kwargs)
            sessions.append(self)

    ort.InferenceSession = Profiled
    try:
        yield
    finally:
        ort.InferenceSession = real


def _part(path: Path) -> str:
    """The model part a session opened: its file's stem, or for an optimised graph from the
    cache (<part>-<key>/graph.onnx, models/graph_cache.py) its entry's."""
    from models import graph_cache

    return path.parent.name.rsplit("-", 1)[0] if path.name == graph_cache.GRAPH else path.stem


def summarise(trace: Path, since_us: float = 0.0) -> SessionProfile:
    """Kernel time per operator type in `trace`, counting events from `since_us` on."""
    events = json.loads(trace.read_text())
    by_op: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()
    run_us = 0
    for e in events:
        if e.get("ts", 0) < since_us:
            continue
        if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
            op = e.get("args", {}).get("op_name", "?")
            if op in CONTROL_FLOW:
                continue  # their subgraphs' nodes are listed on their own
            by_op[op] += e["dur"]
            calls[op] += 1
        elif e.get("cat") == "Session" and e.get("name") == "model_run":
            run_us += e["dur"]
    part = _TRACE_NAME.sub("", trace.name)
    return SessionProfile(part, run_us / 1000.0,
                          [OpTime(op, us / 1000.0, calls[op]) for op, us in by_op.most_common()])


def profile_variant(folder: Path, dtype: str, image: Image.Image, tokens: int,
                    threads: int | None) -> list[SessionProfile]:
    """Load `dtype` with profiling on, describe twice, summarise the second describe."""
    from export.benchmark.runner import EngineSide

    sessions: list[Any] = []
    with tempfile.TemporaryDirectory(prefix="lumen-profile-") as tmp:
        with _profiling(Path(tmp), sessions):
            side = EngineSide(folder, dtype, threads, Path(tmp) / "cache")
        side.run(image, tokens)  # first runs grow the memory arenas: not what a describe costs
        mark = time.monotonic_ns()  # the profiler's clock (get_profiling_start_time_ns)
        side.run(image, tokens)
        found = [summarise(Path(s.end_profiling()), (mark - s.get_profiling_start_time_ns()) / 1000.0)
                 for s in sessions]
        # A first start opens each file twice (models/session.py reopens the optimised graph):
        # the session that only optimised never ran.
        return [p for p in found if p.ops]


def profile_table(profiles: list[SessionProfile], top: int = 6) -> str:
    lines = []
    for p in profiles:
        kernels = sum(o.ms for o in p.ops)
        lines.append(f"{p.part}: {p.run_ms:.0f} ms in run(), {kernels:.0f} ms in kernels")
        for o in p.ops[:top]:
            share = o.ms / kernels if kernels else 0.0
            lines.append(f"  {o.op:<28} {o.ms:8.1f} ms {share:6.1%}  ({o.calls} calls)")
    return "\n".join(lines)
