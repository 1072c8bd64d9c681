"""`lumen batch --engine ray` on a real local Ray (two CPUs): the same lines as the local engine."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.batch.describer import BatchOptions
from services.batch.pipeline import BatchRequest, run_batch
from tests.test_batch import noise, rows_of

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def local_ray():
    import ray

    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": path}})
    yield ray
    ray.shutdown()


def test_ray_gives_the_local_engines_lines(local_ray, tiny_florence2_onnx: Path, tmp_path: Path) -> None:
    pics = tmp_path / "pics"
    (pics / "sub").mkdir(parents=True)
    for i in range(4):
        noise(pics / ("sub" if i % 2 else ".") / f"p{i}.png", 20 + i)
    (pics / "broken.png").write_bytes((pics / "p0.png").read_bytes()[:100])
    options = BatchOptions(model=str(tiny_florence2_onnx), max_tokens=8, beams=2, alternatives=1, seed=5)
    lines = {}
    for engine in ("local", "ray"):
        out = tmp_path / f"{engine}.jsonl"
        result = run_batch(BatchRequest([str(pics)], out, options, engine=engine))
        assert (result.counts.described, result.counts.failed, result.exit_code) == (4, 1, 11)
        lines[engine] = {r["image"]: {**r, "timings_ms": None} for r in rows_of(out)}
    assert lines["ray"] == lines["local"]
    assert local_ray.is_initialized()  # a Ray the caller started is left running

    # Resumed on Ray: only the picture that failed is tried again.
    again = run_batch(BatchRequest([str(pics)], tmp_path / "ray.jsonl", options, engine="ray"))
    assert (again.counts.already, again.counts.failed, again.counts.described) == (4, 1, 0)


def test_workers_and_batched_vision_give_the_same_lines(tiny_florence2_onnx: Path, tmp_path: Path) -> None:
    # No Ray here: the local engine's own ways of going faster change speed, never results.
    pics = tmp_path / "pics"
    pics.mkdir()
    for i in range(7):
        noise(pics / f"p{i}.png", 40 + i, size=(60 + 7 * i, 50 + 3 * i))
    (pics / "broken.png").write_bytes((pics / "p0.png").read_bytes()[:100])
    lines = {}
    for workers, batch in ((1, 1), (2, 3), (1, 4)):
        options = BatchOptions(model=str(tiny_florence2_onnx), max_tokens=8, beams=2, batch_size=batch)
        out = tmp_path / f"{workers}-{batch}.jsonl"
        result = run_batch(BatchRequest([str(pics)], out, options, workers=workers))
        assert (result.counts.described, result.counts.failed) == (7, 1)
        rows = rows_of(out)
        lines[workers, batch] = {r["image"]: {**r, "timings_ms": None} for r in rows}
        encoded_apart = sum(r["timings_ms"]["vision"] > 0 for r in rows if "error" not in r)
        assert encoded_apart == (7 if batch == 1 else 0)  # batched: encoded before describe
    assert lines[2, 3] == lines[1, 1] == lines[1, 4]
