"""`lumen.json`: what a model folder holds, with a size and sha256 for every file.

Schema (format 1): {"format": 1, "name", "family", "dtype", "source", "created" (ISO-8601),
"versions": {package: version}, "files": {relative posix path: {"sha256", "size"}}}.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath

from models.errors import ModelFolderError
from models.fsutil import write_atomic

MANIFEST = "lumen.json"
FORMAT = 1
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    name: str
    family: str
    dtype: str
    source: str
    created: str
    versions: dict[str, str] = field(default_factory=dict)
    files: dict[str, FileEntry] = field(default_factory=dict)
    format: int = FORMAT

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files.values())

    def to_json(self) -> dict:
        return {
            "format": self.format,
            "name": self.name,
            "family": self.family,
            "dtype": self.dtype,
            "source": self.source,
            "created": self.created,
            "versions": dict(self.versions),
            "files": {p: {"sha256": f.sha256, "size": f.size} for p, f in sorted(self.files.items())},
        }

    @classmethod
    def from_json(cls, data: object, where: Path) -> Manifest:
        bad = ModelFolderError(
            f"{where} is not a valid model manifest; reinstall or re-export the model."
        )
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise bad
        try:
            files = {
                safe_relpath(p, where): FileEntry(str(e["sha256"]).lower(), int(e["size"]))
                for p, e in data["files"].items()
            }
            return cls(
                name=str(data["name"]),
                family=str(data["family"]),
                dtype=str(data["dtype"]),
                source=str(data.get("source", "")),
                created=str(data.get("created", "")),
                versions={str(k): str(v) for k, v in dict(data.get("versions") or {}).items()},
                files=files,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise bad from e


def safe_relpath(path: str, where: Path) -> str:
    """A manifest or archive path that stays inside its folder, else ModelFolderError."""
    p = PurePosixPath(path)
    if (
        not path
        or "\\" in path
        or p.is_absolute()
        or ".." in p.parts
        or (p.parts and ":" in p.parts[0])
    ):
        raise ModelFolderError(f"{where} names an unsafe path {path!r}; do not use this model.")
    return p.as_posix()


def read_manifest(folder: Path) -> Manifest | None:
    """The folder's manifest, None when it has none, ModelFolderError when it is unreadable."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFolderError(
            f"{path} cannot be read; reinstall or re-export the model."
        ) from e
    return Manifest.from_json(data, path)


def sha256_file(path: Path, on_bytes: Callable[[int], None] | None = None) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            if on_bytes:
                on_bytes(len(chunk))
    return h.hexdigest()


def folder_files(folder: Path) -> list[str]:
    """Every file under `folder` except the manifest and hidden entries (download state)."""
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            rel = (Path(root) / name).relative_to(folder).as_posix()
            if not name.startswith(".") and rel != MANIFEST:
                out.append(rel)
    return out


def package_versions(names: Iterable[str] = ("lumen", "huggingface_hub", "onnxruntime")) -> dict:
    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def write_manifest(
    folder: Path,
    *,
    name: str,
    family: str,
    dtype: str,
    source: str,
    known: dict[str, FileEntry] | None = None,
    versions: dict[str, str] | None = None,
) -> Manifest:
    """Hash every file in `folder` (reusing `known` hashes) and write `lumen.json` atomically."""
    known = known or {}
    files = {}
    for rel in folder_files(folder):
        size = (folder / rel).stat().st_size
        entry = known.get(rel)
        files[rel] = entry if entry and entry.size == size else FileEntry(
            sha256_file(folder / rel), size
        )
    manifest = Manifest(
        name=name,
        family=family,
        dtype=dtype,
        source=source,
        created=datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        versions=package_versions() if versions is None else versions,
        files=files,
    )
    write_atomic(folder / MANIFEST, json.dumps(manifest.to_json(), indent=2) + "\n")
    return manifest
