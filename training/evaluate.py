"""`lumen evaluate`: describe a folder's pictures (all, or the share `lumen train` holds out) with each model (our ONNX engine, as users run it)
and score the captions; or score captions made elsewhere (`--predictions`). No torch needed."""
from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from training.data import DatasetError, Pair, load_dataset
from training.metrics import caption_scores, clip_score


@dataclass
class ModelScores:
    name: str
    path: str  # the model folder, or the predictions file
    metrics: dict[str, float]
    captions: dict[str, str]  # picture (relative to DIR) -> caption
    confidence: float | None = None  # mean over pictures
    seconds_per_picture: float | None = None
    clip_score: float | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self, with_captions: bool = False) -> dict[str, Any]:
        out = {"name": self.name, "path": self.path, "metrics": self.metrics,
               "confidence": self.confidence, "seconds_per_picture": self.seconds_per_picture,
               "clip_score": self.clip_score}
        if with_captions:
            out["captions"] = self.captions
        return out


ALL, HELD_OUT = "all", "held-out"  # which set was scored (text and JSON output)


def scored_set(val_split: float | None) -> str:
    return ALL if val_split is None else HELD_OUT


def pictures_to_score(data: Path, val_split: float | None) -> tuple[list[Pair], Path]:
    """Every picture of DIR (a folder of test pictures is scored whole), or with `val_split` the
    share `lumen train --val-split` held out of it (same seed; validation/ in a split layout)."""
    split = load_dataset(data, 0.1 if val_split is None else val_split)
    pairs = split.train + split.validation if val_split is None else split.validation
    if not pairs:
        raise DatasetError(f"no held-out pictures in {data}; leave out --held-out to score them all.")
    return pairs, Path(data)


def key_of(pair: Pair, data: Path) -> str:
    try:
        return pair.image.relative_to(Path(data).resolve()).as_posix()
    except ValueError:
        return pair.image.name


def resolve_model(model: str) -> Path:
    from models.errors import ModelFolderError
    from models.registry import Registry

    path = Path(model).expanduser()
    if path.is_dir():
        return path
    registry = Registry()
    if registry.exists(model):
        return registry.path_of(model)
    raise ModelFolderError(f"{model} is neither a model folder nor an installed model; see `lumen models list`.")


def describe_all(folder: Path, pairs: list[Pair], data: Path, device: str,
                 log: Callable[[str], Any]) -> tuple[dict[str, str], float, float, str]:
    from models.captioner import Captioner

    captioner = Captioner.load(folder, device=device)
    captions, confidences, seconds = {}, [], 0.0
    for n, pair in enumerate(pairs, 1):
        t = time.perf_counter()
        result = captioner.describe(pair.image)
        seconds += time.perf_counter() - t
        captions[key_of(pair, data)] = result.caption
        confidences.append(result.confidence)
        if n % 25 == 0:
            log(f"  {captioner.name}: {n}/{len(pairs)} pictures")
    return captions, sum(confidences) / len(confidences), seconds / len(pairs), captioner.name


def read_predictions(path: Path) -> dict[str, str]:
    """JSONL ({"file_name" or "image", "text" or "caption"}) or CSV (image,caption)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as e:
        raise DatasetError(f"cannot read {path} ({e.strerror or e}).") from e
    out: dict[str, str] = {}
    if Path(path).suffix.lower() == ".csv":
        rows = csv.DictReader(text.splitlines())
        rows.fieldnames = [h.strip().lower() for h in rows.fieldnames or []]
        for row in rows:
            out[str(row.get("image", ""))] = str(row.get("caption", ""))
    else:
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    row = json.loads(line)
                    out[str(row.get("file_name", row.get("image")))] = str(row.get("text", row.get("caption")))
                except (ValueError, AttributeError):
                    raise DatasetError(f"{path} line {n} is not a JSON object with file_name and text.") from None
    if not out:
        raise DatasetError(f"{path} holds no predictions (JSONL with file_name and text, or CSV image,caption).")
    return out


def clip_scores(pairs: list[Pair], data: Path, results: list[ModelScores],
                log: Callable[[str], Any]) -> None:
    """CLIPScore of every model's captions, when a CLIP model is installed."""
    from models.clip import Clip, installed_clip
    from models.image_io import load_image

    folder = installed_clip()
    if folder is None:
        for r in results:
            r.notes.append("CLIPScore: no CLIP model installed")
        return
    clip = Clip.load(folder, device="cpu")
    log(f"CLIPScore with {clip.name}")
    images = {key_of(p, data): clip.image_embeds(load_image(p.image))[0] for p in pairs}
    for r in results:
        keys = [k for k in images if k in r.captions]
        texts = clip.text_embeds([r.captions[k] for k in keys])
        r.clip_score = clip_score([float(images[k] @ t) for k, t in zip(keys, texts)])


def evaluate(models: list[str], data: Path, *, predictions: Path | None = None, val_split: float | None = None,
             device: str = "auto", log: Callable[[str], Any] = print) -> tuple[list[ModelScores], list[Pair], dict[str, list[str]]]:
    """Score on every picture of `data`, or (with `val_split`) on the share training holds out."""
    rows, data = pictures_to_score(data, val_split)
    references: dict[str, list[str]] = {}
    pairs: list[Pair] = []  # one per picture; a picture may have several reference captions
    for p in rows:
        if key_of(p, data) not in references:
            pairs.append(p)
        references.setdefault(key_of(p, data), []).append(p.text)
    results: list[ModelScores] = []
    for model in models:
        folder = resolve_model(model)
        log(f"describing {len(pairs)} pictures with {folder}")
        captions, confidence, seconds, name = describe_all(folder, pairs, data, device, log)
        results.append(ModelScores(name, str(folder), caption_scores(references, captions), captions,
                                   confidence, seconds))
    if predictions is not None:
        made = read_predictions(predictions)
        missing = [k for k in references if k not in made]
        if len(missing) == len(references):
            raise DatasetError(f"{predictions} names none of the {len(references)} pictures scored "
                               f"(e.g. {next(iter(references))}).")
        scores = ModelScores(Path(predictions).name, str(predictions),
                             caption_scores(references, made), {k: made[k] for k in references if k in made})
        if missing:
            scores.notes.append(f"{len(missing)} pictures have no prediction and were not scored")
        results.append(scores)
    clip_scores(pairs, data, results, log)
    return results, pairs, references


def remember(results: list[ModelScores], pairs: int, data: Path, scored: str = ALL) -> None:
    """Each evaluated model folder keeps its latest result (the window's model list shows it)."""
    from services.model_notes import save_evaluation

    date = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for r in results:
        if Path(r.path).is_dir():
            save_evaluation(Path(r.path), {"date": date, "data": str(Path(data).resolve()),
                                           "pictures": pairs, "set": scored, **r.to_json()})
