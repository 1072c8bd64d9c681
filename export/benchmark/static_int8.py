"""Static int8 for a vision encoder, measured against the variants Lumen ships (issue 23: "measure
and keep what pays" on processors without VNNI).

    python -m export.benchmark.static_int8 FOLDER [--calibrate-from DIR] [--pictures 6] [--runs 3] [--threads 2]

FOLDER is a Lumen export holding `onnx/<vision part>.onnx` and its `_int8` variant (for example
the random-weight Florence-2-base that `lumen bench` builds). Two static variants are calibrated
on pictures (ONNX Runtime's `quantize_static`, MinMax, QDQ, uint8 activations, int8
weights): per channel with `reduce_range`, as ONNX Runtime advises without VNNI, and per tensor.
The calibration pictures are the user's own (`--calibrate-from`, any pictures Lumen opens) or,
without them, a generated mix of what Lumen is shown: photo-like shapes, a light page of text, a
dark window and a nearly flat screen. Each variant is then timed in this process on pictures it was not calibrated on, with the
window's session settings, and its output compared with fp32's. Not part of the app: static int8
measured slower and less exact than the dynamic int8 Lumen ships without VNNI, and with VNNI
faster here but not in the app (README, Speed).
"""
from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from export.benchmark.inputs import bench_image
from export.benchmark.machine import processor
from export.benchmark.quality import cosine
from models.errors import ImageError, LumenError, ModelFolderError
from models.folder import ModelFolder
from models.image_io import load_image
from models.preprocess import ImagePreprocessor
from models.session import SessionConfig, create_session, run
from services.batch.sources import list_pictures

VISION_PARTS = ("vision_encoder", "vision_model")
# (name, per channel, reduce_range): ONNX Runtime advises reduce_range without VNNI, where the
# u8s8 products can saturate, and the full 8 bits with it.
STATIC_VARIANTS = (("int8, static, per channel, reduce_range", True, True),
                   ("int8, static, per channel", True, False),
                   ("int8, static, per tensor", False, False))


@dataclass(frozen=True)
class Variant:
    name: str
    seconds: float  # median of the timed runs
    cosine: float  # output against fp32's, worst picture
    megabytes: float  # the file


def generated_pictures(count: int, seed: int = 100) -> list[Image.Image]:
    """A mix of what Lumen is shown, so activation ranges are not learnt from one kind only."""
    makers = (_photo_like, _text_page, _dark_window, _flat_screen)
    return [makers[i % len(makers)](seed + i) for i in range(count)]


def _photo_like(seed: int) -> Image.Image:
    return bench_image(seed=seed)


def _text_page(seed: int, background: int = 250, ink: int = 20) -> Image.Image:
    rng = np.random.default_rng(seed)
    page = Image.new("RGB", (1280, 800), (background,) * 3)
    draw = ImageDraw.Draw(page)
    for line in range(30):
        words = " ".join("".join(chr(97 + c) for c in rng.integers(0, 26, rng.integers(2, 9))) for _ in range(12))
        draw.text((40, 20 + line * 25), words, fill=(ink,) * 3)
    return page


def _dark_window(seed: int) -> Image.Image:
    page = _text_page(seed, background=30, ink=220)
    ImageDraw.Draw(page).rectangle((0, 0, 1280, 36), fill=(60, 90, 160))  # a title bar
    return page


def _flat_screen(seed: int) -> Image.Image:
    shade = int(np.random.default_rng(seed).integers(0, 256))
    noisy = np.full((768, 1024, 3), shade, np.float64) + np.random.default_rng(seed).normal(0, 2, (768, 1024, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def user_pictures(directory: Path, count: int) -> list[Image.Image]:
    """Up to `count` pictures from `directory`, found as `lumen batch` finds them (by content,
    hidden folders left out, sorted by name); documents and unreadable files are passed over."""
    pictures = []
    for found in list_pictures([str(directory)]).pictures:
        if found.document:
            continue
        try:
            pictures.append(load_image(found.image))
        except ImageError:
            continue
        if len(pictures) == count:
            break
    if not pictures:
        raise ImageError(f"{directory} holds no picture Lumen can open; give a folder of pictures to calibrate on.")
    return pictures


def _prepared(folder: Path, pictures: list[Image.Image]) -> list[np.ndarray]:
    preprocess = ImagePreprocessor.from_config(ModelFolder.open(folder).preprocessor_config)
    return [preprocess(picture) for picture in pictures]


def calibrate(fp32: Path, out: Path, pictures: list[np.ndarray], *, per_channel: bool, reduce_range: bool) -> Path:
    from onnxruntime.quantization import (
        CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static,
    )

    import onnx

    name = onnx.load(str(fp32), load_external_data=False).graph.input[0].name

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(pictures)

        def get_next(self) -> dict[str, np.ndarray] | None:
            item = next(self.items, None)
            return None if item is None else {name: item}

    quantize_static(str(fp32), str(out), Reader(), quant_format=QuantFormat.QDQ,
                    op_types_to_quantize=["MatMul", "Gemm", "Conv"], per_channel=per_channel,
                    reduce_range=reduce_range, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax)
    return out


def measure(path: Path, pictures: list[np.ndarray], reference: list[np.ndarray] | None, runs: int,
            threads: int) -> tuple[float, list[np.ndarray], float]:
    """(median seconds after one warm-up, outputs, worst cosine with `reference`)."""
    session = create_session(path, SessionConfig(threads=threads, spin=False))  # the window's
    name = session.get_inputs()[0].name
    outputs, times = [], []
    for i in range(runs + 1):
        picture = pictures[i % len(pictures)]
        start = time.perf_counter()
        out = run(session, {name: picture})[0]
        times.append(time.perf_counter() - start)
        if i < len(pictures):
            outputs.append(out)
    worst = 1.0 if reference is None else min(cosine(a, b) for a, b in zip(reference, outputs))
    return statistics.median(times[1:]), outputs, worst


def compare(folder: Path, calibration: int = 6, runs: int = 3, threads: int = 2, log=print,  # noqa: ANN001
            calibrate_from: Path | None = None) -> list[Variant]:
    """fp32, the shipped dynamic int8 and two static int8 variants; `log` is print-like."""
    onnx = folder / "onnx"
    part = next((p for p in VISION_PARTS if (onnx / f"{p}.onnx").is_file()), None)
    if part is None or not (onnx / f"{part}_int8.onnx").is_file():
        raise ModelFolderError(f"{folder} has no fp32 and int8 vision encoder (onnx/vision_encoder.onnx and "
                               "onnx/vision_encoder_int8.onnx); give a folder `lumen export` or `lumen bench` made.")
    fp32 = onnx / f"{part}.onnx"
    timed = _prepared(folder, [bench_image(seed=seed) for seed in range(1000, 1000 + min(runs, 3))])
    variants: list[Variant] = []
    seconds, reference, _ = measure(fp32, timed, None, runs, threads)
    variants.append(Variant("fp32", seconds, 1.0, fp32.stat().st_size / 2**20))
    shipped = onnx / f"{part}_int8.onnx"
    seconds, _, agreement = measure(shipped, timed, reference, runs, threads)
    variants.append(Variant("int8, dynamic (shipped)", seconds, agreement, shipped.stat().st_size / 2**20))
    with tempfile.TemporaryDirectory(prefix="lumen-static-int8-") as tmp:
        calibration_pictures = _prepared(folder, user_pictures(calibrate_from, calibration) if calibrate_from
                                         else generated_pictures(calibration))
        for name, per_channel, reduce_range in STATIC_VARIANTS:
            log(f"calibrating {name} on {calibration} pictures")
            path = calibrate(fp32, Path(tmp) / f"{part}_static.onnx", calibration_pictures,
                             per_channel=per_channel, reduce_range=reduce_range)
            seconds, _, agreement = measure(path, timed, reference, runs, threads)
            variants.append(Variant(name, seconds, agreement, path.stat().st_size / 2**20))
    return variants


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m export.benchmark.static_int8", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--calibrate-from", type=Path, help="a folder of your own pictures to calibrate on")
    parser.add_argument("--pictures", type=int, default=6, help="calibration pictures (default 6)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs after a warm-up (default 3)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    # quantize_static advises its pre-processing step (shape inference, optimisation) on the
    # root logger, twice a variant; that step is not tried here.
    logging.basicConfig(level=logging.ERROR)
    try:
        variants = compare(args.folder, args.pictures, args.runs, args.threads, calibrate_from=args.calibrate_from)
    except LumenError as exc:
        print(f"error: {exc}", file=sys.stderr)  # one line and the error's own exit status
        raise SystemExit(int(exc.exit_code)) from None
    print(f"{processor().describe()}; {args.threads} threads, median of {args.runs} runs after a warm-up")
    print("| vision encoder | s | output cosine with fp32 (worst picture) | file MB |\n|---|---:|---:|---:|")
    for v in variants:
        print(f"| {v.name} | {v.seconds:.2f} | {v.cosine:.4f} | {v.megabytes:.0f} |")


if __name__ == "__main__":
    main()
