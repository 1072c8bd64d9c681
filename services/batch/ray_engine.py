"""`lumen batch --engine ray`: the same batch on Ray Data, on this machine or a cluster.

The driver (the `lumen batch` process) lists the pictures and leaves out those already done
(services/batch/pipeline.py); Ray Data then reads and decodes pictures in `map_batches` tasks
and describes them in a callable class: one `Describer` (one set of ONNX sessions) per actor,
as many actors as the cluster's CPUs allow (or one per GPU, `num_gpus=1`, on GPU nodes). Each
described batch comes back to the driver as JSON lines, which writes them to the same journal
as the local engine, as they come: resume and crash safety are the same.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from models.errors import LumenError, MissingExtraError, missing_packages
from models.exit_status import ExitStatus
from services.batch.describer import BatchOptions, Describer, error_row
from services.batch.sources import Picture

READ_BATCH = 4  # pictures decoded per task
DESCRIBE_BATCH = 4  # pictures per actor call (each described on its own; lines come back together)
ROOT = Path(__file__).resolve().parents[2]  # where `services` is importable from, on this machine


class RayUnavailable(LumenError):
    """The Ray cluster cannot be started or joined (--ray-address)."""

    exit_code = ExitStatus.USAGE


def _picture(row: dict[str, Any]) -> Picture:
    return Picture(str(row["image"]), int(row["file_size"]), int(row["file_mtime_ns"]), bool(row["document"]))


def read_pictures(batch: dict[str, np.ndarray]) -> dict[str, Any]:
    """map_batches: decode each picture (orientation, RGB, size limit: `load_image`), or note
    why it cannot be read. Runs on any node; the pixels travel to the actor as arrays."""
    from models.image_io import load_image

    pixels: list[Any] = []
    errors: list[str] = []
    for image, document in zip(batch["image"], batch["document"]):
        if document:  # read page by page by the actor
            pixels.append(np.zeros((0, 0, 3), np.uint8))
            errors.append("")
            continue
        try:
            pixels.append(np.asarray(load_image(str(image))))
            errors.append("")
        except LumenError as e:
            pixels.append(np.zeros((0, 0, 3), np.uint8))
            errors.append(json.dumps({"error": " ".join(str(e).split()), "exit_code": e.exit_code}))
    return {**batch, "pixels": np.array(pixels + [None], dtype=object)[:-1], "read_error": np.array(errors)}


class DescribeActor:
    """One Describer per actor, loaded once; describes the pictures of each batch."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.describer = Describer(BatchOptions(**options), warn=lambda message: None)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        from PIL import Image

        lines = []
        for i in range(len(batch["image"])):
            picture = _picture({k: batch[k][i] for k in ("image", "file_size", "file_mtime_ns", "document")})
            if picture.document:
                lines.extend(json.dumps(row, ensure_ascii=False) for row in self.describer.describe_document(picture))
                continue
            if batch["read_error"][i]:
                failure = json.loads(batch["read_error"][i])
                row = {**error_row(picture, LumenError(failure["error"])), "exit_code": failure["exit_code"]}
            else:
                row = self.describer.describe(picture, Image.fromarray(batch["pixels"][i], "RGB"))
            lines.append(json.dumps(row, ensure_ascii=False))
        self.describer.forget()
        return {"line": np.array(lines, dtype=object)}


def plan(resources: dict[str, float], options: BatchOptions) -> tuple[int, dict[str, Any], BatchOptions]:
    """(actors, their resources, the options each runs with) from the cluster's resources:
    one actor per GPU on GPU nodes; otherwise actors of `threads` cores (default: up to 4)."""
    gpus = int(resources.get("GPU", 0))
    if gpus and options.device != "cpu":
        return gpus, {"num_gpus": 1}, options
    cpus = max(1, int(resources.get("CPU", 1)))
    threads = options.threads or min(4, cpus)
    # One logical CPU per actor: the decoding tasks keep room to run beside it.
    return max(1, cpus // threads), {"num_cpus": 1}, replace(options, threads=threads)


def run_ray(pending: list[Picture], options: BatchOptions, take: Callable[[list[dict]], None], *,
            address: str | None = None, should_stop: Callable[[], bool] | None = None,
            warn: Callable[[str], None] | None = None) -> None:
    if missing_packages("ray"):
        raise MissingExtraError("--engine ray needs Ray Data", "ray")
    import ray
    import ray.data

    started = not ray.is_initialized()
    if started:
        # Started here: this machine's workers import Lumen from this checkout.
        env = {} if address else {"runtime_env": {"env_vars": {"PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}}}
        try:
            ray.init(address=address, include_dashboard=False, logging_level="ERROR",
                     log_to_driver=False, **env)
        except Exception as e:  # no cluster at that address, or Ray cannot start here
            raise RayUnavailable(f"Ray could not start or join {address or 'a local cluster'} "
                                 f"({' '.join(str(e).split())[:200]}).") from e
    try:
        actors, resources, actor_options = plan(ray.cluster_resources(), options)
        if warn is not None:
            warn(f"note: Ray: {actors} describing actor(s) on {ray.cluster_resources().get('CPU', 0):.0f} "
                 f"CPUs, {ray.cluster_resources().get('GPU', 0):.0f} GPUs")
        for name in ("ray", "ray.data"):  # Ray Data's plan and timing lines; errors still show
            logging.getLogger(name).setLevel(logging.ERROR)
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.verbose_stats_logs = False
        items = [{"image": p.image, "file_size": p.size, "file_mtime_ns": p.mtime_ns, "document": p.document}
                 for p in pending]
        ds = ray.data.from_items(items, override_num_blocks=max(1, min(len(items), 8 * actors)))
        ds = ds.map_batches(read_pictures, batch_size=READ_BATCH, num_cpus=0.5)
        ds = ds.map_batches(DescribeActor, fn_constructor_kwargs={"options": asdict(actor_options)},
                            batch_size=DESCRIBE_BATCH, compute=ray.data.ActorPoolStrategy(size=actors),
                            **resources)
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            take([json.loads(line) for line in batch["line"]])
            if should_stop is not None and should_stop():
                break
    finally:
        if started:
            ray.shutdown()
