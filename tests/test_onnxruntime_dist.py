"""onnxruntime-gpu survives argostranslate's dependencies (minisbd requires plain onnxruntime).

The real clash is reproduced offline with stand-in wheels that have the same layout as the
real ones (both builds install `onnxruntime/`; only the GPU build ships the CUDA provider),
installed by the real pip into a throwaway environment: pip overwrites the GPU build's files
exactly as it does with the real wheels, and `ensure` must undo it.
"""
from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.support.net_guard import guard_site_dir
from services import onnxruntime_dist as ortd

VERSION = "1.31.1"


def make_wheel(folder: Path, name: str, version: str, files: dict[str, bytes],
               requires: tuple[str, ...] = (), extras: tuple[str, ...] = ()) -> Path:
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    files = {
        **files,
        f"{info}/METADATA": ("Metadata-Version: 2.1\n"
                             f"Name: {name}\nVersion: {version}\n"
                             + "".join(f"Provides-Extra: {e}\n" for e in extras)
                             + "".join(f"Requires-Dist: {r}\n" for r in requires)).encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: lumen-tests\nRoot-Is-Purelib: true\n"
                         b"Tag: py3-none-any\n",
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    wheel = folder / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
        zf.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return wheel


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wheels")
    capi = "onnxruntime/capi/"
    # As the real wheel: the `cuda` and `cudnn` extras pull NVIDIA's library wheels.
    make_wheel(folder, "onnxruntime-gpu", VERSION, {
        "onnxruntime/__init__.py": b"BUILD = 'gpu'\n",
        f"{capi}onnxruntime_pybind11_state.so": b"GPU build\n" * 300,
        f"{capi}{ortd.CUDA_PROVIDER}": b"CUDA provider\n" * 300,
    }, ('nvidia-cuda-runtime-cu12; extra == "cuda"', 'nvidia-cudnn-cu12; extra == "cudnn"'),
        ("cuda", "cudnn"))
    make_wheel(folder, "nvidia-cuda-runtime-cu12", "12.9.79", {"nvidia/cuda_runtime/__init__.py": b""})
    make_wheel(folder, "nvidia-cudnn-cu12", "9.10.2.21", {"nvidia/cudnn/__init__.py": b""})
    make_wheel(folder, "onnxruntime", VERSION, {
        "onnxruntime/__init__.py": b"BUILD = 'cpu'\n",
        f"{capi}onnxruntime_pybind11_state.so": b"CPU build\n" * 200,
    })
    make_wheel(folder, "minisbd", "0.9.5", {"minisbd/__init__.py": b""}, ("onnxruntime",))
    return folder


@pytest.fixture
def env(tmp_path: Path, monkeypatch) -> Path:
    """A fresh environment without pip: our pip drives it through `pip --python`. Every
    Python process started from here runs under the network guard (pip stays offline)."""
    monkeypatch.setenv("PYTHONPATH", str(guard_site_dir(tmp_path)))
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    venv.create(tmp_path / "env", with_pip=False)
    return tmp_path / "env" / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def pip_install(python: Path, wheels: Path, *names: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--no-index", "--find-links", str(wheels), *names], check=True)


def build_of(python: Path) -> str:
    return subprocess.run([str(python), "-c", "import onnxruntime; print(onnxruntime.BUILD)"],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_gpu_build_survives_argos_dependencies(env: Path, wheels: Path) -> None:
    own = ortd.inspect()
    site = ortd.site_of(str(env))
    assert site != own.site
    pip_install(env, wheels, "onnxruntime-gpu")
    assert ortd.inspect(site).intact(ortd.GPU)

    pip_install(env, wheels, "minisbd")  # what `pip install argostranslate` does
    broken = ortd.inspect(site)
    assert broken.conflict and not broken.intact(ortd.GPU)
    assert "onnxruntime/capi/onnxruntime_pybind11_state.so" in broken.changed[ortd.GPU]
    assert build_of(env) == "cpu"  # the CUDA build is really gone

    fixed = ortd.ensure("auto", str(env), ["--no-index", "--find-links", str(wheels)], gpu_driver=False)
    assert fixed.distributions == {ortd.GPU: VERSION}
    assert fixed.intact(ortd.GPU) and fixed.cuda_provider == site / "onnxruntime/capi" / ortd.CUDA_PROVIDER
    assert build_of(env) == "gpu"
    assert (site / "minisbd" / "__init__.py").is_file()  # argostranslate's dependency stays
    assert ortd.inspect() == own  # and the project's own environment was not touched


def test_plain_build_needs_no_repair(env: Path, wheels: Path) -> None:
    pip_install(env, wheels, "minisbd")
    ran: list[list[str]] = []
    status = ortd.ensure("auto", str(env), run=lambda argv: ran.append(list(argv)) or 0, gpu_driver=False)
    assert ran == [] and status.intact(ortd.PLAIN) and status.cuda_provider is None


def test_repair_commands_uninstall_the_intruder_first(tmp_path: Path) -> None:
    status = ortd.OrtStatus(tmp_path, {ortd.GPU: "1.20.0", ortd.PLAIN: "1.20.0"}, None,
                            {ortd.GPU: ("onnxruntime/__init__.py",)})
    commands = ortd.repair_commands(status, ortd.GPU, sys.executable, ["--no-index"])
    assert [c[3:] for c in commands] == [
        ["uninstall", "-y", "onnxruntime"],
        ["install", "--force-reinstall", "--no-deps", "--no-index", "onnxruntime-gpu==1.20.0"],
    ]
    assert status.chosen() == ortd.GPU and not status.intact(ortd.GPU)


def test_reports_this_environment() -> None:
    """The project's own environment: whatever build it has, the report agrees with it."""
    import onnxruntime

    status = ortd.inspect()
    assert status.distributions, status.describe()
    chosen = status.chosen()
    assert status.intact(chosen), status.describe()
    # The CUDA provider library is there exactly when the build is onnxruntime-gpu, and exactly
    # then onnxruntime offers CUDA (the GPU build lists it with or without a GPU present): on a
    # CPU machine both sides are False, on the GPU machine both True; each can fail.
    gpu_build = chosen == ortd.GPU
    has_cuda = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    assert (status.cuda_provider is not None, has_cuda) == (gpu_build, gpu_build), status.describe()
    done = subprocess.run([sys.executable, "-m", "services.onnxruntime_dist"],
                          capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert done.returncode == 0 and f"{chosen} {status.distributions[chosen]} " in done.stdout
    assert f"CUDA provider library: {status.cuda_provider or 'absent'}" in done.stdout


def fake_nvidia_smi(folder: Path, monkeypatch, output: str, code: int = 0) -> None:
    """An `nvidia-smi` first on PATH that prints `output` and exits with `code`."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "nvidia-smi"
    script.write_text(f'#!/bin/sh\necho "{output}"\nexit {code}\n')  # builtins only: PATH may be bare
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")


H100 = "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-5b1c7a8e-0000-0000-0000-000000000000)"


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in nvidia-smi is a shell script")
def test_driver_is_detected_from_nvidia_smi(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert ortd.nvidia_gpus() == []  # no nvidia-smi at all
    fake_nvidia_smi(tmp_path / "broken", monkeypatch,
                    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", 9)
    assert ortd.nvidia_gpus() == []  # installed, but the driver is not loaded
    fake_nvidia_smi(tmp_path / "ok", monkeypatch, H100)
    assert ortd.nvidia_gpus() == [H100]


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in nvidia-smi is a shell script")
def test_driver_present_installs_gpu_build_with_cuda_wheels(env: Path, wheels: Path, tmp_path: Path,
                                                            monkeypatch) -> None:
    """`make run` on a plain install: with a driver, auto swaps in onnxruntime-gpu and its
    CUDA/cuDNN wheels (real pip, stand-in wheels); a later argos install is repaired again."""
    site = ortd.site_of(str(env))
    pip_install(env, wheels, "onnxruntime")
    fake_nvidia_smi(tmp_path / "bin", monkeypatch, H100)
    offline = ["--no-index", "--find-links", str(wheels)]
    fixed = ortd.ensure("auto", str(env), offline)  # gpu_driver=None: asks the fake nvidia-smi
    assert fixed.distributions == {ortd.GPU: VERSION} and fixed.intact(ortd.GPU)
    assert build_of(env) == "gpu"
    for lib in ("nvidia/cuda_runtime", "nvidia/cudnn"):
        assert (site / lib / "__init__.py").is_file(), lib

    pip_install(env, wheels, "minisbd")
    assert build_of(env) == "cpu"
    assert ortd.ensure("auto", str(env), offline).intact(ortd.GPU) and build_of(env) == "gpu"


def test_no_driver_keeps_plain_build(env: Path, wheels: Path, tmp_path: Path, monkeypatch) -> None:
    pip_install(env, wheels, "onnxruntime")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no nvidia-smi anywhere
    ran: list[list[str]] = []
    status = ortd.ensure("auto", str(env), run=lambda argv: ran.append(list(argv)) or 0)
    assert ran == [] and status.distributions == {ortd.PLAIN: VERSION}
