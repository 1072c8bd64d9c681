"""Which processor a figure comes from: its model name and the vector features that decide
how fast the models run (AVX2, AVX-512, VNNI for int8 products, AMX).

Linux: /proc/cpuinfo's flags (they name VNNI and AMX); elsewhere numpy's own CPU dispatch
probe (cpuid), which knows AVX2, AVX-512 and AVX-512 VNNI.
"""
from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

# /proc/cpuinfo flag -> the name a report prints, in the order it prints them.
FLAGS = {"avx2": "AVX2", "fma": "FMA", "avx512f": "AVX-512", "avx512_vnni": "AVX-512 VNNI",
         "avx_vnni": "AVX-VNNI", "avx512_bf16": "AVX-512 BF16", "amx_int8": "AMX int8",
         "amx_bf16": "AMX BF16"}
# numpy's names for the same features (no AMX or AVX-VNNI among them).
NUMPY = {"AVX2": "AVX2", "FMA3": "FMA", "AVX512F": "AVX-512", "AVX512VNNI": "AVX-512 VNNI",
         "AVX512BF16": "AVX-512 BF16"}
CPUINFO = Path("/proc/cpuinfo")


@dataclass(frozen=True)
class Processor:
    model: str
    cores: int | None
    features: tuple[str, ...]  # names from FLAGS' values, in that order

    @property
    def vnni(self) -> bool:
        return any("VNNI" in f for f in self.features)

    def describe(self) -> str:
        """"AMD EPYC, 2 cores: AVX2, FMA; no AVX-512, no VNNI, no AMX"."""
        lacking = [name for name, present in (("AVX-512", "AVX-512" in self.features),
                                              ("VNNI", self.vnni),
                                              ("AMX", any("AMX" in f for f in self.features))) if not present]
        text = f"{self.model}, {self.cores} cores: {', '.join(self.features) or 'no AVX2'}"
        return text + (f"; no {', no '.join(lacking)}" if lacking else "")

    def as_json(self) -> dict[str, object]:
        return {"cpu": self.model, "cpu_features": list(self.features), "cpu_vnni": self.vnni}


def parse_cpuinfo(text: str) -> tuple[str | None, set[str]]:
    """(model name, flags) of the first processor in /proc/cpuinfo's text."""
    model, flags = None, set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model is None:
            model = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
    return model, flags


def _numpy_features() -> set[str]:
    try:
        from numpy._core._multiarray_umath import __cpu_features__  # type: ignore[attr-defined]
    except ImportError:
        return set()
    return {ours for theirs, ours in NUMPY.items() if __cpu_features__.get(theirs)}


def processor() -> Processor:
    """This machine's processor (never raises)."""
    model, found = None, set()
    try:
        model, flags = parse_cpuinfo(CPUINFO.read_text(errors="replace"))
        found = {name for flag, name in FLAGS.items() if flag in flags}
    except OSError:
        pass
    if not found:
        found = _numpy_features()
    features = tuple(name for name in FLAGS.values() if name in found)
    return Processor(model or platform.processor() or platform.machine() or "unknown processor",
                     os.cpu_count(), features)
