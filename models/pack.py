"""Air-gapped installs: `pack` an installed model into a .zip, `import` a .zip or a folder.

Everything imported is verified against the manifest's sha256s before it is registered, and a
.zip is extracted member by member with its paths checked, so an archive cannot write outside
the staging folder. Nothing becomes an installed model until the whole folder has passed.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from models.catalogue import CONFIG_FILES, onnx_files
from models.families import present_files
from models.errors import LumenError, ModelFolderError
from models.exit_status import ExitStatus
from models.folder_check import check_folder
from models.fsutil import ensure_space, write_atomic
from models.manifest import MANIFEST, FileEntry, Manifest, read_manifest, safe_relpath
from models.manifest import write_manifest
from models.registry import AlreadyInstalledError, InstalledModel, Registry, check_name

_CHUNK = 1 << 20
OnBytes = Callable[[int], None]


class PackTargetExistsError(LumenError):
    exit_code = ExitStatus.USAGE


class PackTargetFolderError(LumenError):
    """The folder the .zip should go into does not exist."""

    exit_code = ExitStatus.USAGE


def pack(
    name: str, out: Path | str | None = None, *, registry: Registry | None = None,
    on_bytes: OnBytes | None = None,
) -> Path:
    """Write installed model `name` to a .zip (verifying every file on the way); return it."""
    registry = registry or Registry()
    folder = registry.path_of(name)
    report = check_folder(folder, verify_checksums=False, require_manifest=True)
    manifest = report.manifest
    assert manifest is not None
    target = Path(out) if out is not None else Path.cwd()
    if target.is_dir():
        target = target / f"{name}.zip"
    if target.exists():
        raise PackTargetExistsError(f"{target} already exists; choose another file name.")
    if not target.parent.is_dir():
        raise PackTargetFolderError(
            f"The folder {target.parent} does not exist; create it or choose another place.")
    part = target.with_name(target.name + ".part")
    try:
        with zipfile.ZipFile(part, "w", allowZip64=True) as zf:
            # The archive carries the installed name, so importing it elsewhere keeps it.
            zf.writestr(f"{name}/{MANIFEST}", _renamed(folder / MANIFEST, name),
                        zipfile.ZIP_DEFLATED)
            for rel, entry in sorted(manifest.files.items()):
                packed = zipfile.ZIP_STORED if rel.endswith(".onnx") else zipfile.ZIP_DEFLATED
                info = zipfile.ZipInfo.from_file(folder / rel, f"{name}/{rel}")
                info.compress_type = packed
                with open(folder / rel, "rb") as src, zf.open(info, "w", force_zip64=True) as dst:
                    sha = _copy(src, dst, on_bytes)
                if sha != entry.sha256:
                    raise ModelFolderError(
                        f"{folder / rel} does not match its checksum in lumen.json; the model is "
                        "damaged, so it was not packed. Reinstall it first."
                    )
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    return target


def import_model(
    source: Path | str, *, name: str | None = None, dtype: str | None = None,
    registry: Registry | None = None, on_bytes: OnBytes | None = None,
    make_default: bool | None = None,
) -> InstalledModel:
    """Install a model from a .zip made by `pack`, or by copying a model folder; verified."""
    registry = registry or Registry()
    source = Path(source).expanduser()
    if not source.exists():
        raise ModelFolderError(f"{source} does not exist; choose a model folder or a .zip.")
    if name is not None:
        check_name(name)
    if source.is_dir():
        found = read_manifest(source)
        _refuse_existing(registry, name or (found.name if found else source.name))
    staging = registry.new_staging()
    try:
        if source.is_file():
            root, manifest = _extract(source, staging, name, registry)
            check_folder(root, require_manifest=True, on_bytes=on_bytes)
        else:
            root = staging / "model"
            manifest = _copy_folder(source, root, dtype, on_bytes)
            check_folder(root, require_manifest=True, verify_checksums=False)
        final = name or manifest.name
        if final != manifest.name:
            write_atomic(root / MANIFEST, _renamed(root / MANIFEST, final))
        return registry.adopt(root, final, make_default=make_default)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _extract(archive: Path, staging: Path, name: str | None, registry: Registry) -> tuple[Path, Manifest]:
    if not zipfile.is_zipfile(archive):
        raise ModelFolderError(
            f"{archive} is not a .zip archive or a model folder; choose one made by "
            "`lumen models pack`."
        )
    try:
        with zipfile.ZipFile(archive) as zf:
            prefix, manifest = _archive_manifest(zf, archive)
            _refuse_existing(registry, name or manifest.name)
            ensure_space(staging, sum(i.file_size for i in zf.infolist()))
            safe_extract(zf, staging / "model", strip=prefix)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as e:
        raise ModelFolderError(f"{archive} is damaged ({e}); copy it again.") from e
    return staging / "model", manifest


def _renamed(manifest: Path, name: str) -> bytes:
    """The manifest's text with its "name" changed (the checksums cover the other files)."""
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["name"] = name
    return (json.dumps(data, indent=2) + "\n").encode()


def _refuse_existing(registry: Registry, name: str) -> None:
    """Fail before copying anything when the name is taken (or unusable)."""
    if registry.exists(check_name(name)):
        raise AlreadyInstalledError(name)


def _archive_manifest(zf: zipfile.ZipFile, archive: Path) -> tuple[str, Manifest]:
    found = [n for n in zf.namelist() if PurePosixPath(n).name == MANIFEST]
    found = [n for n in found if len(PurePosixPath(n).parts) <= 2]
    if len(found) != 1:
        raise ModelFolderError(
            f"{archive} holds no lumen.json manifest, so it cannot be verified; make the archive "
            "with `lumen models pack`."
        )
    try:
        data = json.loads(zf.read(found[0]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFolderError(f"The manifest in {archive} cannot be read; pack it again.") from e
    prefix = str(PurePosixPath(found[0]).parent)
    return ("" if prefix == "." else prefix + "/"), Manifest.from_json(data, archive)


def safe_extract(zf: zipfile.ZipFile, dest: Path, *, strip: str = "") -> None:
    """Extract regular files under `strip` into `dest`; refuse links and paths leaving `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    seen: set[str] = set()
    for info in zf.infolist():
        if info.is_dir():
            continue
        rel = safe_relpath(info.filename, Path(zf.filename or "archive"))
        if strip and not rel.startswith(strip):
            continue  # files beside the model folder in the archive are not ours to copy
        rel = rel[len(strip):]
        kind = stat.S_IFMT(info.external_attr >> 16)
        if kind not in (0, stat.S_IFREG) or info.flag_bits & 0x1:
            raise ModelFolderError(
                f"{zf.filename} holds {info.filename!r}, which is a link or encrypted; "
                "do not use this archive."
            )
        if rel in seen:
            raise ModelFolderError(f"{zf.filename} holds {rel!r} twice; do not use this archive.")
        seen.add(rel)
        target = (root / rel).resolve()
        if root not in target.parents:
            raise ModelFolderError(f"{zf.filename} names an unsafe path {info.filename!r}.")
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as src, open(target, "wb") as out:
            written = 0
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                if written > info.file_size:
                    raise ModelFolderError(
                        f"{zf.filename} holds more data for {rel!r} than it declares; "
                        "do not use this archive."
                    )
                out.write(chunk)


def _copy_folder(source: Path, dest: Path, dtype: str | None, on_bytes: OnBytes | None) -> Manifest:
    """Copy a model folder, hashing each file as it is copied; write or check its manifest."""
    report = check_folder(source, dtype=dtype, verify_checksums=False)
    manifest = report.manifest
    if manifest is not None:
        files = sorted(manifest.files)
    else:
        graphs = onnx_files(report.family, report.dtype)
        files = sorted(
            {p.name for p in source.iterdir() if p.is_file() and p.suffix in (".json", ".txt")}
            | set(present_files(CONFIG_FILES[report.family], lambda f: (source / f).is_file())[0])
            | {  # each graph with its external data files, wherever the family keeps them
                rel for folder in {(source / g).parent for g in graphs} for p in folder.iterdir()
                if any((rel := p.relative_to(source).as_posix()).startswith(g) for g in graphs)
            }
        )
        files = [f for f in files if f != MANIFEST]
    ensure_space(dest.parent, sum((source / f).stat().st_size for f in files))
    hashes: dict[str, FileEntry] = {}
    for rel in files:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        with open(source / rel, "rb") as src, open(dest / rel, "wb") as dst:
            hashes[rel] = FileEntry(_copy(src, dst, on_bytes), (source / rel).stat().st_size)
        if manifest is not None and hashes[rel] != manifest.files[rel]:
            raise ModelFolderError(
                f"{source / rel} does not match its checksum in lumen.json (the file is damaged "
                "or was changed); copy the model again."
            )
    if manifest is not None:
        shutil.copyfile(source / MANIFEST, dest / MANIFEST)
        return manifest
    return write_manifest(
        dest, name=source.name, family=report.family, dtype=report.dtype,
        source=f"imported from {source}", known=hashes,
    )


def _copy(src, dst, on_bytes: OnBytes | None) -> str:
    h = hashlib.sha256()
    while chunk := src.read(_CHUNK):
        h.update(chunk)
        dst.write(chunk)
        if on_bytes:
            on_bytes(len(chunk))
    return h.hexdigest()
