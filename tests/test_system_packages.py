"""packaging/system_packages.sh: the one list of system packages, found missing before anything
runs, without uninstalling anything (a list naming a package that does not exist)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "packaging" / "system_packages.sh"
MISSING = "lumen-test-no-such-package"


def _list(tmp_path: Path) -> Path:
    listing = tmp_path / "packages.txt"
    listing.write_text(f"# test list\nbash run the shell\n{MISSING} test a package no machine has\n")
    return listing


def _shims(tmp_path: Path, uid: str) -> Path:
    """A PATH with the tools the script uses, `id` saying `uid`, no sudo, and an apt-get that
    records what it was asked."""
    shims = tmp_path / "bin"
    shims.mkdir()
    for tool in ("dirname", "dpkg-query", "dpkg", "grep", "cat"):
        (shims / tool).symlink_to(shutil.which(tool))
    (shims / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    (shims / "apt-get").write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path / 'apt-calls'}\n")
    for tool in ("id", "apt-get"):
        (shims / tool).chmod(0o755)
    return shims


def _run(tmp_path: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "LUMEN_SYSTEM_PACKAGES": str(_list(tmp_path))}
    if path:
        env["PATH"] = path
    return subprocess.run(["/bin/bash", str(SCRIPT), *args], env=env, capture_output=True, text=True,
                          timeout=60)


def test_check_names_the_missing_package_and_the_command(tmp_path: Path) -> None:
    done = _run(tmp_path, "test", "--check")
    assert done.returncode == 1
    assert f"{MISSING}: a package no machine has" in done.stderr
    assert f"sudo apt-get install -y --no-install-recommends {MISSING}" in done.stderr
    assert "bash" not in done.stderr.split("Install them")[1]  # installed ones are not listed
    assert _run(tmp_path, "run", "--check").returncode == 0  # test-only packages not needed to run


def test_without_root_or_sudo_it_stops_with_the_command(tmp_path: Path) -> None:
    shims = _shims(tmp_path, uid="1000")
    done = _run(tmp_path, "test", path=str(shims))
    assert done.returncode == 1
    assert "Install them as root" in done.stderr and f"apt-get update && apt-get install" in done.stderr
    assert not (tmp_path / "apt-calls").exists()


def test_as_root_it_installs_what_is_missing(tmp_path: Path) -> None:
    shims = _shims(tmp_path, uid="0")
    assert _run(tmp_path, "test", path=str(shims)).returncode == 0
    calls = (tmp_path / "apt-calls").read_text().splitlines()
    assert calls[0].startswith("update") and calls[1].startswith(f"install -y --no-install-recommends {MISSING}")


def test_make_and_ci_use_the_one_list_before_anything_runs() -> None:
    for target, want in (("test", "test"), ("run", "run")):
        # Under `make test` this runs inside make: without its variables, and no "Entering
        # directory" lines, the dry run prints what a user's `make` would run.
        env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
        dry = subprocess.run(["make", "--no-print-directory", "-n", "-B", target], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60).stdout.splitlines()
        assert dry[0] == f"packaging/system_packages.sh {want}", dry[:3]
        assert any("--no-deps 'rapidocr-onnxruntime==1.4.4'" in line for line in dry)
    ci = (ROOT / ".ci" / "run").read_text()
    assert "packaging/system_packages.sh test" in ci and "apt-get" not in ci
    listed = (ROOT / "packaging" / "system-packages.txt").read_text().split()
    for package in ("espeak-ng", "xvfb", "xdotool", "sox", "orca", "speech-dispatcher", "at-spi2-core",
                    "python3-pyatspi"):
        assert package in listed


def test_ocr_models_wheel_is_named_once_for_make_and_the_app() -> None:
    from models.ocr.files import WHEEL

    assert f"OCR_MODELS := {WHEEL}" in (ROOT / "Makefile").read_text()
