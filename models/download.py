"""Install a published ONNX model from the Hugging Face hub: planned, resumable, verified.

Only the chosen dtype's ONNX files plus the configuration and tokenizer files are fetched, into
`<models>/.partial/<name>/` as `<file>.part`. An interrupted install keeps those parts, and the
next install of the same name continues each one with an HTTP Range request. Every file is
checked against the hub's metadata (sha256 of LFS files, git blob id of the others) before it
counts; only a whole folder gets a manifest and is moved in among the installed models.

The endpoint is HF_ENDPOINT, read when a plan is made (so tests and mirrors can point it at
another server), or an explicit argument.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from models.catalogue import CONFIG_FILES, DTYPE_SUFFIX, CatalogueEntry, UnknownModelError
from models.catalogue import onnx_files
from models.families import present_files
from models.errors import CancelledError, ModelFolderError
from models.folder_check import check_folder
from models.fsutil import ensure_space, exclusive, write_atomic
from models.hub_errors import DownloadError, hub_errors  # noqa: F401  (DownloadError: API)
from models.manifest import FileEntry, write_manifest
from models.registry import AlreadyInstalledError, InstalledModel, Registry

STATE_FILE = ".lumen-download.json"
_SUPPORT_SUFFIXES = (".json", ".txt")
_CHUNK = 1 << 20
_HUB_CHUNK = 10 * 1024 * 1024  # huggingface_hub's own write size

_CANCELLED = "Download cancelled; install the model again to resume it."

ProgressCallback = Callable[["Progress"], None]
StopCheck = Callable[[], bool]


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    sha256: str | None  # LFS files: the content's sha256
    blob_id: str | None  # other files: the git blob id (sha1 of "blob <size>\\0" + content)

    @property
    def ident(self) -> str:
        return self.sha256 or self.blob_id or f"size:{self.size}"


@dataclass(frozen=True)
class DownloadPlan:
    """What an install will fetch, with exact sizes, before anything is downloaded."""

    entry: CatalogueEntry
    dtype: str
    repo_id: str
    commit: str
    endpoint: str | None
    files: tuple[RemoteFile, ...]

    @property
    def name(self) -> str:
        return self.entry.installed_name(self.dtype)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def source(self) -> str:
        return f"{self.repo_id}@{self.commit}"


@dataclass(frozen=True)
class Progress:
    file: str
    done: int  # bytes of the whole install, including files already present
    total: int

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


def resolve_endpoint(endpoint: str | None = None) -> str | None:
    """The hub to talk to, and huggingface_hub told to send nothing else anywhere.

    Without telemetry switched off, huggingface_hub fetches a list from huggingface.co (not
    from `endpoint`) to build its user agent: a mirror or an air-gapped network would leak.
    """
    import huggingface_hub.constants as hub

    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    hub.HF_HUB_DISABLE_TELEMETRY = True
    if hub.DOWNLOAD_CHUNK_SIZE == _HUB_CHUNK:
        hub.DOWNLOAD_CHUNK_SIZE = _CHUNK  # a cancel takes effect within 1 MB, not 10 MB
    return (endpoint or os.environ.get("HF_ENDPOINT") or "").rstrip("/") or None


def plan_install(
    entry: CatalogueEntry, dtype: str, *, endpoint: str | None = None, revision: str = "main"
) -> DownloadPlan:
    """Ask the hub which files `entry` has for `dtype`, with their sizes and checksums."""
    if entry.repo_id is None:
        raise UnknownModelError(
            f"{entry.title} has no published ONNX files; install it with --export."
        )
    endpoint = resolve_endpoint(endpoint)
    commit, siblings = remote_files(entry.repo_id, revision=revision, endpoint=endpoint)
    published = [d for d in DTYPE_SUFFIX if all(f in siblings for f in onnx_files(entry.family, d))]
    if dtype not in published:
        raise UnknownModelError(
            f"{entry.repo_id} has no {dtype} files; choose one of {', '.join(published) or 'none'}."
        )
    graphs = onnx_files(entry.family, dtype)
    wanted = [
        p for p in siblings
        if ("/" not in p and p.endswith(_SUPPORT_SUFFIXES))
        or any(p == g or p.startswith(g + "_data") or p.startswith(g + ".data") for g in graphs)
    ]
    _, missing = present_files(CONFIG_FILES[entry.family], siblings.__contains__)
    if missing:
        raise ModelFolderError(f"{entry.repo_id} lacks {missing[0]}, so it cannot be installed.")
    return DownloadPlan(
        entry, dtype, entry.repo_id, commit, endpoint, tuple(siblings[p] for p in sorted(wanted))
    )


def remote_files(
    repo_id: str, *, revision: str = "main", endpoint: str | None = None
) -> tuple[str, dict[str, RemoteFile]]:
    """The commit `revision` points at and every file in it, with sizes and checksums."""
    endpoint = resolve_endpoint(endpoint)
    with hub_errors(endpoint, repo_id):
        from huggingface_hub import HfApi

        info = HfApi(endpoint=endpoint).model_info(repo_id, revision=revision, files_metadata=True)
    if not info.sha:
        raise DownloadError(f"The hub did not say which revision of {repo_id} it serves.")
    return info.sha, {
        s.rfilename: RemoteFile(
            s.rfilename,
            int(s.lfs.size if s.lfs else s.size or 0),
            str(s.lfs.sha256).lower() if s.lfs else None,
            s.blob_id if not s.lfs else None,
        )
        for s in info.siblings or []
    }


def bytes_present(plan: DownloadPlan, registry: Registry | None = None) -> int:
    """Bytes an earlier, interrupted install of this plan already left on disk."""
    work = (registry or Registry()).partial_dir(plan.name)
    total = 0
    for f in plan.files:
        for p in (work / f.path, work / (f.path + ".part")):
            if p.is_file():
                total += min(p.stat().st_size, f.size)
                break
    return total


def install(
    plan: DownloadPlan,
    *,
    registry: Registry | None = None,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
    make_default: bool | None = None,
) -> InstalledModel:
    """Download, verify and register `plan`; an interruption leaves a resumable partial."""
    registry = registry or Registry()
    if registry.exists(plan.name):
        raise AlreadyInstalledError(plan.name)
    work = registry.partial_dir(plan.name)
    with exclusive(work.parent / f"{plan.name}.lock", f"Installing {plan.name}"):
        work.mkdir(parents=True, exist_ok=True)
        ensure_space(work, plan.total_bytes - bytes_present(plan, registry))
        previous = _read_state(work)
        _write_state(work, plan)
        _drop_strays(work, plan)
        tracker = _Tracker(plan.total_bytes, on_progress)
        known: dict[str, FileEntry] = {}
        for remote in plan.files:
            if should_stop and should_stop():
                raise CancelledError(_CANCELLED)
            sha = _fetch(plan, remote, work, previous.get(remote.path), tracker, should_stop)
            known[remote.path] = FileEntry(sha, remote.size)
        (work / STATE_FILE).unlink(missing_ok=True)
        write_manifest(
            work, name=plan.name, family=plan.entry.family, dtype=plan.dtype,
            source=plan.source, known=known,
        )
        check_folder(work, family=plan.entry.family, dtype=plan.dtype, verify_checksums=False)
        return registry.adopt(work, plan.name, make_default=make_default)


def abort_transfers() -> None:
    """Close huggingface_hub's connections, so a download stuck on a silent network ends at
    its next read (call it after its `should_stop` has turned true: it then raises
    CancelledError). Without this, retries could keep a cancelled download alive a minute."""
    from huggingface_hub.utils import close_session

    close_session()


def _fetch(
    plan: DownloadPlan,
    remote: RemoteFile,
    work: Path,
    previous_ident: str | None,
    tracker: _Tracker,
    should_stop: StopCheck | None,
) -> str:
    """One file into place, resuming its `.part`; returns its verified sha256."""
    dest = work / remote.path
    part = dest.with_name(dest.name + ".part")
    if dest.is_file():
        sha = verified_sha256(dest, remote)
        if sha:
            tracker.finished(remote)
            return sha
        dest.unlink()
    if part.is_file() and (previous_ident != remote.ident or part.stat().st_size > remote.size):
        part.unlink()  # left by another revision of the file: useless
    dest.parent.mkdir(parents=True, exist_ok=True)
    resume = part.stat().st_size if part.is_file() else 0
    with hub_errors(plan.endpoint, plan.repo_id), open(part, "r+b" if resume else "wb") as raw:
        from huggingface_hub import hf_hub_url
        from huggingface_hub.file_download import http_get
        from huggingface_hub.utils import build_hf_headers

        raw.seek(resume)
        url = hf_hub_url(plan.repo_id, remote.path, revision=plan.commit, endpoint=plan.endpoint)
        try:
            http_get(
                url,
                _Sink(raw, remote.path, tracker, should_stop),
                resume_size=resume,
                headers=build_hf_headers(),
                expected_size=remote.size,
                displayed_filename=remote.path,
                tqdm_class=_NoBar,
            )
        except Exception as e:
            if should_stop and should_stop():  # `abort_transfers` broke the connection
                raise CancelledError(_CANCELLED) from e
            raise
    sha = verified_sha256(part, remote)
    if sha is None:
        part.unlink()
        raise ModelFolderError(
            f"The downloaded {remote.path} does not match the checksum the hub lists for it, so "
            "it was discarded; run the install again, or import the model from a .zip."
        )
    os.replace(part, dest)
    tracker.finished(remote)
    return sha


def verified_sha256(path: Path, remote: RemoteFile) -> str | None:
    """The file's sha256 when its size and checksum match the hub's metadata, else None."""
    if path.stat().st_size != remote.size:
        return None
    sha256 = hashlib.sha256()
    git = hashlib.sha1(f"blob {remote.size}\0".encode())
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            sha256.update(chunk)
            if remote.blob_id:
                git.update(chunk)
    if remote.sha256 and sha256.hexdigest() != remote.sha256:
        return None
    if remote.blob_id and git.hexdigest() != remote.blob_id:
        return None
    return sha256.hexdigest()


class _Tracker:
    """Adds up bytes across files and reports them."""

    def __init__(self, total: int, on_progress: ProgressCallback | None) -> None:
        self.total, self.completed, self.on_progress = total, 0, on_progress

    def report(self, file: str, file_bytes: int) -> None:
        if self.on_progress:
            self.on_progress(Progress(file, min(self.completed + file_bytes, self.total), self.total))

    def finished(self, remote: RemoteFile) -> None:
        self.completed += remote.size
        self.report(remote.path, 0)


class _Sink:
    """The file huggingface_hub writes into: reports progress and stops between chunks."""

    def __init__(self, raw, path: str, tracker: _Tracker, should_stop: StopCheck | None) -> None:
        self.raw, self.path, self.tracker, self.should_stop = raw, path, tracker, should_stop

    def write(self, data: bytes) -> int:
        n = self.raw.write(data)
        self.raw.flush()
        self.tracker.report(self.path, self.raw.tell())
        if self.should_stop and self.should_stop():
            raise CancelledError(_CANCELLED)
        return n

    def tell(self) -> int:
        return self.raw.tell()

    def seek(self, *args) -> int:
        return self.raw.seek(*args)

    def truncate(self, *args) -> int:
        return self.raw.truncate(*args)


class _NoBar:
    """Silences huggingface_hub's own progress bar; we report through `on_progress`."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def update(self, n: float = 1) -> None:
        pass


def _read_state(work: Path) -> dict[str, str]:
    try:
        files = json.loads((work / STATE_FILE).read_text(encoding="utf-8"))["files"]
        return {str(k): str(v) for k, v in files.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _write_state(work: Path, plan: DownloadPlan) -> None:
    state = {
        "repo_id": plan.repo_id, "commit": plan.commit, "dtype": plan.dtype,
        "files": {f.path: f.ident for f in plan.files},
    }
    write_atomic(work / STATE_FILE, json.dumps(state, indent=2))


def _drop_strays(work: Path, plan: DownloadPlan) -> None:
    """Remove our own leftovers that the plan no longer names (e.g. an older revision's)."""
    keep = {f.path for f in plan.files} | {f.path + ".part" for f in plan.files} | {STATE_FILE}
    for p in sorted(work.rglob("*"), reverse=True):
        rel = p.relative_to(work).as_posix()
        if p.is_file() and rel not in keep:
            p.unlink()
        elif p.is_dir() and not any(p.iterdir()):
            p.rmdir()
