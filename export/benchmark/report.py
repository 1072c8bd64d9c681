"""The benchmark's results: flat JSON keys (the contract) and a Markdown table."""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from export.benchmark.quality import Quality
from export.benchmark.runner import RunTimes

GEMM_N_LABEL = "2048³ fp32"
STAGES = ("preprocess_s", "vision_s", "encoder_s", "first_token_s", "cpu_s")


@dataclass
class VariantReport:
    """One side of the benchmark: timed runs plus what fresh processes and probes found."""

    name: str  # "torch" or "onnx_<dtype>"
    load_s: float  # in the benchmark process, with an empty optimised-graph cache
    runs: list[RunTimes]
    warm_load_s: float | None = None  # a fresh process, graphs optimised by an earlier start
    peak_rss_mb: float | None = None
    process: dict[str, Any] = field(default_factory=dict)  # the fresh-process worker's report
    quality: Quality | None = None
    agreement_torch: float | None = None  # token agreement with transformers
    agreement_fp32: float | None = None  # token agreement with our fp32 engine

    @property
    def short(self) -> str:
        return self.name.removeprefix("onnx_")

    def median(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.runs)

    def spread(self, attr: str = "total_s") -> tuple[float, float]:
        values = [getattr(r, attr) for r in self.runs]
        return min(values), max(values)


def _key(base: str, variant: VariantReport) -> str:
    return f"{base}_{variant.short}"


def to_json(variants: list[VariantReport], extra: dict[str, Any]) -> dict[str, Any]:
    """Flat keys per variant (`onnx_int8_s`, `peak_rss_mb_int8`, ...) plus `extra` (machine,
    probes, parity)."""
    data: dict[str, Any] = {}
    torch = next((v for v in variants if v.name == "torch"), None)
    torch_s = torch.median("total_s") if torch else None
    data["torch_s"] = torch_s
    vision_flops = extra.get("vision_gflop")
    for v in variants:
        total = v.median("total_s")
        if v.name != "torch":
            data[f"{v.name}_s"] = total
            data[_key("ratio", v)] = total / torch_s if torch_s else None
        low, high = v.spread()
        data[_key("total_s", v)] = total
        data[_key("total_min_s", v)], data[_key("total_max_s", v)] = low, high
        data[_key("load_s", v)] = v.warm_load_s if v.warm_load_s is not None else v.load_s
        data[_key("load_cold_s", v)] = v.load_s
        for stage in STAGES:
            data[_key(stage, v)] = v.median(stage)
        data[_key("decode_per_token_s", v)] = v.median("per_token_s")
        data[_key("peak_rss_mb", v)] = v.peak_rss_mb
        if vision_flops:
            data[_key("vision_gflops", v)] = vision_flops / v.median("vision_s")
        data[_key("tokens", v)] = v.runs[0].tokens if v.runs else None
        if v.agreement_torch is not None:
            data[_key("token_agreement_torch", v)] = v.agreement_torch
        if v.agreement_fp32 is not None:
            data[_key("token_agreement_fp32", v)] = v.agreement_fp32
        if v.quality is not None:
            data[_key("logit_cosine", v)] = v.quality.logit_cosine_mean
            data[_key("logit_cosine_min", v)] = v.quality.logit_cosine_min
            data[_key("top1_agreement", v)] = v.quality.top1_agreement
            data[_key("encoder_cosine", v)] = v.quality.encoder_cosine
        for name, value in v.process.items():
            if name != "tokens":
                data[_key(f"process_{name}", v)] = value
    data.update(extra)
    return data


def _s(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def markdown(variants: list[VariantReport], data: dict[str, Any]) -> str:
    """The README table: medians, with the spread of the total, one row per variant."""
    head = ("| engine | total s (min–max) | × torch | CPU s | load s | preprocess s | vision s | text encoder s "
            "| decode ms/token | first token s | peak RSS MB | tokens = torch | logit cos |")
    rows = [head, "|" + "|".join(["---"] * (head.count("|") - 1)) + "|"]
    for v in variants:
        low, high = v.spread()
        ratio = data.get(_key("ratio", v)) if v.name != "torch" else 1.0
        same = "–" if v.agreement_torch is None else f"{v.agreement_torch:.0%}"
        cos = "–" if v.quality is None else f"{v.quality.logit_cosine_mean:.4f}"
        label = "transformers eager" if v.name == "torch" else f"Lumen ONNX {v.short}"
        rows.append(
            f"| {label} | {v.median('total_s'):.2f} ({low:.2f}–{high:.2f}) | {_s(ratio)} | {v.median('cpu_s'):.1f} "
            f"| {data[_key('load_s', v)]:.2f} "
            f"| {v.median('preprocess_s'):.3f} | {v.median('vision_s'):.2f} | {v.median('encoder_s'):.2f} "
            f"| {v.median('per_token_s') * 1000:.0f} | {v.median('first_token_s'):.2f} "
            f"| {_s(v.peak_rss_mb, 0)} | {same} | {cos} |"
        )
    notes = [
        "",
        "CPU s: the process's CPU time over the describe, all threads (less disturbed than wall time "
        "when other work shares the machine). Load s: a fresh process opening the graphs an earlier "
        "start optimised and saved (transformers: from_pretrained). Peak RSS: one fresh process per "
        "ONNX variant.",
        f"{data.get('tokens')} new tokens, beam {data.get('beams')}, no_repeat_ngram_size 3, "
        f"{data.get('runs')} interleaved runs (medians), {data.get('threads') or 'default'} threads, "
        f"{data.get('cpu_count')} CPUs, load average {_s(data.get('load_before'))} before / "
        f"{_s(data.get('load_after'))} after.",
        f"GEMM {GEMM_N_LABEL}: onnxruntime {_s(data.get('gemm_gflops'), 0)} GFLOP/s, torch "
        f"{_s(data.get('gemm_gflops_torch'), 0)} GFLOP/s; vision encoder {_s(data.get('vision_gflop'), 0)} GFLOP, "
        f"fp32 at {_s(data.get('vision_gflops_fp32'), 0)} GFLOP/s.",
        f"fp32 tokens equal transformers': {data.get('tokens_match_fp32')}.",
    ]
    providers = ", ".join(f"{v.short} {data[f'provider_{v.short}']}" for v in variants
                          if data.get(f"provider_{v.short}"))
    if providers:
        card = f" on {data['gpu']}" if data.get("gpu") and "CUDA" in providers else ""
        notes.append(f"ONNX Runtime providers: {providers}{card}; transformers on the CPU.")
    if data.get("torch_alone_s") is not None:
        ratios = ", ".join(f"{v.short} {data[f'ratio_alone_{v.short}']:.2f}" for v in variants
                           if f"ratio_alone_{v.short}" in data)
        notes.append(f"transformers alone in a fresh process: {data['torch_alone_s']:.2f} s "
                     f"(× that: {ratios}).")
    if data.get("app_start_s") is not None:
        notes.append(f"App start (process → window shown, offscreen): {data['app_start_s']:.2f} s.")
    elif data.get("app_start_error"):
        notes.append(f"App start not measured: {data['app_start_error']}.")
    if data.get("describe_cold_s") is not None:
        notes.append(f"`lumen describe` ({data.get('describe_dtype')}, whole process): cold "
                     f"{data['describe_cold_s']:.2f} s (load {data['describe_cold_load_s']:.2f} s), warm "
                     f"{data['describe_warm_s']:.2f} s (load {data['describe_warm_load_s']:.2f} s).")
    return "\n".join(rows + notes)

