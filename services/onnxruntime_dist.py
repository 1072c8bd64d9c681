"""Which ONNX Runtime build is installed, and restoring onnxruntime-gpu after pip broke it.

argostranslate needs minisbd, which requires plain `onnxruntime`. Every ONNX Runtime build
installs into the same `onnxruntime/` folder, so pip installing the plain build next to
onnxruntime-gpu overwrites the GPU build's native library with the CPU-only one (CUDA is
gone), and uninstalling either build deletes files the other one needs. After any install
that pulled plain onnxruntime in, the repair is:

    pip uninstall -y onnxruntime
    pip install --force-reinstall --no-deps onnxruntime-gpu==<the version that was installed>

`python -m services.onnxruntime_dist --ensure auto` does this and checks the result: "auto"
picks onnxruntime-gpu when `nvidia-smi` lists a GPU (an NVIDIA driver is loaded) and then also
installs its CUDA and cuDNN wheels (the `cuda` and `cudnn` extras), else keeps a
GPU/DirectML/OpenVINO build when one is installed, else plain onnxruntime. `make run` runs it
after every install (Makefile, .ci/run), so a GPU machine gets CUDA and stays that way.
Without arguments it only reports. pip may then warn that minisbd requires onnxruntime; the
GPU build provides the same module.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata
import importlib.util
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

PLAIN = "onnxruntime"
GPU = "onnxruntime-gpu"
# Builds that all install the `onnxruntime` import package; the order is auto's preference.
BUILDS = (GPU, "onnxruntime-directml", "onnxruntime-openvino", "onnxruntime-qnn", PLAIN)
CUDA_PROVIDER = {"win32": "onnxruntime_providers_cuda.dll"}.get(
    sys.platform, "libonnxruntime_providers_cuda.so")
NATIVE_SUFFIXES = (".so", ".pyd", ".dll", ".dylib")
HASH_LIMIT = 64 * 1024 * 1024  # larger libraries are compared by size only (hashing is slow)
# onnxruntime-gpu's extras that pull the CUDA 12 runtime and cuDNN 9 as nvidia-*-cu12 wheels.
GPU_EXTRAS = "[cuda,cudnn]"

Runner = Callable[[Sequence[str]], int]


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class OrtStatus:
    """The ONNX Runtime builds installed in one site-packages folder."""

    site: Path
    distributions: dict[str, str]  # normalised name -> version
    cuda_provider: Path | None  # the CUDA execution provider library, when present
    changed: dict[str, tuple[str, ...]]  # build -> its key files that are missing or differ

    @property
    def conflict(self) -> bool:
        return len(self.distributions) > 1

    def intact(self, build: str) -> bool:
        """Only `build` is installed and its native files are the ones it shipped."""
        ok = list(self.distributions) == [build] and not self.changed.get(build)
        return ok and (build != GPU or self.cuda_provider is not None)

    def chosen(self) -> str | None:
        """What `--ensure auto` keeps: a non-plain build if any is installed, else plain."""
        return next((b for b in BUILDS if b in self.distributions), None)

    def describe(self) -> str:
        if not self.distributions:
            return "ONNX Runtime is not installed."
        names = ", ".join(f"{n} {v}" for n, v in sorted(self.distributions.items()))
        lines = [f"installed: {names} in {self.site}",
                 f"CUDA provider library: {self.cuda_provider or 'absent'}"]
        if self.conflict:
            lines.append("conflict: several ONNX Runtime builds share the onnxruntime folder")
        for build, files in self.changed.items():
            if files:
                lines.append(f"{build}: overwritten or missing: {', '.join(files)}")
        return "\n".join(lines)


def default_site() -> Path | None:
    """site-packages holding the `onnxruntime` package of this interpreter (not imported)."""
    spec = importlib.util.find_spec("onnxruntime")
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).resolve().parent.parent


def site_of(python: str) -> Path:
    out = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def _key_files(dist: importlib.metadata.Distribution) -> list[importlib.metadata.PackagePath]:
    keep = []
    for f in dist.files or []:
        p = f.as_posix()
        if p == "onnxruntime/__init__.py" or (
                p.startswith("onnxruntime/capi/") and p.endswith(NATIVE_SUFFIXES)):
            keep.append(f)
    return keep


def _differs(site: Path, f: importlib.metadata.PackagePath) -> bool:
    path = site / f
    if not path.is_file():
        return True
    if f.size is not None and path.stat().st_size != f.size:
        return True
    if f.hash is None or f.hash.mode != "sha256" or path.stat().st_size > HASH_LIMIT:
        return False
    digest = hashlib.sha256(path.read_bytes()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != f.hash.value


def inspect(site: Path | None = None) -> OrtStatus:
    """Read the builds' metadata and check their key files against their RECORD."""
    site = Path(site) if site else (default_site() or Path(sys.prefix))
    found: dict[str, str] = {}
    changed: dict[str, tuple[str, ...]] = {}
    for dist in importlib.metadata.distributions(path=[str(site)]):
        name = _normal(dist.metadata["Name"] or "")
        if name in BUILDS:
            found[name] = dist.version
            changed[name] = tuple(f.as_posix() for f in _key_files(dist) if _differs(site, f))
    cuda = site / "onnxruntime" / "capi" / CUDA_PROVIDER
    return OrtStatus(site, found, cuda if cuda.is_file() else None, changed)


def _pip(python: str) -> list[str]:
    """pip for `python`'s environment. Another environment is driven with pip's --python
    option (it may have no pip of its own); paths are not resolved, since two virtual
    environments usually share one interpreter binary."""
    if python == sys.executable:
        return [sys.executable, "-m", "pip"]
    return [sys.executable, "-m", "pip", "--python", python]


def nvidia_gpus(which: Callable[[str], str | None] = shutil.which) -> list[str]:
    """The GPUs `nvidia-smi -L` lists; empty when there is no driver (or it is not loaded:
    nvidia-smi then exits non-zero) or no nvidia-smi at all."""
    smi = which("nvidia-smi")
    if smi is None:
        return []
    try:
        done = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if done.returncode != 0:
        return []
    return [line.strip() for line in done.stdout.splitlines() if line.strip().startswith("GPU ")]


def auto_target(status: OrtStatus, gpu_driver: bool) -> str | None:
    """What `--ensure auto` leaves installed: the GPU build on a machine with an NVIDIA driver,
    else the build already chosen (a GPU/DirectML/OpenVINO one wins over plain)."""
    if gpu_driver:
        return GPU
    return status.chosen()


def repair_commands(status: OrtStatus, keep: str, python: str = sys.executable,
                    pip_args: Sequence[str] = (), cuda_libraries: bool = False) -> list[list[str]]:
    """The pip commands that leave exactly `keep` installed, with its own files.

    `cuda_libraries` (with keep=onnxruntime-gpu) also installs the CUDA and cuDNN wheels;
    pip skips them quickly when they are already there."""
    pip = _pip(python)
    commands = []
    # Its own version when it is there (a repair); else pip's newest: the builds' release
    # numbers differ (onnxruntime 1.32.0 had no onnxruntime-gpu 1.32.0).
    version = status.distributions.get(keep)
    pinned = f"=={version}" if version else ""
    if not status.intact(keep):
        others = sorted(d for d in status.distributions if d != keep)
        if others:
            commands.append([*pip, "uninstall", "-y", *others])
        commands.append([*pip, "install", "--force-reinstall", "--no-deps", *pip_args, keep + pinned])
    if keep == GPU and cuda_libraries:
        commands.append([*pip, "install", *pip_args, f"{GPU}{GPU_EXTRAS}{pinned}"])
    return commands


def ensure(keep: str = "auto", python: str = sys.executable, pip_args: Sequence[str] = (),
           run: Runner | None = None, gpu_driver: bool | None = None) -> OrtStatus:
    """Repair the ONNX Runtime install of `python` so that only `keep` remains, intact.

    With keep="auto", `gpu_driver` (None: ask nvidia-smi) decides between onnxruntime-gpu with
    its CUDA/cuDNN wheels and the build already installed.
    Raises RuntimeError (with the status) when pip fails or the result is still not right.
    """
    run = run or (lambda argv: subprocess.run(list(argv)).returncode)
    site = site_of(python) if python != sys.executable else (default_site() or site_of(python))
    status = inspect(site)
    if keep == "auto" and gpu_driver is None:
        gpu_driver = bool(nvidia_gpus())
    target = auto_target(status, bool(gpu_driver)) if keep == "auto" else _normal(keep)
    if target is None:
        raise RuntimeError("ONNX Runtime is not installed: nothing to keep.")
    for argv in repair_commands(status, target, python, pip_args, cuda_libraries=bool(gpu_driver)):
        if run(argv) != 0:
            raise RuntimeError(f"`{' '.join(argv)}` failed:\n{inspect(site).describe()}")
    after = inspect(site)
    if not after.intact(target):
        raise RuntimeError(f"{target} is still not intact:\n{after.describe()}")
    return after


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.onnxruntime_dist",
                                     description="Report or repair the ONNX Runtime build.")
    parser.add_argument("--ensure", metavar="BUILD",
                        help="leave only BUILD installed (auto, onnxruntime, onnxruntime-gpu, ...)")
    parser.add_argument("--python", default=sys.executable, help="the environment's interpreter")
    parser.add_argument("pip_args", nargs="*", help="extra pip install options, after --")
    args = parser.parse_args(argv)
    if not args.ensure:
        site = site_of(args.python) if args.python != sys.executable else None
        status = inspect(site)
        print(status.describe())
        chosen = status.chosen()
        return 0 if chosen and status.intact(chosen) else 1
    gpus = nvidia_gpus()
    if gpus and args.ensure in ("auto", GPU):
        print(f"NVIDIA driver found ({gpus[0]}): using onnxruntime-gpu with its CUDA and cuDNN wheels")
    try:
        status = ensure(args.ensure, args.python, args.pip_args, gpu_driver=bool(gpus))
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(status.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
