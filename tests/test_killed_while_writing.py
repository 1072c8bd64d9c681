"""Killed while writing: a real process writing Lumen's files is SIGKILLed at varied moments.

For each place Lumen writes (history, the training set, settings, a `lumen train` checkpoint, a
model import, a model install) a process (tests/support/kill_writer.py) writes items through the
same code the app uses and prints each item's number once it is committed; it is killed after a
random number of items plus a random delay, then the files are read back as the app reads them.
Holds after every kill: every file is readable, every committed item is there, and nothing but
the item in flight is missing. The suite kills 3 times per place; LUMEN_SOAK=full 20 times.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.support import soak
from tests.support.kill_writer import HISTORY_LIMIT

ROOT = Path(__file__).resolve().parents[1]
KILLS = soak.count(3, 20)
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


class Writer:
    """Runs kill_writer rounds on one folder and keeps account of what was committed."""

    def __init__(self, kind: str, root: Path, seed: int) -> None:
        self.kind, self.root = kind, root
        self.rng = random.Random(seed)
        self.committed: set[int] = set()
        self.in_flight: set[int] = set()  # killed mid-item: may or may not be there
        self.next = 1

    def round(self) -> int:
        """One process, killed after 1-4 committed items and 0-40 ms; returns the last committed."""
        env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.kill_writer", self.kind, str(self.root),
             str(self.next)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env)
        want, seen = self.rng.randint(1, 4), 0
        assert proc.stdout is not None
        for line in proc.stdout:
            self.committed.add(int(line))
            seen += 1
            if seen >= want:
                break
        time.sleep(self.rng.uniform(0, 0.04))
        proc.send_signal(signal.SIGKILL)
        rest, err = proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL, err.decode(errors="replace")
        self.committed.update(int(n) for n in rest.split())  # printed before the kill
        last = max(self.committed)
        self.in_flight.add(last + 1)
        self.next = last + 2  # numbers stay unique whether or not last + 1 landed
        return last

    def check(self, present: set[int], *, keep: int | None = None) -> int:
        """Every committed item (of the newest `keep`) is present; nothing else but in-flight
        ones. Returns how many committed items were lost (must be 0)."""
        assert present <= self.committed | self.in_flight, present - self.committed
        expected = self.committed if keep is None else {n for n in self.committed if n >= min(present)}
        if keep is not None:
            assert len(present) == min(keep, len(self.committed | (present & self.in_flight)))
        return len(expected - present)


def _numbers(texts) -> set[int]:
    return {int(t.split()[1]) for t in texts}


def _readable_picture(path: Path) -> None:
    with Image.open(path) as img:
        img.load()


def test_history_survives_kills(tmp_path: Path) -> None:
    from desktop.results.history import HistoryStore

    w, lost = Writer("history", tmp_path / "history", seed=1), 0
    for _ in range(KILLS):
        w.round()
        store = HistoryStore(tmp_path / "history", limit=HISTORY_LIMIT)
        entries = store.entries()
        for e in entries:
            thumb = store.thumbnail_path(e)
            assert thumb is not None, e
            _readable_picture(thumb)
        lost += w.check(_numbers(e.text for e in entries), keep=HISTORY_LIMIT)
    assert lost == 0
    soak.report(f"history: {KILLS} kills, 0 unreadable, {lost} committed entries lost, "
                f"{len(w.committed)} written, {len(entries)} kept (limit {HISTORY_LIMIT})")


def test_training_set_survives_kills(tmp_path: Path) -> None:
    from services.training_set import TrainingSet

    w, lost = Writer("training", tmp_path / "set", seed=2), 0
    for _ in range(KILLS):
        w.round()
        examples = TrainingSet(tmp_path / "set").examples()
        for e in examples:
            _readable_picture(e.path)
        lost += w.check(_numbers(e.text for e in examples))
    assert lost == 0
    soak.report(f"training set: {KILLS} kills, 0 unreadable, {lost} committed pairs lost, "
                f"{len(examples)} pairs")


def test_settings_survive_kills(tmp_path: Path, monkeypatch) -> None:
    from desktop.settings import load_settings

    monkeypatch.setenv("LUMEN_CONFIG_DIR", str(tmp_path / "config"))
    w = Writer("settings", tmp_path / "config", seed=3)
    for _ in range(KILLS):
        last = w.round()
        settings = load_settings()
        n = int(settings.voice.split()[1])
        assert n in (last, last + 1)  # the last saved, or the one in flight: never older
        assert settings.text_scale == 100 + 25 * (n % 9)  # both values from the same save
    soak.report(f"settings: {KILLS} kills, 0 unreadable, 0 older than the last save")


def test_checkpoints_survive_kills(tmp_path: Path) -> None:
    from training import checkpoints

    w = Writer("checkpoint", tmp_path / "work", seed=4)
    for _ in range(KILLS):
        last = w.round()
        folder, state = checkpoints.latest(tmp_path / "work")
        assert state.epoch in (last, last + 1)
        weights = (folder / "model.safetensors").read_bytes()
        assert weights == bytes([state.epoch % 256]) * (1 << 20)
        assert (folder / "config.json").read_text() == f'{{"item": {state.epoch}}}'
    soak.report(f"lumen train checkpoints: {KILLS} kills, 0 unreadable, resumable from the "
                "last complete epoch every time")


def test_model_import_survives_kills(tmp_path: Path) -> None:
    from models.folder_check import check_folder
    from models.pack import import_model, pack
    from models.registry import STAGING, Registry
    from tests.support.model_fakes import make_model_folder

    source = Registry(tmp_path / "source")
    make_model_folder(source.new_staging() / "m", name="alpha", onnx_size=1 << 20)
    source.adopt(next((source.root / STAGING).iterdir()) / "m", "alpha")
    (tmp_path / "w").mkdir()
    pack("alpha", tmp_path / "w" / "pack.zip", registry=source)
    w, lost = Writer("import", tmp_path / "w", seed=5), 0
    for _ in range(KILLS):
        w.round()
        registry = Registry(tmp_path / "w" / "models")
        for name in registry.names():
            check_folder(registry.path_of(name), require_manifest=True)  # checksums verified
        lost += w.check({int(n[1:]) for n in registry.names()})
    assert lost == 0
    # the next import removes what the killed one left in staging
    import_model(tmp_path / "w" / "pack.zip", name="after", registry=registry, make_default=False)
    assert list((registry.root / STAGING).iterdir()) == []
    soak.report(f"model import: {KILLS} kills, 0 damaged models registered, {lost} lost, "
                "staging left by a killed import removed by the next")


def test_model_install_resumes_after_kills(tmp_path: Path, no_network) -> None:
    from models import catalogue
    from models.download import install, plan_install
    from models.folder_check import check_folder
    from models.registry import PARTIAL, Registry
    from tests.support.hub_server import FakeHub
    from tests.support.model_fakes import model_files

    repo = "onnx-community/Florence-2-base-ft"
    files = model_files("florence2", "int8", onnx_size=5_000_000)
    rng = random.Random(6)
    registry = Registry(tmp_path / "models")
    total = sum(len(v) for v in files.values())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with FakeHub(lifetime_s=300) as hub:
        hub.add_repo(repo, files)
        kills = rounds = finished = 0
        while kills < KILLS and rounds < 3 * KILLS:
            rounds += 1
            before = _downloaded(registry.root / PARTIAL)
            if registry.names() or before >= total:  # a whole install got through: start anew
                for name in registry.names():
                    check_folder(registry.path_of(name))  # finished before the kill: whole
                    registry.remove(name)
                    finished += 1
                for partial in registry.partials():  # every byte there, not yet verified
                    registry.remove_partial(partial.name)
                continue
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.support.kill_writer", "install",
                 str(registry.root), hub.endpoint], cwd=ROOT, env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            target = before + rng.uniform(0.02, 0.08) * (total - before)
            while proc.poll() is None and _downloaded(registry.root / PARTIAL) < target:
                time.sleep(0.005)
            proc.send_signal(signal.SIGKILL)
            err = proc.communicate(timeout=60)[1]
            assert proc.returncode in (-signal.SIGKILL, 0), err.decode(errors="replace")
            kills += proc.returncode == -signal.SIGKILL
        assert kills == KILLS, f"{kills} kills in {rounds} rounds"
        listed = subprocess.run(
            [sys.executable, "-m", "desktop.cli", "models", "list"], cwd=ROOT, capture_output=True,
            text=True, env={**env, "LUMEN_MODELS_DIR": str(registry.root)}, timeout=120)
        if not registry.names():
            assert "Interrupted downloads (run the same install again to resume)" in listed.stdout
        model = install(plan_install(catalogue.find("florence-2-base-ft"), "int8",
                                     endpoint=hub.endpoint), registry=registry)
        ranged = len([r for r in hub.requests if r.range])
        check_folder(model.path)  # every checksum
        assert registry.partials() == []
    soak.report(f"model install: {kills} kills mid-download ({finished} installs got through "
                f"whole first), resumed with Range {ranged} times, then installed and verified")


def _downloaded(folder: Path) -> int:
    from models.download import STATE_FILE

    if not folder.is_dir():
        return 0
    total = 0
    for p in folder.rglob("*"):
        if p.name == STATE_FILE:  # the installer's own note, not the model's bytes
            continue
        try:
            total += p.stat().st_size if p.is_file() else 0
        except FileNotFoundError:  # renamed into place meanwhile
            pass
    return total
