"""The whole benchmark, in the order that keeps measurements apart:

machine GEMM rate -> transformers loaded and warmed (its peak RSS) -> every ONNX variant loaded
-> interleaved timed runs -> token parity and quality proxies -> the in-process models freed ->
each variant again in a fresh process (peak RSS, cold/warm load) -> `lumen describe` cold and
warm -> the app's window start.
"""
from __future__ import annotations

import gc
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from export.benchmark import probes
from export.benchmark.inputs import bench_image
from export.benchmark.profiling import profile_table, profile_variant
from export.benchmark.quality import compare, token_agreement
from export.benchmark.report import VariantReport, markdown, to_json
from export.benchmark.runner import BEAMS, EngineSide, TorchSide, interleave
from export.benchmark.worker import peak_rss_mb
from models.errors import ModelFolderError
from models.folder import ModelFolder, dtypes_present

DTYPES = ("fp32", "int8", "q4", "fp16")


@dataclass(frozen=True)
class BenchOptions:
    model: Path  # a Lumen model folder
    checkpoint: Path | None = None  # the transformers checkpoint it came from (torch side)
    tokens: int = 20
    runs: int = 3
    threads: int | None = None
    dtypes: tuple[str, ...] = DTYPES
    app_runs: int = 3  # 0: do not measure the window start
    processes: bool = True  # fresh-process peak RSS and `lumen describe` cold/warm
    profile: bool = False  # onnxruntime's profiler on one describe per variant
    device: str = "cpu"  # the ONNX side's provider choice (models.session.DEVICES); torch stays on the CPU


@dataclass
class BenchResult:
    data: dict[str, Any]
    table: str


def _load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def _describe_dtype(dtypes: list[str]) -> str:
    return next((d for d in ("int8", "q4") if d in dtypes), dtypes[0])


def run_benchmark(options: BenchOptions, log: Callable[[str], Any] = print) -> BenchResult:
    with tempfile.TemporaryDirectory(prefix="lumen-bench-") as tmp:
        return _run(options, Path(tmp), log)


def _run(options: BenchOptions, tmp: Path, log: Callable[[str], Any]) -> BenchResult:
    folder = ModelFolder.open(options.model)
    if folder.family != "florence2":
        raise ModelFolderError(f"{options.model} holds a {folder.family} model; lumen bench measures Florence-2")
    present = dtypes_present(options.model / "onnx", folder.family)
    dtypes = [d for d in options.dtypes if d in present]
    if not dtypes:
        raise ModelFolderError(f"{options.model} has none of the variants {', '.join(options.dtypes)}")
    extra: dict[str, Any] = {
        "model": str(options.model), "checkpoint": str(options.checkpoint) if options.checkpoint else None,
        "tokens": options.tokens, "beams": BEAMS, "runs": options.runs, "threads": options.threads,
        "cpu_count": os.cpu_count(), "load_before": _load_average(), "dtypes": dtypes,
        "device": options.device, "gpu": probes.gpu_name(),
    }
    log("measuring the machine's GEMM rate")
    extra["gemm_gflops"] = probes.gemm_gflops_ort(threads=options.threads)
    image = bench_image()
    sides: list[Any] = []
    torch_side = None
    if options.checkpoint is not None:
        log("loading transformers (eager)")
        torch_side = TorchSide(options.checkpoint, options.model, options.threads)
        extra["gemm_gflops_torch"] = probes.gemm_gflops_torch()
        pixels = torch_side.preprocess(image)
        extra["vision_gflop"] = probes.vision_flops(torch_side, pixels) / 1e9
        torch_side.run(image, options.tokens)
        torch_rss = peak_rss_mb()  # before any ONNX session exists
        sides.append(torch_side)
    for dtype in dtypes:
        log(f"loading ONNX {dtype}")
        side = EngineSide(options.model, dtype, options.threads, tmp / "in-process", options.device)
        extra[f"provider_{dtype}"] = side.provider
        sides.append(side)
    log(f"{options.runs} interleaved runs of {options.tokens} tokens, beam {BEAMS}")
    runs = interleave(sides, image, options.tokens, options.runs, log=log)
    reports = {s.name: VariantReport(s.name, s.load_s, runs[s.name]) for s in sides}
    if torch_side is not None:
        reports["torch"].peak_rss_mb = torch_rss

    log("token parity and quality proxies")
    fp32 = reports.get("onnx_fp32")
    torch_tokens = reports["torch"].runs[0].tokens if torch_side is not None else None
    reference = next((s for s in sides if getattr(s, "dtype", None) == "fp32"), None)
    ref_prepared = reference.prepared(image) if reference is not None else None
    for side in sides:
        report = reports[side.name]
        tokens = report.runs[0].tokens
        if torch_tokens is not None:
            report.agreement_torch = token_agreement(tokens, torch_tokens)
        if fp32 is not None:
            report.agreement_fp32 = token_agreement(tokens, fp32.runs[0].tokens)
        if isinstance(side, EngineSide) and ref_prepared is not None and side is not reference:
            report.quality = compare(side.prepared(image), ref_prepared, fp32.runs[0].tokens)
    if torch_tokens is not None and fp32 is not None:
        extra["tokens_match_fp32"] = fp32.runs[0].tokens == torch_tokens
        extra["distinct_tokens"] = len(set(torch_tokens))
    del sides, torch_side, reference, ref_prepared
    gc.collect()

    if options.profile:
        for dtype in dtypes:
            log(f"profiling {dtype}")
            found = profile_variant(options.model, dtype, image, options.tokens, options.threads)
            extra[f"profile_{dtype}"] = [asdict(p) for p in found]
            log(profile_table(found))
    if options.processes and options.checkpoint is not None:
        log("fresh process: transformers alone")
        alone = probes.torch_process(options.model, options.checkpoint, options.tokens, options.runs,
                                     options.threads)
        if "total_s" in alone:
            extra["torch_alone_s"], extra["torch_alone_runs_s"] = alone["total_s"], alone["runs_s"]
            extra["peak_rss_mb_torch_alone"] = alone["peak_rss_mb"]
            for dtype in dtypes:
                extra[f"ratio_alone_{dtype}"] = reports[f"onnx_{dtype}"].median("total_s") / alone["total_s"]
        else:
            extra["torch_alone_error"] = alone.get("error")
    if options.processes:
        for dtype in dtypes:
            log(f"fresh processes: {dtype}, first and second start")
            cache = tmp / f"cache-{dtype}"
            cold = probes.variant_process(options.model, dtype, options.tokens, options.threads, cache)
            warm = probes.variant_process(options.model, dtype, options.tokens, options.threads, cache)
            report = reports[f"onnx_{dtype}"]
            report.process = {**{f"cold_{k}": v for k, v in cold.items()}, **{f"warm_{k}": v for k, v in warm.items()}}
            report.peak_rss_mb = warm.get("peak_rss_mb")
            report.warm_load_s = warm.get("load_s")
        described = _describe_dtype(dtypes)
        log(f"`lumen describe` cold and warm ({described})")
        picture = tmp / "bench.png"
        image.save(picture)
        extra["describe_dtype"] = described
        extra.update(probes.describe_cold_warm(options.model, described, picture, options.tokens, options.threads))
    if options.app_runs > 0:
        log("app start")
        extra.update(probes.app_start(options.model, runs=options.app_runs))
    else:
        extra["app_start_error"] = "skipped (--app-runs 0)"
    extra["load_after"] = _load_average()
    variants = list(reports.values())
    data = to_json(variants, extra)
    return BenchResult(data, markdown(variants, data))
