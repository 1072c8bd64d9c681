"""The PyInstaller bundle (build.spec), run the way a user runs it: dist/lumen/lumen.

The bundle is built once per state of its inputs (the spec, packaging hooks, the runtime
packages, resources and the versions of what it freezes); the key sits in build/, so an
unchanged tree reuses dist/lumen/ and only build/ and dist/ ever hold the artefacts.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import wave
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.support.require import require_tool

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist" / "lumen"
EXE = DIST / ("lumen.exe" if sys.platform == "win32" else "lumen")
KEY_FILE = ROOT / "build" / "lumen-bundle.key"
INPUT_DIRS = ("desktop", "models", "services", "resources", "packaging")
FROZEN_DISTS = ("pyinstaller", "pyinstaller-hooks-contrib", "PySide6-Essentials", "onnxruntime",
                "onnxruntime-gpu", "tokenizers", "numpy", "pillow", "pyttsx3", "pynput",
                "platformdirs", "opencv-python-headless", "pyclipper", "rapidocr-onnxruntime")
# What build.spec leaves out on purpose: the export and translation stacks.
LEFT_OUT = ("torch", "transformers", "onnx", "onnxscript", "export", "stanza", "spacy",
            "argostranslate", "ctranslate2")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


def bundle_key() -> str:
    h = hashlib.sha256()
    files = [ROOT / "build.spec", ROOT / "pyproject.toml"]
    for name in INPUT_DIRS:
        files += sorted(p for p in (ROOT / name).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for f in files:
        h.update(f.relative_to(ROOT).as_posix().encode() + b"\0" + f.read_bytes())
    for dist in FROZEN_DISTS:
        try:
            h.update(f"{dist}={version(dist)}".encode())
        except PackageNotFoundError:
            pass
    h.update(sys.version.encode())
    return h.hexdigest()


@contextmanager
def build_lock():
    """One build at a time in this checkout (two pytest runs must not share a half-built dist/)."""
    KEY_FILE.parent.mkdir(exist_ok=True)
    with open(KEY_FILE.with_suffix(".lock"), "w") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: no concurrent runs to guard against there
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def bundle() -> Path:
    """dist/lumen/, rebuilt with `python -m PyInstaller build.spec` when its inputs changed."""
    key = bundle_key()
    with build_lock():
        if EXE.is_file() and KEY_FILE.is_file() and KEY_FILE.read_text() == key:
            return DIST
        try:
            import PyInstaller  # noqa: F401
        except ImportError:
            pytest.fail("PyInstaller is missing: it is part of the dev tools (`make test` installs it)")
        KEY_FILE.unlink(missing_ok=True)
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "build.spec"],
            cwd=ROOT, capture_output=True, text=True, timeout=1200,
        )
        assert done.returncode == 0, f"bundle build failed:\n{done.stdout[-4000:]}\n{done.stderr[-8000:]}"
        assert EXE.is_file(), "PyInstaller finished without dist/lumen/lumen"
        KEY_FILE.write_text(key)
        print(f"bundle built in {time.monotonic() - started:.0f} s")
    return DIST


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    """The bundle's settings, data, caches and instance socket all inside tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LUMEN_", "QT_", "PYTHON"))}
    env.update(
        LUMEN_CONFIG_DIR=str(tmp_path / "config"), LUMEN_DATA_DIR=str(tmp_path / "data"),
        LUMEN_MODELS_DIR=str(tmp_path / "models"), LUMEN_INSTANCE=str(tmp_path / "lumen.sock"),
        XDG_CONFIG_HOME=str(tmp_path / "xdg-config"), XDG_CACHE_HOME=str(tmp_path / "xdg-cache"),
    )
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return env


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bundle-images") / "photo.png"
    rng = np.random.default_rng(11)
    Image.fromarray(rng.integers(0, 255, (90, 120, 3), dtype=np.uint8)).save(path)
    return path


def run_bundle(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=300, env=env)


def test_version_is_the_installed_lumen(bundle: Path, user_env) -> None:
    done = run_bundle("--version", env=user_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"lumen {version('lumen')}"


def test_describe_json_matches_the_source_tree(bundle: Path, user_env, tiny_florence2_onnx: Path,
                                               photo: Path) -> None:
    args = ("describe", str(photo), "--model", str(tiny_florence2_onnx), "--json", "--max-tokens", "8")
    done = run_bundle(*args, env=user_env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    (row,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert row["image"] == str(photo)
    assert row["provider"] == "CPUExecutionProvider"
    assert row["task"] == "caption" and row["caption"].strip()
    assert set(row["timings_ms"]) >= {"load", "preprocess", "vision", "encoder", "decode"}
    # The frozen app must decode exactly what the source tree decodes.
    source = subprocess.run([sys.executable, "-m", "desktop.cli", *args], capture_output=True,
                            text=True, timeout=300, env={**user_env, "PYTHONPATH": str(ROOT)})
    assert source.returncode == 0, source.stderr
    expected = json.loads(source.stdout)
    assert (row["caption"], row["token_ids"]) == (expected["caption"], expected["token_ids"])


def test_export_and_translation_stacks_stay_out(bundle: Path, user_env, tiny_florence2_onnx: Path,
                                                photo: Path, tmp_path: Path) -> None:
    internal = bundle / "_internal"
    assert not [name for name in LEFT_OUT if (internal / name).exists()]
    done = run_bundle("export", str(tmp_path / "src"), str(tmp_path / "out"), env=user_env)
    assert done.returncode == 12  # an optional part that is not installed
    # A bundle user cannot pip install: the message must say the part is not in this build.
    assert done.stderr.startswith("error: ") and "packaged build" in done.stderr
    assert "pip install" not in done.stderr and "Traceback" not in done.stderr
    translated = run_bundle("describe", str(photo), "--model", str(tiny_florence2_onnx),
                            "--max-tokens", "4", "--lang", "de", env=user_env)
    assert "Traceback" not in translated.stderr
    assert "error: " in translated.stderr and "argostranslate" in translated.stderr
    assert "packaged build" in translated.stderr


def test_qt_plugins_for_desktop_and_headless_use(bundle: Path) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("the plugin file names checked here are Linux's")
    plugins = bundle / "_internal" / "PySide6" / "Qt" / "plugins"
    for name in ("platforms/libqxcb.so", "platforms/libqwayland.so", "platforms/libqoffscreen.so",
                 "imageformats/libqjpeg.so", "imageformats/libqwebp.so", "imageformats/libqgif.so",
                 "xcbglintegrations/libqxcb-glx-integration.so"):
        assert (plugins / name).is_file(), name
    assert not (plugins / "platforms" / "libqvnc.so").exists()  # trimmed in build.spec


def test_speech_writes_a_wav_file(bundle: Path, user_env, tiny_florence2_onnx: Path, photo: Path,
                                  tmp_path: Path) -> None:
    if sys.platform.startswith("linux"):
        require_tool("espeak-ng", "espeak-ng")  # pyttsx3's engine
    out = tmp_path / "spoken.wav"
    done = run_bundle("describe", str(photo), "--model", str(tiny_florence2_onnx), "--max-tokens", "6",
                      "--audio-out", str(out), env=user_env)
    assert done.returncode == 0, done.stderr
    with wave.open(str(out)) as w:
        assert w.getnframes() > w.getframerate() // 10  # more than 0.1 s of audio


@pytest.mark.parametrize("user_path", [None, "/opt/user-libs"])
def test_players_get_the_users_library_path(bundle: Path, user_env, tiny_florence2_onnx: Path,
                                            photo: Path, tmp_path: Path, user_path: str | None) -> None:
    """The bootloader puts _internal/ on LD_LIBRARY_PATH; packaging/hooks/rthook_child_env.py
    must give programs Lumen starts (here the audio player) the user's value back."""
    if not sys.platform.startswith("linux"):
        pytest.skip("LD_LIBRARY_PATH is how the Linux bootloader finds the bundle's libraries")
    require_tool("espeak-ng", "espeak-ng")  # without it nothing is spoken and no player starts
    seen = tmp_path / "player-env.txt"
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    player = fake_bin / "aplay"  # the first player services/audio_player.py looks for
    player.write_text(f"#!/bin/sh\nprintf '%s' \"${{LD_LIBRARY_PATH-<unset>}}\" > '{seen}'\n")
    player.chmod(0o755)
    env = {**user_env, "PATH": f"{fake_bin}{os.pathsep}{user_env.get('PATH', '')}"}
    env.pop("LD_LIBRARY_PATH", None)
    if user_path:
        env["LD_LIBRARY_PATH"] = user_path
    done = run_bundle("describe", str(photo), "--model", str(tiny_florence2_onnx), "--max-tokens", "4",
                      "--speak", env=env)
    assert done.returncode == 0, done.stderr
    assert seen.read_text() == (user_path or "<unset>")


# --- the window, on a real X server -------------------------------------------------------


@pytest.fixture
def xvfb():
    """A private Xvfb display; its number comes back through -displayfd."""
    require_tool("Xvfb", "xvfb")  # the xcb window test needs an X server
    from export.benchmark.latency_session import XServer

    server = XServer("1024x768x24")
    yield server.display
    server.close()


def ask(sock_path: str, request: dict, timeout: float = 60.0) -> dict:
    """One request to the running window over its instance socket (see desktop/capture/single_instance.py)."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(sock_path)
        s.sendall((json.dumps(request) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf)


def test_no_argument_opens_the_window_on_xcb(bundle: Path, user_env, xvfb: str,
                                             tiny_florence2_onnx: Path, tmp_path: Path) -> None:
    env = {**user_env, "DISPLAY": xvfb, "QT_QPA_PLATFORM": "xcb"}
    log = tmp_path / "window.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(EXE), "--model", str(tiny_florence2_onnx)], env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        sock, status, deadline = env["LUMEN_INSTANCE"], {}, time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = ask(sock, {"cmd": "status"}, timeout=10)
            except (FileNotFoundError, ConnectionRefusedError, json.JSONDecodeError):
                status = {}
            if status.get("model") in ("ready", "failed") and status["hotkeys"]["active"]:
                break
            time.sleep(0.5)
        assert proc.poll() is None, log.read_text()
        assert status.get("visible") is True, (status, log.read_text())
        assert status["model"] == "ready", (status, log.read_text())
        # pynput's X backend is found by importlib; the spec must have collected it.
        assert status["hotkeys"]["active"] is True, status
        captured = ask(sock, {"cmd": "capture", "kind": "screen"}, timeout=120)
        assert captured["ok"] is True, captured
        # Lumen hides itself to grab: the empty virtual screen is named, never captioned (the
        # frozen caption path is checked by the describe tests above).
        result = captured["result"]
        assert result["image"] == "screen" and (result["kind"], result["task"]) == ("blank", "none"), result
        assert result["caption"] == "The screen is black."
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_frozen_app_reads_a_page_of_text_without_a_description_model(bundle: Path, user_env,
                                                                     tmp_path: Path) -> None:
    """PP-OCR's models travel in the bundle: `--task ocr` and `--task auto` work on a first start."""
    import jiwer

    from tests.support.text_pages import text_pages

    page = text_pages()[5]  # two columns under a heading
    path = tmp_path / "page.png"
    page.image.save(path)
    done = run_bundle("describe", "--task", "ocr", str(path), env=user_env)
    assert done.returncode == 0, done.stderr
    # The frozen reader reads exactly as the source tree's does, and reads the page well.
    source = subprocess.run([sys.executable, "-m", "desktop.cli", "describe", "--task", "ocr", str(path)],
                            capture_output=True, text=True, timeout=300, env=user_env, cwd=ROOT)
    assert done.stdout == source.stdout
    assert jiwer.cer(" ".join(page.text.split()), " ".join(done.stdout.split())) < 0.03
    auto = run_bundle("describe", "--task", "auto", "--json", str(path), env=user_env)
    assert auto.returncode == 0, auto.stderr
    data = json.loads(auto.stdout)
    assert (data["kind"], data["task"], data["model"]) == ("text", "ocr", "PP-OCRv4")
