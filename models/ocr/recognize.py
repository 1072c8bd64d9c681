"""PP-OCR line reading: crop each detected box upright, turn upside-down lines (direction
classifier), recognise in batches of similar widths, CTC-decode with the model's own dictionary.

The dictionary is the `character` entry of the recognition file's metadata (as rapidocr reads
it); index 0 is CTC's blank and the last entry a space, as PaddleOCR's CTCLabelDecode adds them.
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from models.ocr.cv import cv2
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
MAX_COLUMNS = 640  # network columns per run (see _column_batches); longer lines are cut at word gaps
CUT_MARGIN = 0.4  # background added at a cut, in line heights (a detected box's own margin)


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


def _column_batches(crops: list[np.ndarray], height: int) -> list[list[int]]:
    """Crops of similar widths together, at most MAX_COLUMNS network columns a batch (padded).

    The recogniser's cost per column triples once a batch's activations outgrow the CPU's
    cache: a 2560-column line costs 290 us a column at 40 px, a 320-column piece 105 us;
    six 320-column crops in one batch 177 us (ONNX Runtime 1.32, one thread)."""
    widths = [max(REC_WIDTH / REC_HEIGHT, c.shape[1] / c.shape[0]) * height for c in crops]
    batches: list[list[int]] = []
    for i in np.argsort(widths):
        if batches and (len(batches[-1]) + 1) * widths[i] <= MAX_COLUMNS and len(batches[-1]) < BATCH:
            batches[-1].append(int(i))
        else:
            batches.append([int(i)])
    return batches


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
    if not gaps or not line.text or len(line.steps) != len(line.text):  # nothing read: nothing to space
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


def split_at_gaps(crop: np.ndarray, height: int) -> list[np.ndarray]:
    """A long line cut into pieces of about MAX_COLUMNS network columns at most, each cut in a
    word space (the pieces' texts are then joined with a space). At a cut, a piece keeps the
    word space (less the columns touching letters) widened with the background colour to the
    margin a detected line has: a letter right at the edge is often not read. A line with no word space where one is
    needed (a long word, Chinese text) is left whole there."""
    h, w = crop.shape[:2]
    limit = MAX_COLUMNS * h / height  # in crop pixels
    if w <= limit:
        return [crop]
    gaps = [(a, b) for a, b, _ in word_gaps(crop)]
    margin = max(1, round(CUT_MARGIN * h))
    pieces, start = [], 0  # start: the piece's first column
    while w - start > limit:
        fitting = [g for g in gaps if start < g[0] and g[1] <= start + limit]
        later = [g for g in gaps if start < g[0] and g[1] > start + limit]
        gap = fitting[-1] if fitting else (later[0] if later else None)
        if gap is None:
            break
        pieces.append(crop[:, start:max(gap[0] + 1, gap[1] - 1)])  # the edges of letters stay out
        start = min(gap[0] + 1, gap[1] - 1)
    pieces.append(crop[:, start:])
    border = np.concatenate([crop[0], crop[-1], crop[:, 0], crop[:, -1]])
    background = [float(v) for v in np.median(border, axis=0)]
    return [cv2.copyMakeBorder(piece, 0, 0, margin if i else 0, margin if i < len(pieces) - 1 else 0,
                               cv2.BORDER_CONSTANT, value=background) for i, piece in enumerate(pieces)]


def _read_height(crop: np.ndarray) -> int:
    # Screen text is small: read at 40 px instead of PP-OCR's 48 (the network takes any
    # height) a 15 px line is recognised 1.7x faster and keeps its word spaces better; at
    # 32 px thin serif letters were lost (11% CER). tests/test_ocr_reader.py measures it.
    return REC_HEIGHT if crop.shape[0] >= LARGE_TEXT else SMALL_TEXT_HEIGHT


def recognize(session: object, crops: list[np.ndarray], characters: list[str],
              workers: int = 1) -> list[tuple[str, float]]:
    """(text, mean probability) per crop, dropped spaces restored. Long lines are read in
    pieces cut at word spaces (see split_at_gaps); a line's score is its pieces' mean.

    `workers` > 1 runs that many batches at once (threads calling one session; each run on
    one core): the recogniser's small convolutions barely gain from a second intra-op thread
    (one screen: 9.2 s on one thread, 7.7 s on two), two batches side by side use both cores."""
    name = session.get_inputs()[0].name  # type: ignore[attr-defined]
    pieces, owner = [], []
    for i, crop in enumerate(crops):
        for piece in split_at_gaps(crop, _read_height(crop)):
            pieces.append(piece)
            owner.append(i)
    jobs: list[tuple[int, list[int]]] = []
    for height in sorted({_read_height(p) for p in pieces}):
        same = [k for k, p in enumerate(pieces) if _read_height(p) == height]
        jobs += [(height, [same[j] for j in batch]) for batch in _column_batches([pieces[k] for k in same], height)]

    def read_batch(job: tuple[int, list[int]]) -> list[tuple[int, tuple[str, float]]]:
        height, batch = job
        ratio = max([REC_WIDTH / REC_HEIGHT] + [pieces[k].shape[1] / pieces[k].shape[0] for k in batch])
        width = int(height * ratio)
        x = np.stack([_resize_pad(pieces[k], height, width) for k in batch])
        probs = run(session, {name: x})[0]
        px_per_step = width / probs.shape[1]  # network pixels per output step
        out = []
        for k, line in zip(batch, ctc_decode(probs, characters)):
            h, w = pieces[k].shape[:2]
            resized_w = min(width, int(math.ceil(height * w / float(h))))
            out.append((k, (restore_spaces(line, pieces[k], px_per_step * w / resized_w), line.score)))
        return out

    if workers > 1 and len(jobs) > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lumen-ocr") as pool:
            done = list(pool.map(read_batch, jobs))
    else:
        done = [read_batch(job) for job in jobs]
    read: list[tuple[str, float]] = [("", 0.0)] * len(pieces)
    for k, value in (item for batch in done for item in batch):
        read[k] = value
    results: list[tuple[str, float]] = []
    for i in range(len(crops)):
        parts = [read[k] for k in range(len(pieces)) if owner[k] == i]
        read_parts = [(t.strip(), sc) for t, sc in parts if t.strip()]
        results.append((" ".join(t for t, _ in read_parts),
                        float(np.mean([sc for _, sc in read_parts])) if read_parts else 0.0))
    return results
