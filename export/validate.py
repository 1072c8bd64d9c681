"""Every export is checked: torch and ONNX Runtime on the same (new) inputs."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from models.errors import ExportError


@dataclass(frozen=True)
class OutputDiff:
    part: str
    output: str
    max_abs_diff: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.tolerance


def compare_part(part: str, path: Path, torch_out: dict[str, np.ndarray], feeds: dict[str, np.ndarray],
                 tolerance: float) -> list[OutputDiff]:
    """Run the ONNX file on `feeds` and diff every output that torch also produced."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    wanted = {i.name for i in session.get_inputs()}
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(None, {k: v for k, v in feeds.items() if k in wanted})))
    diffs = []
    for name, expected in torch_out.items():
        actual = got[name].astype(np.float32)
        if actual.shape != expected.shape:
            raise ExportError(f"{part}: output {name} has shape {actual.shape}, torch gave {expected.shape}")
        diffs.append(OutputDiff(part, name, float(np.abs(actual - expected).max(initial=0.0)), tolerance))
    return diffs


def check(diffs: list[OutputDiff], log: Callable[[str], Any] = print) -> None:
    worst: dict[str, OutputDiff] = {}
    for d in diffs:
        if d.part not in worst or d.max_abs_diff > worst[d.part].max_abs_diff:
            worst[d.part] = d
        log(f"  {d.part:<28} {d.output:<32} max abs diff {d.max_abs_diff:.2e}"
            f" ({'ok' if d.ok else 'OVER ' + format(d.tolerance, '.0e')})")
    bad = [d for d in diffs if not d.ok]
    if bad:
        b = max(bad, key=lambda d: d.max_abs_diff / d.tolerance)
        raise ExportError(
            f"validation failed: {b.part} output {b.output} differs from PyTorch by {b.max_abs_diff:.2e} "
            f"(tolerance {b.tolerance:.0e}); the export is not usable"
        )
