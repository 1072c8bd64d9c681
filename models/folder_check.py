"""Is a model folder whole? Name the first missing or damaged file, before anything loads it.

`check_folder` is cheap without checksums (presence, sizes, a structural walk of each ONNX
file), so it can run on every start; with `verify_checksums=True` it hashes every file listed
in the manifest, which installs and imports always do.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from models.catalogue import DTYPE_SUFFIX, FAMILIES, onnx_files, required_files
from models.errors import ModelFolderError
from models.manifest import Manifest, read_manifest, sha256_file

_FIX = "reinstall the model, or import it again from its .zip"
_MODEL_TYPES = {"florence2": "florence2", "florence-2": "florence2", "blip": "blip"}


@dataclass(frozen=True)
class FolderReport:
    """A folder that passed the check: what it holds."""

    folder: Path
    family: str
    dtype: str
    manifest: Manifest | None
    total_bytes: int
    complete_dtypes: tuple[str, ...]


def check_folder(
    folder: Path | str,
    *,
    family: str | None = None,
    dtype: str | None = None,
    verify_checksums: bool = True,
    require_manifest: bool = False,
    on_bytes: Callable[[int], None] | None = None,
) -> FolderReport:
    """Validate `folder`; raise ModelFolderError naming the first missing or damaged file."""
    folder = Path(folder)
    _check_is_folder(folder)
    manifest = read_manifest(folder)
    if manifest is None and require_manifest:
        raise ModelFolderError(
            f"{folder} has no lumen.json manifest to verify it against; make the archive "
            "with `lumen models pack` or export the model with `lumen export`."
        )
    family = _family(folder, manifest, family)
    complete = tuple(
        d for d in DTYPE_SUFFIX if all((folder / f).is_file() for f in onnx_files(family, d))
    )
    dtype = _dtype(folder, family, manifest, dtype, complete)
    for rel in required_files(family, dtype):
        if not (folder / rel).is_file():
            raise ModelFolderError(f"{folder} is missing {rel}; {_FIX}.")
    if manifest is not None:
        _check_listed_sizes(folder, manifest)
    for rel in onnx_files(family, dtype):
        problem = onnx_problem(folder / rel)
        if problem:
            raise ModelFolderError(f"{folder / rel} {problem}; {_FIX}.")
    if manifest is not None and verify_checksums:
        for rel, entry in sorted(manifest.files.items()):
            if sha256_file(folder / rel, on_bytes) != entry.sha256:
                raise ModelFolderError(
                    f"{folder / rel} does not match its checksum in lumen.json (the file is "
                    f"damaged or was changed); {_FIX}."
                )
    total = (
        manifest.total_bytes
        if manifest is not None
        else sum((folder / f).stat().st_size for f in required_files(family, dtype))
    )
    return FolderReport(folder, family, dtype, manifest, total, complete)


def _check_is_folder(folder: Path) -> None:
    if not folder.exists():
        raise ModelFolderError(
            f"{folder} does not exist; choose another model folder or install a model."
        )
    if not folder.is_dir():
        raise ModelFolderError(
            f"{folder} is not a folder; choose the folder that holds the model's files."
        )
    if not any(folder.iterdir()):
        raise ModelFolderError(f"{folder} is empty; choose the folder that holds the model.")


def _family(folder: Path, manifest: Manifest | None, wanted: str | None) -> str:
    if manifest is not None:
        found = manifest.family
    else:
        config = folder / "config.json"
        if not config.is_file():
            raise ModelFolderError(f"{folder} is missing config.json; {_FIX}.")
        try:
            model_type = str(json.loads(config.read_text(encoding="utf-8")).get("model_type", ""))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as e:
            raise ModelFolderError(f"{config} cannot be read; {_FIX}.") from e
        found = _MODEL_TYPES.get(model_type.lower(), model_type or "unknown")
    if found not in FAMILIES:
        raise ModelFolderError(
            f"{folder} holds a {found!r} model, which Lumen cannot use; choose a Florence-2 "
            "or BLIP model."
        )
    if wanted is not None and wanted != found:
        raise ModelFolderError(f"{folder} holds a {found} model, not {wanted}; {_FIX}.")
    return found


def _dtype(
    folder: Path, family: str, manifest: Manifest | None, wanted: str | None,
    complete: tuple[str, ...],
) -> str:
    if manifest is not None:
        if manifest.dtype not in DTYPE_SUFFIX:
            raise ModelFolderError(f"{folder} lists an unknown dtype {manifest.dtype!r}; {_FIX}.")
        if wanted is not None and wanted != manifest.dtype:
            raise ModelFolderError(
                f"{folder} holds the {manifest.dtype} variant, not {wanted}; {_FIX}."
            )
        return manifest.dtype
    if wanted is not None:
        return wanted
    if complete:
        return complete[0]
    # Report against the variant that is closest to complete.
    return max(
        DTYPE_SUFFIX, key=lambda d: sum((folder / f).is_file() for f in onnx_files(family, d))
    )


def _check_listed_sizes(folder: Path, manifest: Manifest) -> None:
    for rel, entry in sorted(manifest.files.items()):
        path = folder / rel
        if not path.is_file():
            raise ModelFolderError(f"{folder} is missing {rel}; {_FIX}.")
        size = path.stat().st_size
        if size != entry.size:
            what = "is truncated" if size < entry.size else "is larger than expected"
            raise ModelFolderError(
                f"{path} {what} ({size} of {entry.size} bytes); {_FIX}."
            )


def onnx_problem(path: Path) -> str | None:
    """Walk the top-level protobuf fields of an ONNX file without loading it.

    A truncated file leaves a field that runs past the end; a complete ModelProto has a graph
    (field 7) and an opset import (field 8). None means the file looks whole.
    """
    size = path.stat().st_size
    if size == 0:
        return "is empty"
    seen: set[int] = set()
    with open(path, "rb") as f:
        while f.tell() < size:
            key = _varint(f)
            if key is None:
                return "is truncated"
            field_no, wire = key >> 3, key & 7
            if field_no == 0 or field_no > 64:
                return "is not an ONNX file"
            if wire == 0:
                if _varint(f) is None:
                    return "is truncated"
            elif wire in (1, 2, 5):
                length = {1: 8, 5: 4}.get(wire) or _varint(f)
                if length is None:
                    return "is truncated"
                f.seek(length, 1)
            else:
                return "is not an ONNX file"
            if f.tell() > size:
                return "is truncated"
            seen.add(field_no)
    if not {7, 8} <= seen:
        return "is truncated (it has no complete graph)"
    return None


def _varint(f) -> int | None:
    value = shift = 0
    for _ in range(10):
        b = f.read(1)
        if not b:
            return None
        value |= (b[0] & 0x7F) << shift
        if not b[0] & 0x80:
            return value
        shift += 7
    return None
