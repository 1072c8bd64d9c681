"""Every exit status of README's table, reached by running the real `lumen` (a new process, as a
script would) into the situation the table names, and checked exactly: one `error:` line, no
traceback. A missing optional part is simulated by hiding its package (tests/support/hidden_packages.py)."""
from __future__ import annotations

import os
import pty
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from models.exit_status import ExitStatus
from tests.support.hidden_packages import hiding_site_dir

ROOT = Path(__file__).resolve().parent.parent
HANG_GUARD = 300


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's folders (all empty: no model installed) and three files: a picture, a file that
    is not a picture, a training set of four pictures."""
    root = tmp_path_factory.mktemp("statuses")
    Image.new("RGB", (40, 30), (200, 40, 40)).save(root / "photo.png")
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a picture")
    data = root / "data"
    data.mkdir()
    lines = []
    for i in range(4):
        Image.new("RGB", (32, 32), (60 * i, 10, 10)).save(data / f"{i}.png")
        lines.append(f'{{"file_name": "{i}.png", "text": "a red square"}}')
    (data / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    (root / "empty").mkdir()
    return root


def environment(place: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("LUMEN_LOG", "DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
           and not k.startswith(("caption_model", "total_captions"))}
    env.update(LUMEN_MODELS_DIR=str(place / "models"), LUMEN_CONFIG_DIR=str(place / "config"),
               LUMEN_DATA_DIR=str(place / "user-data"), LUMEN_INSTANCE=str(place / "lumen.sock"),
               ARGOS_PACKAGES_DIR=str(place / "argos"), HF_HUB_OFFLINE="1",
               PYTHONPATH=os.pathsep.join([str(hiding_site_dir(place)), str(ROOT)]), **extra)
    return env


def lumen_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "desktop.cli", *args]


def error_lines(stderr: str) -> list[str]:
    """Lumen's `error: ...` lines (one per failed picture), or argparse's `lumen X: error: ...`."""
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("error: ") or ": error: " in line]


def one_error_line(stderr: str) -> str:
    errors = error_lines(stderr)
    assert len(errors) == 1, stderr
    return errors[0]


@dataclass(frozen=True)
class Case:
    why: str
    args: tuple[str, ...]  # {place} and {blip} are filled in
    status: ExitStatus
    says: str  # a piece of the last error line ("" for none)
    env: tuple[tuple[str, str], ...] = ()


CASES = [
    Case("done", ("models", "list", "--json"), ExitStatus.OK, ""),
    Case("a bad option value", ("describe", "{place}/photo.png", "--threads", "0"), ExitStatus.USAGE,
         "--threads: must be at least 1"),
    Case("a picture that cannot be read", ("describe", "{place}/broken.png", "--task", "ocr"),
         ExitStatus.USAGE, "broken.png"),
    Case("an unknown model name", ("models", "install", "florence-3"), ExitStatus.USAGE, "florence-3"),
    Case("a bad environment value", ("serve",), ExitStatus.USAGE, "total_captions_number",
         (("total_captions_number", "zero"),)),
    Case("no model installed", ("describe", "{place}/photo.png"), ExitStatus.NO_MODEL, "lumen models install"),
    Case("the model fails while running (BLIP cannot find objects)",
         ("describe", "{place}/photo.png", "--model", "{blip}", "--task", "objects"), ExitStatus.MODEL_FAILED,
         "Florence-2"),
    Case("an export that fails", ("export", "{place}/empty", "{place}/exported"), ExitStatus.EXPORT, "config.json"),
    Case("speech cannot be written", ("describe", "{place}/photo.png", "--audio-out", "{place}/missing/x.wav"),
         ExitStatus.SPEECH, "does not exist"),
    Case("a language that is not installed", ("describe", "{place}/photo.png", "--lang", "xx"),
         ExitStatus.TRANSLATION, "xx"),
    Case("training cannot start", ("train", "{place}/empty", "--data", "{place}/data"), ExitStatus.TRAINING,
         "config.json"),
    Case("the screen cannot be captured", ("capture", "--window"), ExitStatus.CAPTURE, "active window",
         (("QT_QPA_PLATFORM", "offscreen"),)),
    Case("no display", ("capture",), ExitStatus.NO_DISPLAY, "no display"),
    Case("a batch in which some pictures failed",
         ("describe", "{place}/photo.png", "{place}/broken.png", "--task", "ocr"), ExitStatus.SOME_FAILED,
         "broken.png"),
    Case("a batch in which the model failed on one and another could not be read",
         ("describe", "{place}/photo.png", "{place}/broken.png", "--model", "{blip}", "--task", "objects"),
         ExitStatus.MODEL_FAILED, "Florence-2"),
]
# A missing optional part: one status whatever the command.
NOT_INSTALLED = [
    ("serve", ("serve",), "fastapi", "lumen[serve]"),
    ("export", ("export", "{place}/empty", "{place}/exported"), "torch", "lumen[export]"),
    ("train", ("train", "{place}/empty", "--data", "{place}/data"), "tqdm", "lumen[train]"),
    ("evaluate", ("evaluate", "{place}/empty", "--data", "{place}/data"), "jiwer", "lumen[train]"),
    ("describe --lang", ("describe", "{place}/photo.png", "--lang", "de"), "argostranslate", "lumen[translate]"),
    ("ask --lang", ("ask", "{place}/photo.png", "What?", "--lang", "de"), "argostranslate", "lumen[translate]"),
    ("models install --export", ("models", "install", "blip-base", "--export"), "torch", "lumen[export]"),
]


def run(place: Path, blip: Path, args: tuple[str, ...], env: dict[str, str]) -> subprocess.CompletedProcess:
    argv = lumen_argv(*(a.format(place=place, blip=blip) for a in args))
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=HANG_GUARD,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("case", CASES, ids=[c.why for c in CASES])
def test_each_situation_ends_with_its_status(case: Case, place: Path, tiny_blip_onnx: Path) -> None:
    done = run(place, tiny_blip_onnx, case.args, environment(place, **dict(case.env)))
    assert done.returncode == case.status, (case.why, done.stderr)
    if case.says:
        errors = error_lines(done.stderr)
        assert len(errors) == len([a for a in case.args if a.endswith(".png")]) or len(errors) == 1, done.stderr
        assert any(case.says in line for line in errors), done.stderr
    else:
        assert "error:" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("command, args, hidden, extra", NOT_INSTALLED, ids=[c[0] for c in NOT_INSTALLED])
def test_a_missing_optional_part_is_one_status_whatever_the_command(
        command: str, args: tuple[str, ...], hidden: str, extra: str, place: Path, tiny_blip_onnx: Path) -> None:
    done = run(place, tiny_blip_onnx, args, environment(place, LUMEN_TEST_HIDE=hidden))
    assert done.returncode == ExitStatus.NOT_INSTALLED, done.stderr
    line = one_error_line(done.stderr)
    assert hidden in line and f"pip install '{extra}'" in line, line


def test_a_reader_that_goes_away(place: Path) -> None:
    """`lumen models list | head -0`: the pipe is closed before anything is written."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.Popen(lumen_argv("models", "list"), cwd=ROOT, env=environment(place), stdout=write,
                                stderr=subprocess.PIPE, text=True)
    finally:
        os.close(write)
    _, err = proc.communicate(timeout=HANG_GUARD)
    assert proc.returncode == ExitStatus.BROKEN_PIPE and err == ""


def _prompted_remove(place: Path, blip: Path) -> tuple[subprocess.Popen, int]:
    """`lumen models remove` on a terminal, stopped at its question."""
    from models.registry import Registry

    models = place / "models-to-remove"  # its own folder: the others stay without a model
    registry = Registry(models)
    if not registry.exists("blip-base-fp32"):  # the test before may have left it
        registry.link(blip, "blip-base-fp32")
    main, child = pty.openpty()
    env = {**environment(place), "LUMEN_MODELS_DIR": str(models)}
    proc = subprocess.Popen(lumen_argv("models", "remove", "blip-base-fp32"), cwd=ROOT, env=env,
                            stdin=child, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(child)
    asked = b""
    deadline = time.monotonic() + HANG_GUARD
    while b"Type y to confirm" not in asked:
        chunk = os.read(proc.stderr.fileno(), 4096)
        assert chunk and time.monotonic() < deadline, asked
        asked += chunk
    return proc, main


def test_ctrl_c_at_a_question(place: Path, tiny_blip_onnx: Path) -> None:
    proc, main = _prompted_remove(place, tiny_blip_onnx)
    try:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=HANG_GUARD)
    finally:
        os.close(main)
    assert proc.returncode == ExitStatus.INTERRUPTED, err
    assert one_error_line(err.decode()).startswith("error: interrupted")


def test_something_else_failed(place: Path, tiny_blip_onnx: Path) -> None:
    """Two of README's "something else": the user said no, and the port is taken."""
    proc, main = _prompted_remove(place, tiny_blip_onnx)
    try:
        os.write(main, b"n\n")
        _, err = proc.communicate(timeout=HANG_GUARD)
    finally:
        os.close(main)
    assert proc.returncode == ExitStatus.FAILED and "nothing removed" in one_error_line(err.decode())
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = run(place, tiny_blip_onnx, ("serve", "--model", "{blip}", "--port", str(port), "--device", "cpu"),
                   environment(place))
    assert done.returncode == ExitStatus.FAILED and "choose another --port" in one_error_line(done.stderr)
