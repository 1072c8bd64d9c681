"""The static-int8 measurement (export/benchmark/static_int8.py) on the tiny Florence-2: the
three static variants are calibrated, run, and compared with fp32 next to the shipped variants."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.require import require

require("torch")


def test_static_variants_are_calibrated_timed_and_compared_with_fp32(tiny_florence2_onnx: Path) -> None:
    from export.benchmark.static_int8 import compare

    logged: list[str] = []
    variants = compare(tiny_florence2_onnx, calibration=2, runs=1, threads=1, log=logged.append)
    assert [v.name for v in variants] == ["fp32", "int8, dynamic (shipped)", "int8, static, per channel, reduce_range",
                                          "int8, static, per channel", "int8, static, per tensor"]
    assert variants[0].cosine == 1.0
    for v in variants[1:]:  # quantized: close to fp32, never equal (the tiny model's outputs are not constant)
        assert 0.8 < v.cosine < 1.0, v
        assert v.seconds > 0 and v.megabytes > 0
    assert len(logged) == 3


def test_calibrates_on_the_users_own_pictures_and_passes_over_other_files(tiny_florence2_onnx: Path, tmp_path: Path) -> None:
    from export.benchmark.static_int8 import compare, generated_pictures, user_pictures

    own = tmp_path / "own"
    own.mkdir()
    (own / "a notes.txt").write_text("not a picture")
    for i, picture in enumerate(generated_pictures(3)):
        picture.save(own / f"b{i}.png")
    assert [p.size for p in user_pictures(own, 2)] == [p.size for p in generated_pictures(2)]
    variants = compare(tiny_florence2_onnx, calibration=2, runs=1, threads=1, log=lambda _: None, calibrate_from=own)
    assert len(variants) == 5 and all(0.8 < v.cosine <= 1.0 for v in variants)


def test_a_folder_without_a_vision_encoder_is_one_line_and_its_exit_status(tmp_path: Path) -> None:
    import subprocess
    import sys

    from models.exit_status import ExitStatus

    (tmp_path / "onnx").mkdir()
    done = subprocess.run([sys.executable, "-m", "export.benchmark.static_int8", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == ExitStatus.NO_MODEL, done.stderr
    assert done.stderr.count("\n") == 1 and "vision encoder" in done.stderr and "Traceback" not in done.stderr


def test_a_calibration_folder_without_pictures_says_so(tmp_path: Path) -> None:
    from export.benchmark.static_int8 import user_pictures
    from models.errors import ImageError

    (tmp_path / "notes.txt").write_text("not a picture")
    with pytest.raises(ImageError, match="no picture"):
        user_pictures(tmp_path, 2)
