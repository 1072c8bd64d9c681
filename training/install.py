"""A trained checkpoint -> a validated ONNX model folder, installed under a name."""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from models.folder_check import check_folder
from models.manifest import package_versions, write_manifest
from models.registry import AlreadyInstalledError, InstalledModel, Registry, check_name
from services.model_notes import ORIGIN_FILE

EXPORT_VERSIONS = ("lumen", "torch", "transformers", "onnx", "onnxscript", "onnxruntime")


def check_free(name: str, registry: Registry) -> None:
    """Refuse a taken name before hours of training, not after."""
    check_name(name)
    if registry.exists(name):
        raise AlreadyInstalledError(name)


def default_name(base: str, suffix: str) -> str:
    stem = Path(str(base).rstrip("/\\")).name.replace("/", "-") or "model"
    return f"{stem}-{suffix}"


def check_run(base: str, data: Path, name: str | None, suffix: str, val_split: float) -> None:
    """The mistakes `lumen train` and `lumen distill` can report before loading torch (seconds,
    and on a laptop far more): a taken or bad name, a dataset that cannot be read."""
    from training.data import load_dataset

    check_free(name or default_name(base, suffix), Registry())
    load_dataset(data, val_split)


def install_checkpoint(checkpoint: Path, name: str, origin: dict[str, Any], *,
                       registry: Registry | None = None, extra_files: tuple[Path, ...] = (),
                       log: Callable[[str], Any] = print) -> InstalledModel:
    """Export `checkpoint` with our exporter (validated against PyTorch), add origin.json and
    `extra_files` (the loss curve), re-write the manifest, verify, and install as `name`."""
    from export.api import export_model

    registry = registry or Registry()
    check_free(name, registry)
    staging = registry.new_staging()
    try:
        folder = export_model(checkpoint, staging / name, ("fp32",), validate=True, log=log)
        origin = {**origin, "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        (folder / ORIGIN_FILE).write_text(json.dumps(origin, indent=2))
        for path in extra_files:
            if path.is_file():
                shutil.copyfile(path, folder / path.name)
        family = json.loads((folder / "config.json").read_text())["model_type"]
        verb = "distilled" if origin.get("origin") == "distilled" else "trained"
        write_manifest(folder, name=name, family=family, dtype="fp32",
                       source=f"{verb} here from {origin.get('base', '?')}",
                       versions=package_versions(EXPORT_VERSIONS))
        check_folder(folder, family=family, dtype="fp32", verify_checksums=True)
        return registry.adopt(folder, name, make_default=False)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def how_to_use(model: InstalledModel) -> str:
    return (f"installed as '{model.name}' in {model.path}\n"
            f"  describe with it:     lumen describe --model {model.path} PICTURE\n"
            f"  make it the default:  lumen models default {model.name}\n"
            f"  score it:             lumen evaluate {model.name} --data DIR")
