"""Shared fixtures: tiny models are built once and cached on disk between runs."""
from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path

import pytest

# Started in the background by a non-interactive shell (`nohup make test &`), pytest inherits
# SIGINT ignored, and so would every `lumen` it starts: the Ctrl+C tests would hang. Python's own
# handler instead (children get the default back at exec).
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# `make test` runs several test processes (pytest-xdist): torch in each, and in every program a
# test starts, gets its share of the cores instead of one thread per core in every process.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    os.environ.setdefault("OMP_NUM_THREADS",
                          str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))))

TESTS = Path(__file__).resolve().parent
SUPPORT = TESTS / "support"
ROOT = TESTS.parent

# The builders of the cached tiny checkpoints: a change to any of them rebuilds the fixture.
FLORENCE_SOURCES = (SUPPORT / "tiny_models.py", SUPPORT / "tiny_tokenizers.py")
CACHE = Path(os.environ.get("LUMEN_TEST_CACHE", ROOT / ".cache" / "tests"))


def _shared() -> Path:
    """The project's `shared` folder, beside the checkout; from a git worktree (whose .git file
    names <main checkout>/.git/worktrees/NAME), beside the main checkout."""
    beside = ROOT.parent / "shared"
    git = ROOT / ".git"
    if beside.is_dir() or not git.is_file():
        return beside
    gitdir = Path(git.read_text(encoding="utf-8").split("gitdir:", 1)[1].strip())
    return gitdir.parents[2].parent / "shared"


SHARED = _shared()


def _fingerprint(*files: Path) -> str:
    """Cache key: the builder sources and the library versions that shape the output."""
    from importlib.metadata import version

    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes())
    for dist in ("torch", "transformers", "onnx", "onnxruntime", "onnxscript", "tokenizers"):
        try:
            h.update(f"{dist}={version(dist)}".encode())
        except Exception:
            pass
    return h.hexdigest()[:16]


def cached_dir(name: str, build, *sources: Path) -> Path:
    """Run `build(tmp_dir)` once per fingerprint; later runs reuse the finished folder."""
    from models.fsutil import build_once

    return build_once(CACHE / f"{name}-{_fingerprint(*sources)}", build)


@pytest.fixture(scope="session")
def tiny_florence2_hf() -> Path:
    """A tiny random Florence-2 checkpoint in transformers' format."""
    from tests.support.tiny_models import build_tiny_florence2

    return cached_dir("florence2-hf", build_tiny_florence2, *FLORENCE_SOURCES)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} is absent: put the project's `shared` folder (STYLE.md, florence2-base, "
                    "corpus) beside this checkout, as development and CI have it", pytrace=False)
    return SHARED


@pytest.fixture(scope="session")
def tiny_argos() -> Path:
    """Folder of tiny random .argosmodel packages (en-de, fr-en, en-fr); see tests/support/tiny_argos.py."""
    from tests.support.require import require

    ctranslate2 = require("ctranslate2")  # the [translate] extra, in [dev]
    from tests.support.tiny_argos import build_tiny_argos

    return cached_dir(f"argos-ct2-{ctranslate2.__version__}", build_tiny_argos, SUPPORT / "tiny_argos.py")


@pytest.fixture
def no_network(monkeypatch):
    """Refuses connections beyond 127.0.0.1 and fails the test if any was attempted."""
    from tests.support.net_guard import guard_sockets

    attempts = guard_sockets(monkeypatch)
    yield attempts
    assert not attempts, f"network access attempted: {attempts}"


# What an exported fixture depends on: the exporter and the folder tables it reads.
EXPORT_SOURCES = (*sorted((ROOT / "export").glob("*.py")), ROOT / "models" / "families.py",
                  ROOT / "models" / "folder.py")


@pytest.fixture(scope="session")
def tiny_florence2_onnx(tiny_florence2_hf: Path) -> Path:
    """The tiny Florence-2 exported by our own exporter, in fp32, int8, q4 and fp16."""
    from export.api import export_model

    def build(out: Path) -> None:
        export_model(tiny_florence2_hf, out, ("fp32", "int8", "q4", "fp16"), log=lambda _: None)

    return cached_dir("florence2-onnx", build, *FLORENCE_SOURCES, *EXPORT_SOURCES)


BLIP_SOURCES = (SUPPORT / "tiny_models.py", SUPPORT / "tiny_wordpiece.py", SUPPORT / "tiny_tokenizers.py")


@pytest.fixture(scope="session")
def tiny_blip_hf() -> Path:
    """A tiny random BLIP captioning checkpoint in transformers' format."""
    from tests.support.tiny_models import build_tiny_blip

    return cached_dir("blip-hf", build_tiny_blip, *BLIP_SOURCES)


@pytest.fixture(scope="session")
def tiny_blip_onnx(tiny_blip_hf: Path) -> Path:
    """The tiny BLIP exported by our own exporter, in fp32, int8, q4 and fp16."""
    from export.api import export_model

    def build(out: Path) -> None:
        export_model(tiny_blip_hf, out, ("fp32", "int8", "q4", "fp16"), log=lambda _: None)

    return cached_dir("blip-onnx", build, *BLIP_SOURCES, *EXPORT_SOURCES)


@pytest.fixture(scope="session")
def shapes_data() -> Path:
    """240 coloured-shape pictures with captions, imagefolder layout (tests/support/shapes_data.py)."""
    from tests.support.shapes_data import make_shapes_dataset

    return cached_dir("shapes-240", lambda out: make_shapes_dataset(out, 240), SUPPORT / "shapes_data.py")


@pytest.fixture(scope="session")
def shapes_blip() -> Path:
    """A tiny untrained BLIP whose tokenizer knows the shape words."""
    from tests.support.shapes_data import build_shapes_blip

    return cached_dir("shapes-blip", build_shapes_blip, SUPPORT / "shapes_data.py")


# A real screen reader for the tests that need one: one Orca per test module.
from tests.support.orca_app import orca  # noqa: E402,F401


# `make test` hands whole files to its processes, the next file to whichever is free (xdist
# --dist loadfile --no-loadscope-reorder): the longest files go first so that they finish
# together, and the first two need different tiny models, built side by side. Seconds per file
# on the 2-core machine, cold cache: hammered keys 146 (+100 building Florence-2), training 180,
# bundle 132, bench 101, export 85, model install 78, exit statuses 74, then 35-62 each.
LONGEST_FIRST = ("test_gui_hammered_keys", "test_training", "test_bundle", "test_bench", "test_export",
                 "test_model_export_install", "test_exit_status_runs", "test_caption_metrics",
                 "test_serve_learning", "test_serve", "test_bench_latency", "test_small_vocabulary",
                 "test_smolvlm_inputs", "test_batch_ray", "test_uptime", "test_distill")


def pytest_collection_modifyitems(config, items):  # noqa: ANN001
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.module.__name__.rsplit(".", 1)[-1], len(rank)))  # stable
