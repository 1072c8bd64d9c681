"""The processor a benchmark names: model and vector features from /proc/cpuinfo's flags."""
from __future__ import annotations

from pathlib import Path

import pytest

from export.benchmark import machine

# One processor's lines as Linux prints them (the flags shortened to the ones that matter here).
ZEN4 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9R14
flags\t\t: fpu sse sse2 avx fma avx2 avx512f avx512bw avx512_bf16 avx512_vnni
processor\t: 1
model name\t: AMD EPYC 9R14
flags\t\t: fpu sse sse2
"""
SAPPHIRE = "model name\t: Intel Xeon\nflags\t\t: avx2 fma avx512f avx512_vnni avx_vnni amx_bf16 amx_tile amx_int8\n"
OLD = "model name\t: AMD EPYC\nflags\t\t: sse4_2 avx fma avx2 bmi2\n"


def _processor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> machine.Processor:
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    monkeypatch.setattr(machine, "CPUINFO", path)
    return machine.processor()


def test_features_from_cpuinfo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    zen4 = _processor(tmp_path, monkeypatch, ZEN4)
    assert zen4.model == "AMD EPYC 9R14"  # the first processor's lines only
    assert zen4.features == ("AVX2", "FMA", "AVX-512", "AVX-512 VNNI", "AVX-512 BF16") and zen4.vnni
    assert zen4.describe().endswith("AVX-512 BF16; no AMX")
    xeon = _processor(tmp_path, monkeypatch, SAPPHIRE)
    assert "AMX int8" in xeon.features and "AVX-VNNI" in xeon.features and "; no" not in xeon.describe()
    old = _processor(tmp_path, monkeypatch, OLD)
    assert old.features == ("AVX2", "FMA") and not old.vnni
    assert old.as_json() == {"cpu": "AMD EPYC", "cpu_features": ["AVX2", "FMA"], "cpu_vnni": False}
    assert old.describe().endswith("AVX2, FMA; no AVX-512, no VNNI, no AMX")


def test_without_cpuinfo_numpy_probes_the_processor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine, "CPUINFO", tmp_path / "absent")
    from numpy._core._multiarray_umath import __cpu_features__

    found = machine.processor()
    assert ("AVX2" in found.features) == bool(__cpu_features__.get("AVX2"))
    assert ("AVX-512 VNNI" in found.features) == bool(__cpu_features__.get("AVX512VNNI"))


def test_this_machine_agrees_with_numpy() -> None:
    """/proc/cpuinfo and numpy's cpuid probe name the same AVX2 / AVX-512 / VNNI here."""
    if not machine.CPUINFO.is_file():
        pytest.fail("this test runs on Linux, where /proc/cpuinfo exists")
    ours = set(machine.processor().features) & set(machine.NUMPY.values())
    assert ours == machine._numpy_features()
