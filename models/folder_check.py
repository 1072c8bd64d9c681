"""Is a model folder whole? Name the first missing or damaged file, before anything loads it.

`check_folder` is cheap without checksums (presence, sizes, a structural walk of each ONNX
file), so it can run on every start; with `verify_checksums=True` it hashes every file listed
in the manifest, which installs and imports always do.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from models.errors import ModelFolderError
from models.folder import ModelFolder, complete_dtypes
from models.families import present_files
from models.manifest import Manifest, read_manifest, sha256_file

_FIX = "reinstall the model, or import it again from its .zip"


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
    """Validate `folder`; raise ModelFolderError naming the first missing or damaged file.

    Whatever passes here, `ModelFolder.open(folder, dtype)` opens: the family, dtype and
    required files are its decisions; this adds sizes, an ONNX walk and checksums.
    """
    folder = Path(folder)
    _check_is_folder(folder)
    manifest = read_manifest(folder)
    if manifest is None and require_manifest:
        raise ModelFolderError(
            f"{folder} has no lumen.json manifest to verify it against; make the archive "
            "with `lumen models pack` or export the model with `lumen export`."
        )
    opened = ModelFolder.open(folder, dtype, family=family, hint=_FIX)
    if manifest is not None:
        _check_listed_sizes(folder, manifest)
    spec = opened.spec
    graphs = spec.onnx_files(opened.dtype)
    for rel in graphs:
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
    if manifest is not None:
        total = manifest.total_bytes
    else:
        found, _ = present_files(spec.required_files, lambda name: (folder / name).is_file())
        total = sum((folder / f).stat().st_size for f in (*found, *graphs))
    return FolderReport(folder, opened.family, opened.dtype, manifest, total,
                        tuple(complete_dtypes(folder, spec)))


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
