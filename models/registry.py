"""Installed models: one folder per model under the user's data folder, plus a default mark.

Layout of the models folder (`LUMEN_MODELS_DIR`, else platformdirs' user data folder):
    <name>/            a whole, verified model folder with its lumen.json
    registry.json      {"default": name, "links": {name: absolute folder elsewhere}}
    .partial/<name>/   an interrupted download, resumed by installing again
    .staging/          imports and finished downloads, moved into place once verified
A folder only ever appears as `<name>/` once it has been verified, so a listed model is never
half there. Linked folders (chosen by the user, left where they are) are never deleted.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from models.catalogue import UnknownModelError
from models.errors import LumenError, ModelFolderError
from models.exit_status import ExitStatus
from models.folder_check import check_folder
from models.fsutil import fsync_dir, fsync_tree, remove_stale, write_atomic
from models.manifest import read_manifest

log = logging.getLogger(__name__)

ENV_MODELS_DIR = "LUMEN_MODELS_DIR"
STATE_FILE = "registry.json"
PARTIAL = ".partial"
STAGING = ".staging"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
# Families that do not describe pictures (CLIP gives keywords): never made the default by chance.
NOT_DESCRIBING = frozenset({"clip", "ppocr"})


def models_dir() -> Path:
    """Where models live: `LUMEN_MODELS_DIR`, else e.g. ~/.local/share/Lumen/models."""
    env = os.environ.get(ENV_MODELS_DIR)
    if env:
        return Path(env).expanduser().absolute()
    from models.data_home import user_data_root

    return user_data_root() / "models"


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name or ""):
        raise UnknownModelError(
            f"{name!r} cannot be a model name; use letters, digits, '.', '_' and '-' only."
        )
    return name


@dataclass(frozen=True)
class InstalledModel:
    name: str
    path: Path
    family: str | None
    dtype: str | None
    size_bytes: int
    source: str
    is_default: bool
    linked: bool
    problem: str | None  # why the folder cannot be used, None when it is whole

    def to_json(self) -> dict:
        return {
            "name": self.name, "path": str(self.path), "family": self.family,
            "dtype": self.dtype, "size_bytes": self.size_bytes, "source": self.source,
            "default": self.is_default, "linked": self.linked, "problem": self.problem,
        }


@dataclass(frozen=True)
class PartialDownload:
    name: str
    path: Path
    bytes_present: int


class Registry:
    """The models folder; every method re-reads the disk, so CLI and window stay in step."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else models_dir()

    # -- state file ------------------------------------------------------------------------
    def _state(self) -> dict:
        try:
            data = json.loads((self.root / STATE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self, state: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_atomic(self.root / STATE_FILE, json.dumps(state, indent=2) + "\n")

    def _links(self) -> dict[str, str]:
        links = self._state().get("links")
        return {str(k): str(v) for k, v in links.items()} if isinstance(links, dict) else {}

    # -- queries ---------------------------------------------------------------------------
    def names(self) -> list[str]:
        own = []
        if self.root.is_dir():
            own = [
                p.name for p in self.root.iterdir()
                if p.is_dir() and not p.name.startswith(".") and _NAME.fullmatch(p.name)
            ]
        return sorted(set(own) | set(self._links()))

    def exists(self, name: str) -> bool:
        return name in self.names()

    def path_of(self, name: str) -> Path:
        links = self._links()
        if name in links:
            return Path(links[name])
        if not (self.root / name).is_dir() or name.startswith("."):
            raise UnknownModelError(
                f"No installed model is called {name!r}; see `lumen models list`."
            )
        return self.root / name

    def get(self, name: str) -> InstalledModel:
        path = self.path_of(name)
        default = self.default_name()
        problem = family = dtype = None
        size, source = 0, ""
        try:
            report = check_folder(path, verify_checksums=False)
            family, dtype, size = report.family, report.dtype, report.total_bytes
            source = report.manifest.source if report.manifest else ""
        except ModelFolderError as e:
            problem = str(e)
            try:
                manifest = read_manifest(path)
            except (ModelFolderError, OSError):
                manifest = None
            if manifest is not None:
                family, dtype, size = manifest.family, manifest.dtype, manifest.total_bytes
                source = manifest.source
        return InstalledModel(
            name=name, path=path, family=family, dtype=dtype, size_bytes=size, source=source,
            is_default=name == default, linked=name in self._links(), problem=problem,
        )

    def installed(self) -> list[InstalledModel]:
        return [self.get(n) for n in self.names()]

    def default_name(self) -> str | None:
        """The marked default if it is still there, else the first installed model that describes."""
        names = self.names()
        marked = self._state().get("default")
        if marked in names:
            return marked
        return next((n for n in names if self.describes(n)), None)

    def describes(self, name: str) -> bool:
        """False for a model whose lumen.json names a family that does not describe (CLIP)."""
        try:
            manifest = read_manifest(self.path_of(name))
        except (LumenError, OSError):
            return True  # a damaged folder is reported where it is used
        return manifest is None or manifest.family not in NOT_DESCRIBING

    def partials(self) -> list[PartialDownload]:
        base = self.root / PARTIAL
        if not base.is_dir():
            return []
        out = []
        for p in sorted(base.iterdir()):
            if p.is_dir():
                size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
                out.append(PartialDownload(p.name, p, size))
        return out

    # -- changes ---------------------------------------------------------------------------
    def set_default(self, name: str) -> None:
        self.path_of(name)  # raises for unknown names
        state = self._state()
        state["default"] = name
        self._save(state)

    def adopt(self, folder: Path, name: str, *, make_default: bool | None = None) -> InstalledModel:
        """Move a verified folder (on the same disk, e.g. from staging) in as `name`."""
        check_name(name)
        if self.exists(name):
            raise AlreadyInstalledError(name)
        fsync_tree(folder)  # the files reach the disk before the name that makes them a model
        os.replace(folder, self.root / name)
        fsync_dir(self.root)
        staging = self.root / STAGING
        if folder.parent.parent == staging and not any(folder.parent.iterdir()):
            folder.parent.rmdir()  # the empty temporary folder it came from
        return self._registered(name, make_default)

    def link(self, folder: Path, name: str | None = None) -> InstalledModel:
        """Use a whole model folder where it is; Lumen never deletes a linked folder."""
        folder = Path(folder).expanduser().absolute()
        report = check_folder(folder, verify_checksums=False)
        name = check_name(name or (report.manifest.name if report.manifest else folder.name))
        if self.exists(name):
            raise AlreadyInstalledError(name)
        state = self._state()
        state.setdefault("links", {})[name] = str(folder)
        self._save(state)
        return self._registered(name, None)

    def _registered(self, name: str, make_default: bool | None) -> InstalledModel:
        state = self._state()
        if make_default or (make_default is None and state.get("default") not in self.names()
                            and self.describes(name)):
            state["default"] = name
            self._save(state)
        return self.get(name)

    def remove(self, name: str) -> InstalledModel:
        """Delete an installed model's folder, or forget a linked one (its files stay)."""
        model = self.get(name)
        state = self._state()
        if model.linked:
            state.get("links", {}).pop(name, None)
        else:
            target = (self.root / name).resolve()
            if target.parent != self.root.resolve():
                raise ModelFolderError(f"{target} is outside {self.root}; not deleting it.")
            shutil.rmtree(target)
        if state.get("default") == name:
            state.pop("default")
        self._save(state)
        return model

    def remove_partial(self, name: str) -> None:
        shutil.rmtree(self.partial_dir(name), ignore_errors=True)
        (self.root / PARTIAL / f"{name}.lock").unlink(missing_ok=True)

    def partial_dir(self, name: str) -> Path:
        return self.root / PARTIAL / check_name(name)

    def new_staging(self) -> Path:
        """A private temporary folder for an import; those left by a Lumen that was killed
        mid-import (named by its process id) are removed first."""
        base = self.root / STAGING
        base.mkdir(parents=True, exist_ok=True)
        for gone in remove_stale(base, prefix=""):
            log.info("removed %s, left by an import that was interrupted", gone)
        return Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=base))


class AlreadyInstalledError(LumenError):
    exit_code = ExitStatus.USAGE

    def __init__(self, name: str) -> None:
        super().__init__(
            f"A model called {name!r} is already installed; remove it first with "
            f"`lumen models remove {name}`, or choose another name."
        )


def default_model_dir(root: Path | str | None = None) -> Path | None:
    """The folder of the default model, or None when no model is installed."""
    registry = Registry(root)
    name = registry.default_name()
    return registry.path_of(name) if name else None


def model_dir(model: str | Path | None, root: Path | str | None = None) -> Path | None:
    """The folder a `--model` value names (a leading ~ expanded), else the default installed
    model's, else None: the one lookup the command line and the window share."""
    if model:
        return Path(model).expanduser()
    return default_model_dir(root)
