"""Disk-space checks, human-readable sizes, locks, atomic writes and build-once folders shared
by installs, imports, packs, the training set, history, checkpoints, the benchmark and the tests."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from models.errors import LumenError
from models.exit_status import ExitStatus

# Headroom kept free beyond what a model needs, so the disk is not filled to the last byte.
_HEADROOM = 64 << 20


class NotEnoughSpaceError(LumenError):
    exit_code = ExitStatus.FAILED


def human_size(n: float) -> str:
    """Sizes as people read them: 950 bytes, 4.2 MB, 290 MB, 1.5 GB."""
    if n < 1000:
        return f"{int(n)} bytes"
    for unit in ("KB", "MB", "GB", "TB"):
        n /= 1000
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}" if n < 10 else f"{n:.0f} {unit}"
    return f"{n:.0f} TB"


def ensure_space(folder: Path, needed: int) -> None:
    """Raise NotEnoughSpaceError when `folder`'s disk cannot take `needed` more bytes."""
    if needed <= 0:
        return
    free = shutil.disk_usage(folder).free
    if free < needed + _HEADROOM:
        raise NotEnoughSpaceError(
            f"Not enough free disk space in {folder}: the model needs {human_size(needed)} and "
            f"{human_size(free)} is free; free some space and try again."
        )


class FolderBusyError(LumenError):
    exit_code = ExitStatus.FAILED


@contextmanager
def exclusive(lock_path: Path, what: str) -> Iterator[None]:
    """Hold an OS lock on `lock_path` (freed even if the process dies); refuse a second holder.

    The lock file lives beside, not inside, the folder it guards, so that folder can be moved
    while the lock is held (Windows cannot move a folder with an open file in it).
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path, "a+b")
    try:
        handle.seek(0)
        try:
            if sys.platform == "win32":
                import msvcrt

                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            raise FolderBusyError(
                f"{what} is already in progress (in another Lumen window or command); wait for "
                "it to finish, or stop it, and try again."
            ) from e
        yield
    finally:
        handle.close()  # closing releases the lock on every platform


def write_atomic(path: Path, data: bytes | str) -> None:
    """Replace `path` with `data` so that a crash or power loss at any moment leaves either the
    old file or the new one, never a mix: a temporary sibling is written, flushed to the disk,
    and renamed over `path` (os.replace is atomic on one file system), then the folder's entry
    is flushed too."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        replace_synced(Path(tmp), path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace_synced(temporary: Path, path: Path) -> None:
    """Flush `temporary` (already written and closed) to the disk, rename it over `path` and
    flush the folder's entry: the last step of every atomic write, including files a library
    wrote to a temporary name (Parquet, XMP sidecars)."""
    with open(temporary, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(temporary, path)
    fsync_dir(Path(path).parent)


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename or a new file) to the disk; a no-op on Windows, where
    folders cannot be opened and NTFS journals the rename itself."""
    if sys.platform == "win32":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(folder: Path) -> None:
    """Flush every file under `folder` and the folders themselves, before the folder is renamed
    into place, so the name never points at files still only in memory after a power loss."""
    for path in sorted(Path(folder).rglob("*"), reverse=True):
        if path.is_file() and not path.is_symlink():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
        elif path.is_dir():
            fsync_dir(path)
    fsync_dir(Path(folder))


def remove_stale(folder: Path, *, prefix: str) -> list[Path]:
    """Remove the entries `<prefix><pid>-...` in `folder` whose process has ended (work left by
    a Lumen that was killed); entries of live processes are left alone. Returns what went."""
    gone = []
    if not folder.is_dir():
        return gone
    for entry in folder.iterdir():
        if not entry.name.startswith(prefix):
            continue
        pid = entry.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and _alive(int(pid)):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        gone.append(entry)
    return gone


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if sys.platform == "win32":
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        ctypes.windll.kernel32.CloseHandle(handle)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def build_once(final: Path, build: Callable[[Path], object]) -> Path:
    """`final`, made by `build(tmp)` in a temporary sibling and renamed into place when done,
    so a half-built folder is never taken for a finished one. Processes that want the same
    folder at once wait for the first to build it (one build, not one each on shared cores)."""
    if (final / ".done").is_file():
        return final
    from filelock import FileLock  # the export stack's; only the benchmark and tests build

    final.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(final.with_name(f"{final.name}.lock")):
        if (final / ".done").is_file():  # another process built it while this one waited
            return final
        tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        build(tmp)
        (tmp / ".done").write_text("ok")
        shutil.rmtree(final, ignore_errors=True)  # a half-built folder of a killed run
        tmp.rename(final)
    return final
