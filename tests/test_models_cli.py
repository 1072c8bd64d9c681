"""`lumen models ...` as a user runs it: output, exit codes, one-line errors, confirmation."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop.cli import main
from desktop.cli import models_cmd
from tests.support.hub_server import FakeHub
from tests.support.model_fakes import make_model_folder, model_files, onnx_bytes
from tests.support.net_guard import guard_site_dir

REPO = "onnx-community/Florence-2-base-ft"
BIG = "onnx/vision_encoder_int8.onnx"


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv("LUMEN_MODELS_DIR", str(folder))
    return folder


@pytest.fixture
def hub(monkeypatch, no_network):
    with FakeHub(lifetime_s=60) as hub:
        hub.add_repo(REPO, model_files("florence2", "int8", onnx_size=20_000))
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        yield hub


def lumen(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["models", *args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


def test_list_when_nothing_is_installed(capsys, models_dir: Path) -> None:
    code, out, _ = lumen(capsys, "list")
    assert code == 0
    assert f"Models folder: {models_dir}" in out and "No model is installed yet." in out
    assert "florence-2-base-ft (recommended)" in out
    assert "blip-base: BLIP base; export only" in out
    code, out, _ = lumen(capsys, "list", "--json")
    data = json.loads(out)
    assert data["installed"] == [] and data["default"] is None
    assert data["recommended"] == {"name": "florence-2-base-ft", "dtype": "int8",
                                   "reason": data["recommended"]["reason"]}
    blip = next(e for e in data["catalogue"] if e["name"] == "blip-base")
    assert blip["export_only"] and blip["repo_id"] is None


def test_install_list_default_pack_import_remove(capsys, models_dir: Path, hub: FakeHub, tmp_path: Path) -> None:
    code, out, err = lumen(capsys, "install", "Florence-2-base-ft", "--dtype", "int8")
    assert code == 0, err
    assert out.strip() == f"Installed florence-2-base-ft-int8 in {models_dir / 'florence-2-base-ft-int8'} (default)"
    assert "Installing florence-2-base-ft-int8:" in err and "100%" in err

    code, out, _ = lumen(capsys, "pack", "florence-2-base-ft-int8", str(tmp_path))
    assert code == 0 and (tmp_path / "florence-2-base-ft-int8.zip").is_file()
    code, out, err = lumen(capsys, "import", str(tmp_path / "florence-2-base-ft-int8.zip"), "--name", "copy")
    assert code == 0, err
    assert out.startswith("Imported copy (florence2, int8,")

    code, out, _ = lumen(capsys, "default", "copy")
    assert (code, out.strip()) == (0, "Default model: copy")
    code, out, _ = lumen(capsys, "list", "--json")
    data = json.loads(out)
    assert data["default"] == "copy"
    assert {m["name"]: m["default"] for m in data["installed"]} == {
        "copy": True, "florence-2-base-ft-int8": False}
    code, out, _ = lumen(capsys, "list")
    assert "  copy (default): florence2, int8," in out

    code, out, _ = lumen(capsys, "verify", "copy")
    assert code == 0 and "every file matches its checksum" in out
    code, out, _ = lumen(capsys, "remove", "copy", "--yes")
    assert (code, out.strip()) == (0, "Removed copy")
    assert not (models_dir / "copy").exists()
    code, out, _ = lumen(capsys, "list", "--json")
    assert json.loads(out)["default"] == "florence-2-base-ft-int8"


def test_remove_asks_first(capsys, models_dir: Path, monkeypatch) -> None:
    make_model_folder(models_dir / "mine", name="mine")
    code, _, err = lumen(capsys, "remove", "mine")  # stdin is not a terminal under pytest
    assert code == 2
    assert_one_line_error(err, "Add --yes")
    assert (models_dir / "mine").is_dir()

    monkeypatch.setattr(models_cmd, "_interactive", lambda: True)
    monkeypatch.setattr(sys, "stdin", _Stdin("n\n"))
    code, _, err = lumen(capsys, "remove", "mine")
    assert code == 1 and "Delete the model mine" in err and "error: nothing removed" in err
    assert (models_dir / "mine").is_dir()
    monkeypatch.setattr(sys, "stdin", _Stdin("y\n"))
    code, out, _ = lumen(capsys, "remove", "mine")
    assert code == 0 and not (models_dir / "mine").exists()


class _Stdin:
    def __init__(self, text: str) -> None:
        self.text = text

    def readline(self) -> str:
        return self.text

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("breakage, fragment", [
    (lambda f: (f / "tokenizer.json").unlink(), "missing tokenizer.json"),
    (lambda f: (f / "onnx/encoder_model_int8.onnx").write_bytes(b"\x08"), "encoder_model_int8.onnx is truncated"),
    (lambda f: [p.unlink() for p in f.rglob("*") if p.is_file()], "is empty"),
])
def test_broken_import_is_one_line_with_exit_3(capsys, models_dir: Path, tmp_path: Path, breakage, fragment) -> None:
    folder = make_model_folder(tmp_path / "usb", manifest=False)
    breakage(folder)
    for p in sorted(folder.rglob("*"), reverse=True):
        if p.is_dir() and not any(p.iterdir()):
            p.rmdir()
    code, _, err = lumen(capsys, "import", str(folder))
    assert code == 3
    assert_one_line_error(err, fragment)
    assert not models_dir.exists() or not any(p for p in models_dir.iterdir() if not p.name.startswith("."))


@pytest.mark.parametrize("args, code, fragment", [
    (["default", "nothing"], 2, "No installed model is called 'nothing'"),
    (["install", "gpt-17"], 2, "No known model is called 'gpt-17'"),
    (["install", "blip-base"], 2, "add --export"),
    (["import", "/no/such/place"], 3, "does not exist"),
    (["pack", "nothing"], 2, "No installed model"),
])
def test_bad_input_exit_codes(capsys, models_dir: Path, args, code, fragment) -> None:
    got, _, err = lumen(capsys, *args)
    assert got == code
    assert_one_line_error(err, fragment)


def test_install_checksum_mismatch_exit_3(capsys, models_dir: Path, hub: FakeHub) -> None:
    data = hub.repos[REPO].files[BIG]
    hub.tamper[BIG] = data[:-1] + bytes([data[-1] ^ 1])
    code, _, err = lumen(capsys, "install", "florence-2-base-ft", "--dtype", "int8")
    assert code == 3
    assert f"error: The downloaded {BIG} does not match the checksum" in err
    assert "Traceback" not in err
    assert not (models_dir / "florence-2-base-ft-int8").exists()


def test_install_unreachable_hub_exit_1(capsys, models_dir: Path, monkeypatch) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, _, err = lumen(capsys, "install", "--endpoint", f"http://127.0.0.1:{port}")
    assert code == 1
    assert_one_line_error(err, "Could not download from", "lumen models import")


def test_interrupted_install_resumes(tmp_path: Path, models_dir: Path) -> None:
    """A real interruption: Ctrl+C on a `lumen` process mid-file, then the same command again."""
    files = model_files("florence2", "int8", onnx_size=10_000)
    files[BIG] = onnx_bytes(3_000_000)  # several of the 1 MB chunks a download writes
    env = {**os.environ, "LUMEN_MODELS_DIR": str(models_dir),
           "PYTHONPATH": os.pathsep.join([str(guard_site_dir(tmp_path)), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "desktop.cli", "models", "install", "--dtype", "int8"]
    part = models_dir / ".partial" / "florence-2-base-ft-int8" / (BIG + ".part")
    with FakeHub(lifetime_s=120) as hub:
        hub.add_repo(REPO, files)
        hub.stall[BIG] = 2_500_000  # the server hangs after 2.5 MB
        env["HF_ENDPOINT"] = hub.endpoint
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while not (part.is_file() and part.stat().st_size >= 2 * 2**20):
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() is not None else "timed out"
                time.sleep(0.1)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
        finally:
            proc.kill()
        assert proc.returncode == 130, err
        assert err.strip().splitlines()[-1] == (
            "error: interrupted; run the same install again to resume where it stopped")
        kept = part.stat().st_size
        assert not (models_dir / "florence-2-base-ft-int8").exists()

        del hub.stall[BIG]
        again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        assert "resuming after" in again.stderr
        lfs_gets = [r for r in hub.requests if r.method == "GET" and "/lfs/" in r.path]
        assert lfs_gets[-1].range == f"bytes={kept}-"
    assert (models_dir / "florence-2-base-ft-int8" / BIG).read_bytes() == files[BIG]
