"""PP-OCR line reading: crop each detected box upright, turn upside-down lines (direction
classifier), recognise in batches of similar widths, CTC-decode with the model's own dictionary.

The dictionary is the `character` entry of the recognition file's metadata (as rapidocr reads
it); index 0 is CTC's blank and the last entry a space, as PaddleOCR's CTCLabelDecode adds them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from models.errors import ModelFolderError
from models.session import run

REC_HEIGHT, REC_WIDTH = 48, 320  # rec_img_shape [3, 48, 320]
SMALL_TEXT_HEIGHT = 40  # lines whose crop is under LARGE_TEXT pixels high are read at this height
LARGE_TEXT = 40
CLS_HEIGHT, CLS_WIDTH = 48, 192  # cls_image_shape [3, 48, 192]
BATCH = 6  # rec_batch_num / cls_batch_num
CLS_THRESH = 0.9
TEXT_SCORE = 0.5  # lines read with less confidence are dropped (rapidocr's text_score)


def crop_line(bgr: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The box's pixels warped to an upright rectangle; tall crops are turned to lie flat."""
    width = int(max(np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[2] - box[3])))
    height = int(max(np.linalg.norm(box[0] - box[3]), np.linalg.norm(box[1] - box[2])))
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(box.astype(np.float32), target)
    crop = cv2.warpPerspective(bgr, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE,
                               flags=cv2.INTER_CUBIC)
    if crop.shape[0] * 1.0 / crop.shape[1] >= 1.5:
        crop = np.rot90(crop)
    return crop


def _resize_pad(crop: np.ndarray, height: int, width: int) -> np.ndarray:
    h, w = crop.shape[:2]
    resized_w = min(width, int(math.ceil(height * w / float(h))))
    resized = cv2.resize(crop, (resized_w, height)).astype(np.float32)
    resized = (resized.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
    out = np.zeros((3, height, width), dtype=np.float32)
    out[:, :, :resized_w] = resized
    return out


def _batches(crops: list[np.ndarray]) -> list[list[int]]:
    order = np.argsort([c.shape[1] / float(c.shape[0]) for c in crops])
    return [list(order[i:i + BATCH]) for i in range(0, len(order), BATCH)]


def turn_upside_down_lines(session: object, crops: list[np.ndarray]) -> list[np.ndarray]:
    """The direction classifier: lines it finds upside down (score > 0.9) are turned 180°."""
    crops = list(crops)
    name = session.get_inputs()[0].name  # type: ignore[attr-defined]
    for batch in _batches(crops):
        x = np.stack([_resize_pad(crops[i], CLS_HEIGHT, CLS_WIDTH) for i in batch])
        probs = run(session, {name: x})[0]
        for i, p in zip(batch, probs):
            if int(p.argmax()) == 1 and float(p[1]) > CLS_THRESH:  # labels ['0', '180']
                crops[i] = cv2.rotate(crops[i], cv2.ROTATE_180)
    return crops


def dictionary(session: object) -> list[str]:
    meta = session.get_modelmeta().custom_metadata_map  # type: ignore[attr-defined]
    if "character" not in meta:
        raise ModelFolderError("the text recognition model has no character dictionary; reinstall it")
    return ["blank", *meta["character"].splitlines(), " "]


NO_SPACE_BEFORE = set(":;,.!?)]}%_")
NO_SPACE_AFTER = set("([{@_")
LINKING = set("-/")


@dataclass(frozen=True)
class ReadLine:
    text: str
    score: float
    steps: tuple[int, ...]  # the output step at which each character of text was read


def ctc_decode(probs: np.ndarray, characters: list[str]) -> list[ReadLine]:
    """Greedy CTC: best class per step, repeats merged, blanks dropped; mean kept probability."""
    out = []
    for step_probs in probs:
        index = step_probs.argmax(axis=1)
        keep = np.ones(len(index), dtype=bool)
        keep[1:] = index[1:] != index[:-1]
        keep &= index != 0
        text = "".join(characters[i] for i in index[keep])
        kept = step_probs.max(axis=1)[keep]
        out.append(ReadLine(text, float(kept.mean()) if len(kept) else 0.0,
                            tuple(int(i) for i in np.nonzero(keep)[0])))
    return out


def word_gaps(crop: np.ndarray) -> list[tuple[int, int, float]]:
    """Runs of ink-free columns wide enough to be a space between words: (first column, end
    column, width in units of the least word-space width).

    A letter gap is a pixel or two; a word space is about a quarter of the text's height."""
    gray = crop.astype(np.float32).mean(axis=2)
    h = gray.shape[0]
    band = gray[int(h * 0.1):max(int(h * 0.9), int(h * 0.1) + 1)]
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    background = float(np.median(border))
    contrast = float(np.abs(band - background).max())
    if contrast < 20:
        return []
    empty = ~(np.abs(band - background) > 0.35 * contrast).any(axis=0)
    runs, start = [], None
    for x, is_empty in enumerate(np.append(empty, False)):
        if is_empty and start is None:
            start = x
        elif not is_empty and start is not None:
            if start > 0 and x < len(empty):  # not the margins
                runs.append((start, x))
            start = None
    if not runs:
        return []
    # Monospaced letters stand further apart than proportional ones: a word space is also
    # clearly wider than this line's typical gap between letters.
    typical = float(np.median([b - a for a, b in runs]))
    wide = max(2.0, 0.18 * h, 1.8 * typical)
    return [(a, b, (b - a) / wide) for a, b in runs if b - a >= wide]


def restore_spaces(line: ReadLine, crop: np.ndarray, crop_px_per_step: float) -> str:
    """Put back the spaces the recogniser dropped between words.

    PP-OCRv4's Chinese-English recogniser often runs English words together on small screen
    text ("thebottom,andone"); a space goes where a word-wide empty gap in the crop lies between
    two characters' read positions."""
    gaps = word_gaps(crop)
    if not gaps or len(line.steps) != len(line.text):
        return line.text
    out = [line.text[0]]
    for i in range(1, len(line.text)):
        previous, char = line.text[i - 1], line.text[i]
        if previous != " " and char != " " and char not in NO_SPACE_BEFORE and previous not in NO_SPACE_AFTER:
            # Monospaced "-", "_" and "/" have wide side bearings: they need a wider gap.
            least = 2.0 if previous in LINKING or char in LINKING else 1.0
            left = (line.steps[i - 1] + 0.5) * crop_px_per_step
            right = (line.steps[i] + 0.5) * crop_px_per_step
            if any(left < (a + b) / 2 < right and size >= least for a, b, size in gaps):
                out.append(" ")
        out.append(char)
    return "".join(out)


def recognize(session: object, crops: list[np.ndarray], characters: list[str]) -> list[tuple[str, float]]:
    """(text, mean probability) per crop, dropped spaces restored."""
    name = session.get_inputs()[0].name  # type: ignore[attr-defined]
    results: list[tuple[str, float]] = [("", 0.0)] * len(crops)
    for batch in _batches(crops):
        # Screen text is small: read at 40 px instead of PP-OCR's 48 (the network takes any
        # height) a 15 px line is recognised 1.7x faster and keeps its word spaces better; at
        # 32 px thin serif letters were lost (11% CER). tests/test_ocr_reader.py measures it.
        height = REC_HEIGHT if max(crops[i].shape[0] for i in batch) >= LARGE_TEXT else SMALL_TEXT_HEIGHT
        ratio = max([REC_WIDTH / REC_HEIGHT] + [crops[i].shape[1] / crops[i].shape[0] for i in batch])
        width = int(height * ratio)
        x = np.stack([_resize_pad(crops[i], height, width) for i in batch])
        probs = run(session, {name: x})[0]
        px_per_step = width / probs.shape[1]  # network pixels per output step
        for i, line in zip(batch, ctc_decode(probs, characters)):
            h, w = crops[i].shape[:2]
            resized_w = min(width, int(math.ceil(height * w / float(h))))
            results[i] = (restore_spaces(line, crops[i], px_per_step * w / resized_w), line.score)
    return results
