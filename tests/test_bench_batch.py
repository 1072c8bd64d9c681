"""`lumen bench --batch` on the tiny model: every row gives each picture the tokens of Lumen one
at a time and of transformers' batched `generate` (fp32); the speed figures are the bench's."""
from __future__ import annotations

from pathlib import Path


def test_batched_rows_keep_the_tokens(tiny_florence2_onnx: Path, tiny_florence2_hf: Path) -> None:
    from export.benchmark.batch import BatchBenchOptions, run_batch_bench

    table, data = run_batch_bench(BatchBenchOptions(tiny_florence2_onnx, tiny_florence2_hf, "fp32", (2,),
                                                    tokens=6, threads=2, workers=2), log=lambda _: None)
    engines = [(row["engine"], row["batch"]) for row in data["rows"]]
    assert engines == [("lumen fp32, one at a time", 2), ("lumen fp32, vision x2", 2),
                       ("lumen fp32, 2 workers x 1 thread(s)", 2), ("transformers fp32 generate", 2)]
    for row in data["rows"]:
        assert row["same_as_single"], row
        assert row["same_as_transformers"] in (True, None), row
    assert sum(row["same_as_transformers"] is True for row in data["rows"]) == 3  # every Lumen row against transformers' batch of 2
    assert "pictures/s" in table
