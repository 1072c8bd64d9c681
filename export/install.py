"""`lumen models install NAME --export`: fetch the original checkpoint and export it here.

Needs the `[export]` extra (torch, transformers) for `export.api.export_model`, which is
imported only when asked for, so a plain install never imports torch. The original
weights go to `<models>/.partial/<name>.source/` (resumable file by file) and are verified
against the hub's checksums; they are deleted once the export has been verified and
registered, since only the ONNX folder is ever used.
"""
from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from models.catalogue import EXPORT_DTYPES, CatalogueEntry, UnknownModelError
from models.download import hub_errors, resolve_endpoint, remote_files, verified_sha256
from models.errors import ExportError, LumenError, ModelFolderError, require_extra
from models.folder_check import check_folder
from models.manifest import read_manifest, write_manifest
from models.registry import PARTIAL, AlreadyInstalledError, InstalledModel, Registry

_TEXT_FILES = ("*.json", "*.txt", "*.model")


def exporter() -> Callable[..., Path]:
    """`export.api.export_model`, or MissingExtraError saying how to get torch and transformers."""
    require_extra("export", "torch", "transformers", what="--export (Lumen's export tools)",
                  otherwise="or install the published ONNX files without --export")
    from export.api import export_model

    return export_model


def install_exported(
    entry: CatalogueEntry,
    dtype: str,
    *,
    registry: Registry | None = None,
    endpoint: str | None = None,
    revision: str = "main",
    make_default: bool | None = None,
    on_status: Callable[[str], None] | None = None,
) -> InstalledModel:
    """Download `entry.export_source`, export it to ONNX in `dtype`, verify and register it."""
    registry = registry or Registry()
    say = on_status or (lambda _msg: None)
    if dtype not in EXPORT_DTYPES:
        raise UnknownModelError(
            f"The exporter writes {', '.join(EXPORT_DTYPES)}, not {dtype!r}; choose one of those."
        )
    name = entry.installed_name(dtype)
    if registry.exists(name):
        raise AlreadyInstalledError(name)
    export_model = exporter()  # before downloading gigabytes that could not be used
    endpoint = resolve_endpoint(endpoint)
    source = registry.root / PARTIAL / f"{name}.source"
    say(f"Downloading the original weights of {entry.export_source}")
    commit = _download_source(entry.export_source, source, revision, endpoint)
    staging = registry.new_staging()
    try:
        say(f"Exporting to ONNX ({dtype}); this takes a few minutes")
        try:
            folder = Path(export_model(source, staging / name, (dtype,), log=say))
        except LumenError:
            raise
        except Exception as e:  # the exporter runs torch: any failure ends this install
            raise ExportError(
                f"Exporting {entry.export_source} failed ({type(e).__name__}: {e}); "
                "the downloaded weights are kept, so running the install again retries the export."
            ) from e
        if read_manifest(folder) is None:
            write_manifest(
                folder, name=name, family=entry.family, dtype=dtype,
                source=f"{entry.export_source}@{commit}",
            )
        say("Verifying the exported model")
        check_folder(folder, family=entry.family, dtype=dtype, verify_checksums=True)
        model = registry.adopt(folder, name, make_default=make_default)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(source, ignore_errors=True)
    return model


def _download_source(repo_id: str, dest: Path, revision: str, endpoint: str | None) -> str:
    """Configuration, tokenizer and weights of the original checkpoint, checked file by file."""
    commit, files = remote_files(repo_id, revision=revision, endpoint=endpoint)
    weights = ["*.safetensors"] if any(p.endswith(".safetensors") for p in files) else ["*.bin"]
    with hub_errors(endpoint, repo_id):
        from huggingface_hub import snapshot_download

        snapshot_download(
            repo_id, revision=commit, local_dir=dest, endpoint=endpoint,
            allow_patterns=[*_TEXT_FILES, *weights],
        )
    for path in sorted(dest.rglob("*")):
        rel = path.relative_to(dest).as_posix()
        if path.is_file() and not rel.startswith(".") and rel in files:
            if verified_sha256(path, files[rel]) is None:
                path.unlink()
                raise ModelFolderError(
                    f"The downloaded {rel} of {repo_id} does not match the checksum the hub "
                    "lists for it, so it was discarded; run the install again."
                )
    return commit
