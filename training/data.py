"""Caption datasets on disk -> (picture, text) pairs with a held-out validation split.

Accepted layouts of DIR (no torch, no `datasets` needed):
  * imagefolder: pictures + metadata.jsonl with "file_name" and "text" (Lumen's training set);
  * pictures + one .csv file with an `image,caption` header;
  * train/ and validation/ (or val/) subfolders, each in one of the layouts above.
Without explicit subfolders a seeded random `val_split` of the pairs is held out, the same on
every run (so a resumed run and `lumen evaluate` see the same held-out pictures).
"""
from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from pathlib import Path

from models.errors import LumenError
from models.exit_status import ExitStatus

SEED = 0


class DatasetError(LumenError):
    exit_code = ExitStatus.USAGE


@dataclass(frozen=True)
class Pair:
    image: Path
    text: str


@dataclass(frozen=True)
class Split:
    train: list[Pair]
    validation: list[Pair]
    layout: str  # how DIR was read, for the report


def _from_jsonl(folder: Path) -> list[Pair]:
    pairs = []
    for n, line in enumerate((folder / "metadata.jsonl").read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            name, text = row["file_name"], row.get("text", row.get("caption"))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise DatasetError(f"{folder / 'metadata.jsonl'} line {n} is not a JSON object with "
                               "\"file_name\" and \"text\"; fix or remove that line.") from None
        pairs.append(_pair(folder, name, text, f"metadata.jsonl line {n}"))
    return pairs


def _from_csv(path: Path) -> list[Pair]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        fields = [h.strip().lower() for h in reader.fieldnames or []]
        if "image" not in fields or "caption" not in fields:
            raise DatasetError(f"{path} needs a header row with the columns image,caption "
                               f"(it has {', '.join(fields) or 'none'}).")
        reader.fieldnames = fields
        return [_pair(path.parent, row["image"], row["caption"], f"{path.name} row {n}")
                for n, row in enumerate(reader, 2)]


def _pair(folder: Path, name: object, text: object, where: str) -> Pair:
    if not isinstance(name, str) or not isinstance(text, str) or not text.strip():
        raise DatasetError(f"{folder}: {where} has no picture name or an empty text.")
    image = (folder / name).resolve()
    if folder.resolve() not in image.parents or not image.is_file():
        raise DatasetError(f"{folder}: {where} names {name!r}, which is not a file in that folder.")
    return Pair(image, " ".join(text.split()))


def read_pairs(folder: Path) -> tuple[list[Pair], str]:
    """Every (picture, text) of one folder in the imagefolder or CSV layout."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder} is not a folder; give a folder of pictures with metadata.jsonl "
                           "or a CSV file (image,caption).")
    if (folder / "metadata.jsonl").is_file():
        pairs, layout = _from_jsonl(folder), "metadata.jsonl"
    else:
        csvs = sorted(folder.glob("*.csv"))
        if len(csvs) != 1:
            raise DatasetError(
                f"{folder} has no metadata.jsonl and {'several' if csvs else 'no'} .csv files; "
                "give pictures with metadata.jsonl (file_name, text) or exactly one CSV (image,caption).")
        pairs, layout = _from_csv(csvs[0]), csvs[0].name
    if not pairs:
        raise DatasetError(f"{folder} lists no pictures.")
    return pairs, layout


def load_dataset(folder: Path, val_split: float = 0.1, seed: int = SEED) -> Split:
    """The training and validation pairs of `folder` (see the module docstring)."""
    folder = Path(folder)
    val_dir = next((folder / n for n in ("validation", "val") if (folder / n).is_dir()), None)
    if (folder / "train").is_dir() and val_dir is not None:
        train, layout = read_pairs(folder / "train")
        validation, _ = read_pairs(val_dir)
        return Split(train, validation, f"train/ + {val_dir.name}/ ({layout})")
    pairs, layout = read_pairs(folder)
    if not 0 <= val_split <= 1:
        raise DatasetError("--val-split must be between 0 and 1 (0.1 holds out a tenth, 1 all).")
    # Split by picture, not by row: a picture with several captions stays on one side.
    pictures = sorted({p.image for p in pairs})
    random.Random(seed).shuffle(pictures)
    n_val = round(len(pictures) * val_split)
    if val_split > 0 and len(pictures) >= 2:
        n_val = max(1, n_val)
    held = set(pictures[:n_val])
    return Split([p for p in pairs if p.image not in held], [p for p in pairs if p.image in held], layout)
