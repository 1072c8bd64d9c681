"""`export_model`: a transformers checkpoint folder (or hub id) -> a validated Lumen model folder."""
from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from export.quantize import DTYPES, SUFFIX, quantize_file
from export.validate import check, compare_part
from models.errors import ExportError, ModelFolderError
from models.families import FAMILIES, Family, family_for_model_type
from models.folder import image_processor_config
from models.manifest import package_versions, write_manifest

COPIED_FILES = (
    "config.json", "generation_config.json", "preprocessor_config.json", "processor_config.json",
    "tokenizer.json",
    "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt",
    "added_tokens.json", "vocab.txt",
)
EXPORT_VERSIONS = ("lumen", "torch", "transformers", "onnx", "onnxscript", "onnxruntime")
# fp32 must match torch closely; quantized variants only roughly (they are checked for sanity).
TOLERANCE = {"fp32": (1e-4, 1e-4), "fp16": (1e-2, 2e-2), "int8": (0.0, 0.5), "q4": (0.0, 0.5)}


def resolve_source(src: str | Path) -> Path:
    """A local folder as it is; otherwise a hub id, downloaded (needs a network)."""
    path = Path(src).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise ExportError(f"{src} is a file; give the folder that holds config.json")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(str(src)))
    except Exception as e:  # offline, unknown id, no permission
        raise ExportError(f"cannot find {src}: not a local folder, and the hub download failed ({e})") from e


def _family(folder: Path) -> Family:
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as e:
        raise ExportError(f"{folder / 'config.json'} is missing or not valid JSON") from e
    model_type = str(config.get("model_type", ""))
    family = family_for_model_type(model_type)
    if family is not None and family.name == "florence2" \
            and (config.get("vision_config") or {}).get("model_type") == "davit":
        raise ExportError(
            f"{folder} is in the original custom-code Florence-2 format; use a transformers-native "
            "checkpoint such as florence-community/Florence-2-base-ft"
        )
    exportable = [f for f in FAMILIES.values() if f.exporter]
    if family is None or family.exporter is None:
        names = [f.name for f in exportable]
        names = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
        raise ExportError(f"{folder} holds a '{model_type}' model; Lumen exports {names}")
    return family


def _image_processor_config(folder: Path, out: Path) -> None:
    """The exported folder follows the published layout: preprocessor_config.json at the top,
    written from processor_config.json's nested settings when the checkpoint was saved by
    transformers 5 (`processor.save_pretrained`)."""
    if (out / "preprocessor_config.json").exists():
        return
    try:
        settings = image_processor_config(folder)
    except ModelFolderError as e:
        raise ExportError(str(e)) from e
    (out / "preprocessor_config.json").write_text(json.dumps(settings, indent=2) + "\n")


def export_model(
    src: str | Path,
    out: Path,
    dtypes: Sequence[str] = ("fp32",),
    *,
    validate: bool = True,
    log: Callable[[str], Any] = print,
) -> Path:
    """Export `src` into `out` with one set of ONNX files per dtype, validated, plus lumen.json."""
    for dtype in dtypes:
        if dtype not in DTYPES:
            raise ExportError(f"unknown dtype {dtype!r}; choose from {', '.join(DTYPES)}")
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    folder = resolve_source(src)
    spec = _family(folder)
    family = spec.name
    module = spec.load_exporter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "onnx").mkdir(exist_ok=True)
    model = module.load_model(folder)
    with tempfile.TemporaryDirectory(prefix="lumen-export-") as tmp:
        fp32_dir = Path(tmp)
        parts = module.export_parts(model, folder, fp32_dir, log=log)
        for dtype in dtypes:
            log(f"{family} {dtype}:")
            for part in parts:
                dst = out / "onnx" / f"{part}{SUFFIX[dtype]}.onnx"
                if dtype == "fp32":
                    shutil.copyfile(fp32_dir / f"{part}.onnx", dst)
                else:
                    quantize_file(fp32_dir / f"{part}.onnx", dst, dtype)
            if validate:
                atol, rtol = TOLERANCE[dtype]
                diffs = []
                for label, (part, feeds, expected) in module.validation_cases(model, folder).items():
                    tol = atol + rtol * max(float(np.abs(v).max()) for v in expected.values())
                    diffs += compare_part(label, out / "onnx" / f"{part}{SUFFIX[dtype]}.onnx",
                                          expected, feeds, tol)
                check(diffs, log)
    for name in COPIED_FILES:
        if (folder / name).exists():
            shutil.copyfile(folder / name, out / name)
    _image_processor_config(folder, out)
    module.write_missing_configs(model, out)
    write_manifest(out, name=out.name, family=family, dtype=dtypes[0], source=str(src),
                   versions=package_versions(EXPORT_VERSIONS))
    log(f"wrote {out}")
    return out
