"""PP-OCR text detection: a DB (Differentiable Binarization) probability map, then boxes.

Pre- and post-processing follow PaddleOCR's DBPostProcess as rapidocr-onnxruntime 1.4.4 ships it
(same thresholds, same minimum-area rectangles, same unclip), so our boxes match the reference
pipeline's; tests/test_ocr_reader.py compares the two on rendered pages. OpenCV (headless) does
the contour work: no other well-kept library finds contours and minimum-area rectangles.
"""
from __future__ import annotations

from dataclasses import dataclass

from models.ocr.cv import cv2
import numpy as np
import pyclipper

from models.session import run

# rapidocr 1.4.4 config.yaml (Det).
LIMIT_SIDE = 736  # the shorter side is brought up to this (limit_type "min")
MAX_SIDE = 2000  # rapidocr's Global.max_side_len: the glance stays within it (reading: reader.READ_PIXELS)
# Bringing the shorter side up to LIMIT_SIDE made a 3000 x 200 banner an 11,040 px wide input
# (a 1.6 GB peak) and would make a 2000 x 25 strip 58,880 px long. A picture is brought up no
# further than one run of PIXELS_PER_RUN (tiles' margins are too narrow for text made large;
# scikit-image's photographed page lost half its text that way) and this long.
MAX_UPSCALED_SIDE = 4096
THRESH = 0.3
BOX_THRESH = 0.5
MAX_CANDIDATES = 1000
UNCLIP_RATIO = 1.6
MIN_SIZE = 3

# The detector's activations grow with its input: +200 MB for a 1280 x 800 screen, +350-420 MB
# for 1920 x 1080 and +575 MB for a 1500 x 2000 page (2 threads, 2-core AMD EPYC). A larger
# input is run in tiles of at most this many pixels, each with TILE_MARGIN pixels of the picture
# around it for context, and their maps are put together before the boxes are found. The maps
# are not equal to the bit (the network's squeeze-and-excitation blocks average over their whole
# input) but the text read is as good: rendered 1920 x 1080 to 2560 x 1440 screens and a
# 1500 x 2000 page, character error 0.05-1.5% either way, no slower (README, Reading text).
PIXELS_PER_RUN = 1280 * 832
TILE_MARGIN = 64  # a multiple of 32, the network's stride, so tiles keep the picture's grid
STRIDE = 32


@dataclass(frozen=True)
class Detection:
    boxes: np.ndarray  # (n, 4, 2) float32 corners tl, tr, br, bl in picture pixels
    scores: list[float]
    probability: np.ndarray  # the DB map, at the network's input size


def normalised(bgr: np.ndarray) -> np.ndarray:
    """BGR pixels as the network's float input (1, 3, H, W), values in [-1, 1]."""
    x = (bgr.astype(np.float32) / 255.0 - 0.5) / 0.5
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def resized(bgr: np.ndarray, limit_side: int = LIMIT_SIDE) -> np.ndarray:
    """The picture at the network's input size (sides multiples of 32), still BGR bytes."""
    h, w = bgr.shape[:2]
    wanted = limit_side / min(h, w) if min(h, w) < limit_side else 1.0
    ratio = min(wanted, max(1.0, min((PIXELS_PER_RUN / (h * w)) ** 0.5, MAX_UPSCALED_SIDE / max(h, w))))
    if ratio < wanted:  # rounded down, so that the input stays one run
        resize_h, resize_w = (max(32, int(side * ratio) // 32 * 32) for side in (h, w))
    else:  # rapidocr's rounding
        resize_h = max(32, int(round(int(h * ratio) / 32) * 32))
        resize_w = max(32, int(round(int(w * ratio) / 32) * 32))
    return cv2.resize(bgr, (resize_w, resize_h))


def _mini_box(contour: np.ndarray) -> tuple[np.ndarray, float]:
    rect = cv2.minAreaRect(contour)
    points = sorted(list(cv2.boxPoints(rect)), key=lambda p: p[0])
    i1, i4 = (0, 1) if points[1][1] > points[0][1] else (1, 0)
    i2, i3 = (2, 3) if points[3][1] > points[2][1] else (3, 2)
    return np.array([points[i1], points[i2], points[i3], points[i4]]), min(rect[1])


def _box_score(prob: np.ndarray, box: np.ndarray) -> float:
    h, w = prob.shape
    xmin = int(np.clip(np.floor(box[:, 0].min()), 0, w - 1))
    xmax = int(np.clip(np.ceil(box[:, 0].max()), 0, w - 1))
    ymin = int(np.clip(np.floor(box[:, 1].min()), 0, h - 1))
    ymax = int(np.clip(np.ceil(box[:, 1].max()), 0, h - 1))
    mask = np.zeros((ymax - ymin + 1, xmax - xmin + 1), dtype=np.uint8)
    shifted = box - np.array([xmin, ymin], dtype=box.dtype)
    cv2.fillPoly(mask, shifted.reshape(1, -1, 2).astype(np.int32), 1)
    return float(cv2.mean(prob[ymin:ymax + 1, xmin:xmax + 1], mask)[0])


def _unclip(box: np.ndarray) -> np.ndarray:
    contour = box.astype(np.float32).reshape(-1, 1, 2)
    distance = cv2.contourArea(contour) * UNCLIP_RATIO / cv2.arcLength(contour, True)
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(box.tolist(), pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    return np.array(offset.Execute(distance)).reshape(-1, 1, 2)


def _order_clockwise(pts: np.ndarray) -> np.ndarray:
    by_x = pts[np.argsort(pts[:, 0]), :]
    left, right = by_x[:2], by_x[2:]
    tl, bl = left[np.argsort(left[:, 1]), :]
    tr, br = right[np.argsort(right[:, 1]), :]
    return np.array([tl, tr, br, bl], dtype=np.float32)


def boxes_from_map(prob: np.ndarray, width: int, height: int) -> tuple[np.ndarray, list[float]]:
    """DBPostProcess: threshold, dilate, contours, score, unclip; boxes in picture pixels."""
    map_h, map_w = prob.shape
    bitmap = cv2.dilate((prob > THRESH).astype(np.uint8), np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(bitmap * 255, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes, scores = [], []
    for contour in contours[:MAX_CANDIDATES]:
        points, side = _mini_box(contour)
        if side < MIN_SIZE:
            continue
        score = _box_score(prob, points.reshape(-1, 2))
        if score < BOX_THRESH:
            continue
        expanded = _unclip(points)
        if len(expanded) == 0:
            continue
        box, side = _mini_box(expanded)
        if side < MIN_SIZE + 2:
            continue
        box[:, 0] = np.clip(np.round(box[:, 0] / map_w * width), 0, width)
        box[:, 1] = np.clip(np.round(box[:, 1] / map_h * height), 0, height)
        box = _order_clockwise(box.astype(np.int32).astype(np.float32))
        box[:, 0] = np.clip(box[:, 0], 0, width - 1).astype(np.int32)
        box[:, 1] = np.clip(box[:, 1], 0, height - 1).astype(np.int32)
        if int(np.linalg.norm(box[0] - box[1])) <= 3 or int(np.linalg.norm(box[0] - box[3])) <= 3:
            continue
        boxes.append(box)
        scores.append(score)
    if not boxes:
        return np.zeros((0, 4, 2), np.float32), []
    return np.stack(boxes).astype(np.float32), scores


def spans(length: int, core: int) -> list[tuple[int, int]]:
    """`length` cut into equal runs of at most `core` (a multiple of STRIDE; the last is shorter)."""
    count = -(-length // core)
    step = -(-length // count // STRIDE) * STRIDE
    return [(start, min(length, start + step)) for start in range(0, length, step)]


def tiles(height: int, width: int, pixels: int = PIXELS_PER_RUN) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(rows, columns) of each tile's own part: bands of whole rows, so that a line of text is
    never cut across (cut lengthwise, its two halves' maps join); one tile when the whole input
    fits `pixels`. A band is at least 4 strides high (resized() keeps the input within
    MAX_UPSCALED_SIDE, so such a band fits `pixels`)."""
    if height * width <= pixels:
        return [((0, height), (0, width))]
    rows = max(4 * STRIDE, pixels // width // STRIDE * STRIDE - 2 * TILE_MARGIN)
    return [(band, (0, width)) for band in spans(height, rows)]


def probability_map(session: object, pixels: np.ndarray) -> np.ndarray:
    """The DB map of `pixels` (BGR at the network's input size, resized()), in tiles when it
    is large (PIXELS_PER_RUN); each tile is made the network's float input on its own, so a
    4K screen's 100 MB float copy is never held whole."""
    name = session.get_inputs()[0].name  # type: ignore[attr-defined]
    height, width = pixels.shape[:2]
    parts = tiles(height, width)
    if len(parts) == 1:
        return run(session, {name: normalised(pixels)})[0][0, 0]
    prob = np.empty((height, width), np.float32)
    for (top, bottom), (left, right) in parts:
        y0, y1 = max(0, top - TILE_MARGIN), min(height, bottom + TILE_MARGIN)
        x0, x1 = max(0, left - TILE_MARGIN), min(width, right + TILE_MARGIN)
        part = run(session, {name: normalised(pixels[y0:y1, x0:x1])})[0][0, 0]
        prob[top:bottom, left:right] = part[top - y0:bottom - y0, left - x0:right - x0]
    return prob


def detect(session: object, bgr: np.ndarray, limit_side: int = LIMIT_SIDE) -> Detection:
    """Boxes in `bgr`'s pixels; a shorter side under `limit_side` is brought up to it first."""
    h, w = bgr.shape[:2]
    prob = probability_map(session, resized(bgr, limit_side))
    boxes, scores = boxes_from_map(prob, w, h)
    return Detection(boxes, scores, prob)
