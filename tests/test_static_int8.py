"""The static-int8 measurement (export/benchmark/static_int8.py) on the tiny Florence-2: both
static variants are calibrated, run, and compared with fp32 next to the shipped variants."""
from __future__ import annotations

from pathlib import Path

from tests.support.require import require

require("torch")


def test_static_variants_are_calibrated_timed_and_compared_with_fp32(tiny_florence2_onnx: Path) -> None:
    from export.benchmark.static_int8 import compare

    logged: list[str] = []
    variants = compare(tiny_florence2_onnx, calibration=2, runs=1, threads=1, log=logged.append)
    assert [v.name for v in variants] == ["fp32", "int8, dynamic (shipped)", "int8, static, per channel, reduce_range",
                                          "int8, static, per tensor"]
    assert variants[0].cosine == 1.0
    for v in variants[1:]:  # quantized: close to fp32, never equal (the tiny model's outputs are not constant)
        assert 0.8 < v.cosine < 1.0, v
        assert v.seconds > 0 and v.megabytes > 0
    assert len(logged) == 2
