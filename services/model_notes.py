"""Where a model came from and how it last scored: small JSON files in its folder.

    origin.json        written by `lumen train` / `lumen distill` before the manifest, so it is
                       covered by lumen.json's checksums: {"origin": "trained"|"distilled", "base",
                       "data", "created", ...}. A folder without it was installed.
    .evaluation.json   the last `lumen evaluate` result for this model. Hidden, so it stays out of
                       the manifest and re-evaluating never makes a verified folder look damaged.
No Qt, no torch: the window's model list and the CLI read these.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from models.fsutil import write_atomic

ORIGIN_FILE = "origin.json"
EVALUATION_FILE = ".evaluation.json"
ORIGIN_LABELS = {"trained": "trained here", "distilled": "distilled here"}


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def origin(folder: Path) -> dict[str, Any] | None:
    return _read(Path(folder) / ORIGIN_FILE)


def origin_label(folder: Path) -> str:
    """"installed", "trained here" or "distilled here"."""
    data = origin(folder) or {}
    return ORIGIN_LABELS.get(str(data.get("origin")), "installed")


def last_evaluation(folder: Path) -> dict[str, Any] | None:
    return _read(Path(folder) / EVALUATION_FILE)


def save_evaluation(folder: Path, result: dict[str, Any]) -> bool:
    """Keep `result` as the folder's last evaluation; False when the folder is read-only."""
    path = Path(folder) / EVALUATION_FILE
    try:
        write_atomic(path, json.dumps(result, indent=2))
    except OSError:
        return False
    return True


def evaluation_summary(result: dict[str, Any] | None) -> str:
    """One line for the model list: "BLEU-4 0.62, CIDEr 3.10, WER 12% on 80 pictures (2026-11-27)"."""
    if not result:
        return "not evaluated"
    m = result.get("metrics") or {}
    parts = []
    if "BLEU-4" in m:
        parts.append(f"BLEU-4 {m['BLEU-4']:.2f}")
    if "CIDEr" in m:
        parts.append(f"CIDEr {m['CIDEr']:.2f}")
    if "WER" in m:
        parts.append(f"WER {m['WER'] * 100:.0f}%")
    when = str(result.get("date", ""))[:10]
    return (f"{', '.join(parts) or 'no scores'} on {result.get('pictures', '?')} pictures"
            + (f" ({when})" if when else ""))


def model_history(folder: Path) -> str:
    """"trained here, last evaluation: BLEU-4 0.62, ... on 80 pictures (2026-11-27)"."""
    return f"{origin_label(folder)}, last evaluation: {evaluation_summary(last_evaluation(folder))}"
