"""A model folder on disk: which family, which ONNX files, and its settings files."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.errors import ModelFolderError

# ONNX files per family, in the order they run.
PARTS: dict[str, tuple[str, ...]] = {
    "florence2": ("vision_encoder", "embed_tokens", "encoder_model", "decoder_model_merged"),
    "blip": ("vision_model", "decoder_model_merged"),
}
# File suffix per dtype, as onnx-community publishes them (transformers.js naming).
DTYPE_SUFFIX: dict[str, str] = {
    "fp32": "", "fp16": "_fp16", "int8": "_int8", "uint8": "_uint8", "q8": "_quantized",
    "q4": "_q4", "q4f16": "_q4f16", "bnb4": "_bnb4",
}
REQUIRED_FILES = ("config.json", "generation_config.json", "preprocessor_config.json", "tokenizer.json")
INSTALL_HINT = "install one with `lumen models install` or export one with `lumen export`"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ModelFolderError(f"{path.name} is missing from {path.parent}; {INSTALL_HINT}") from e
    except (OSError, ValueError) as e:
        raise ModelFolderError(f"{path.name} in {path.parent} is unreadable or not JSON; reinstall the model") from e
    if not isinstance(data, dict):
        raise ModelFolderError(f"{path.name} in {path.parent} is not a JSON object; reinstall the model")
    return data


def family_of(config: dict[str, Any], folder: Path) -> str:
    family = str(config.get("model_type", ""))
    if family not in PARTS:
        raise ModelFolderError(
            f"{folder} holds a '{family or 'unknown'}' model; Lumen runs Florence-2 and BLIP models"
        )
    return family


def dtypes_present(onnx_dir: Path, family: str) -> list[str]:
    """Every dtype whose complete set of ONNX files is in the folder."""
    return [d for d, suffix in DTYPE_SUFFIX.items()
            if all((onnx_dir / f"{part}{suffix}.onnx").is_file() for part in PARTS[family])]


@dataclass(frozen=True)
class ModelFolder:
    path: Path
    family: str
    dtype: str
    config: dict[str, Any] = field(repr=False)
    generation_config: dict[str, Any] = field(repr=False)
    preprocessor_config: dict[str, Any] = field(repr=False)
    manifest: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        if self.manifest and self.manifest.get("name"):
            return str(self.manifest["name"])
        return self.path.name

    def onnx_file(self, part: str) -> Path:
        return self.path / "onnx" / f"{part}{DTYPE_SUFFIX[self.dtype]}.onnx"

    @classmethod
    def open(cls, path: Path | str, dtype: str | None = None) -> ModelFolder:
        """Check the folder is complete before anything is loaded; pick the dtype to run."""
        path = Path(path).expanduser()
        if not path.is_dir():
            raise ModelFolderError(f"model folder {path} does not exist; {INSTALL_HINT}")
        config = _read_json(path / "config.json")
        family = family_of(config, path)
        for name in REQUIRED_FILES[1:]:
            if not (path / name).is_file():
                raise ModelFolderError(f"{name} is missing from {path}; reinstall the model")
        manifest = _read_json(path / "lumen.json") if (path / "lumen.json").is_file() else None
        present = dtypes_present(path / "onnx", family)
        if dtype is None:
            preferred = (manifest or {}).get("dtype")
            dtype = preferred if preferred in present else (present[0] if present else None)
        if dtype is None or dtype not in present:
            missing = [f"onnx/{p}{DTYPE_SUFFIX.get(dtype or 'fp32', '')}.onnx" for p in PARTS[family]
                       if not (path / "onnx" / f"{p}{DTYPE_SUFFIX.get(dtype or 'fp32', '')}.onnx").is_file()]
            what = f"{missing[0]} is missing" if missing else f"no complete set of {dtype} files"
            raise ModelFolderError(f"{what} in {path}; {INSTALL_HINT}")
        return cls(
            path=path, family=family, dtype=dtype, config=config,
            generation_config=_read_json(path / "generation_config.json"),
            preprocessor_config=_read_json(path / "preprocessor_config.json"), manifest=manifest,
        )
