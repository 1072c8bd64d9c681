"""The command line under hostile conditions: bad numbers, a reader that goes away, a full
disk, Ctrl+C at any moment, options that cannot be honoured, no display, stdin closed.

Every failure must be one `error:` line with the documented exit status, never a traceback.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from desktop import cli
from models.results import DescribeOptions

ROOT = Path(__file__).resolve().parent.parent


def lumen(*args: str, env: dict[str, str] | None = None, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "desktop.cli", *args], stdout=stdout, stderr=subprocess.PIPE,
                          text=True, timeout=300, cwd=ROOT, env=env)


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "photo é.png"
    Image.new("RGB", (40, 30), (200, 40, 40)).save(path)
    return path


@pytest.mark.parametrize("flag, value, says", [
    ("--seed", "-1", "--seed: must be at least 0"),  # was a numpy traceback mid-describe
    ("--threads", "0", "--threads: must be at least 1"),
    ("--threads", "-3", "--threads: must be at least 1"),
    ("--max-tokens", "abc", "--max-tokens: 'abc' is not a whole number"),
    ("--alternatives", "-1", "--alternatives: must be at least 0"),
])
def test_bad_numbers_are_refused_before_anything_runs(photo: Path, flag: str, value: str, says: str) -> None:
    done = lumen("describe", str(photo), "--model", "/nonexistent", flag, value)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].endswith(says)


def test_a_negative_seed_is_refused_by_the_engine_options_too() -> None:
    with pytest.raises(ValueError, match="seed"):
        DescribeOptions(alternatives=2, seed=-1)


def test_a_reader_that_goes_away_ends_quietly(tiny_florence2_onnx: Path, photo: Path) -> None:
    """`lumen describe *.png | head -1`: the pipe closes before the first line is written."""
    read, write = os.pipe()
    os.close(read)  # closed before anything is written, however fast the machine
    try:
        proc = subprocess.Popen([sys.executable, "-m", "desktop.cli", "describe", str(photo), str(photo),
                                 "--model", str(tiny_florence2_onnx), "--max-tokens", "4"],
                                stdout=write, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    finally:
        os.close(write)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 141, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/dev/full is Linux's")
def test_output_to_a_full_disk_is_one_line(tiny_florence2_onnx: Path, photo: Path) -> None:
    with open("/dev/full", "w") as full:
        done = lumen("describe", str(photo), "--model", str(tiny_florence2_onnx), "--max-tokens", "4",
                     stdout=full)
    assert done.returncode == 1
    assert "No space left" in one_error_line(done.stderr)


def test_ctrl_c_while_the_command_is_imported_is_one_line(monkeypatch, capsys) -> None:
    def interrupted(argv):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert cli.main(["describe", "x.png"]) == 130
    assert one_error_line(capsys.readouterr().err) == "error: interrupted"


def test_a_bug_of_ours_is_one_line_not_a_traceback(monkeypatch, capsys) -> None:
    from desktop.cli import describe_cmd as describe

    def broken(args):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(describe, "run", broken)
    monkeypatch.delenv("LUMEN_LOG", raising=False)
    assert cli.main(["describe", "x.png"]) == 1
    assert one_error_line(capsys.readouterr().err) == "error: unexpected RuntimeError: boom; please report this"


def test_cuda_fallback_is_warned_once(tiny_florence2_onnx: Path, photo: Path) -> None:
    """Each of the four sessions used to log the same warning again, without `warning:`."""
    script = ("import sys, models.session as s\n"
              "s.available_providers = lambda: ['CPUExecutionProvider']\n"
              "from desktop.cli import main\n"
              f"sys.exit(main(['describe', {str(photo)!r}, '--model', {str(tiny_florence2_onnx)!r},"
              " '--max-tokens', '4', '--device', 'cuda', '--json']))\n")
    env = {k: v for k, v in os.environ.items() if k != "LUMEN_LOG"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["provider"] == "CPUExecutionProvider"
    mentions = [line for line in done.stderr.splitlines() if "CUDA" in line]
    assert len(mentions) == 1 and mentions[0].startswith("warning: "), done.stderr


def test_a_language_that_is_not_installed_fails_before_the_model_loads(photo: Path, tmp_path: Path) -> None:
    env = {**os.environ, "ARGOS_PACKAGES_DIR": str(tmp_path / "no-packages")}
    # A missing model would exit 3: exit 7 shows the language was refused first.
    done = lumen("describe", str(photo), "--model", "/nonexistent", "--lang", "xx", env=env)
    assert done.returncode == 7 and done.stdout == ""
    one_error_line(done.stderr)


def test_audio_out_into_a_missing_folder_fails_before_the_model_loads(photo: Path, tmp_path: Path) -> None:
    wav = tmp_path / "missing" / "out.wav"
    done = lumen("describe", str(photo), "--model", "/nonexistent", "--audio-out", str(wav))
    assert done.returncode == 6 and done.stdout == ""
    assert str(wav.parent) in one_error_line(done.stderr)


def test_the_window_without_a_display_is_one_line(tmp_path: Path) -> None:
    """Qt would abort (core dump) with a misleading hint about libxcb-cursor0."""
    if not sys.platform.startswith("linux"):
        pytest.skip("only Linux can lack a display")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(LUMEN_INSTANCE=str(tmp_path / "lumen.sock"), LUMEN_MODELS_DIR=str(tmp_path / "models"),
               LUMEN_CONFIG_DIR=str(tmp_path / "config"), LUMEN_DATA_DIR=str(tmp_path / "data"))
    done = lumen(env=env)
    assert done.returncode == 10  # NoDisplayError: not 6, which is speech's
    assert "no display" in one_error_line(done.stderr)


def test_models_with_stdin_closed_help_and_a_missing_pack_folder(
        tiny_florence2_onnx: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("LUMEN_MODELS_DIR", str(tmp_path / "models"))
    assert cli.main(["models", "import", str(tiny_florence2_onnx), "--link", "--name", "tiny"]) == 0
    capsys.readouterr()

    monkeypatch.setattr(sys, "stdin", None)  # `lumen models remove tiny <&-`
    assert cli.main(["models", "remove", "tiny"]) == 2
    assert "Add --yes" in one_error_line(capsys.readouterr().err)

    assert cli.main(["models", "pack", "tiny", str(tmp_path / "nowhere" / "tiny.zip")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert str(tmp_path / "nowhere") in line and ".part" not in line

    with pytest.raises(SystemExit) as exited:
        cli.main(["models", "install-translation", "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("usage: lumen models install-translation")


def test_alternatives_are_capped() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "desktop.cli", "describe", "x.png", "--alternatives", "21"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "at most 20" in done.stderr and "Traceback" not in done.stderr
    from models.results import DescribeOptions

    with pytest.raises(ValueError):
        DescribeOptions(alternatives=21)
