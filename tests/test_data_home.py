"""History and models under one data folder; the old lowercase folder is moved in, losing nothing."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_old_models_folder_moves_into_the_one_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "share"
    old_model = data / "lumen" / "models" / "florence-2-base-ft"
    old_model.mkdir(parents=True)
    (old_model / "config.json").write_text("{}")
    (data / "lumen" / "models" / "default").write_text("florence-2-base-ft")
    (data / "Lumen" / "history").mkdir(parents=True)
    (data / "Lumen" / "history" / "1.json").write_text("{}")
    # In both folders: the new one's file is kept and the old one's is left where it was.
    (data / "Lumen" / "models").mkdir()
    (data / "Lumen" / "models" / "default").write_text("blip")
    env = {k: v for k, v in os.environ.items() if k not in ("LUMEN_MODELS_DIR", "LUMEN_DATA_DIR")}
    env["XDG_DATA_HOME"] = str(data)
    code = ("from models.registry import models_dir; from desktop.paths import data_dir; "
            "print(models_dir()); print(data_dir())")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    assert out == [str(data / "Lumen" / "models"), str(data / "Lumen")]
    assert (data / "Lumen" / "models" / "florence-2-base-ft" / "config.json").read_text() == "{}"
    assert (data / "Lumen" / "models" / "default").read_text() == "blip"
    assert (data / "lumen" / "models" / "default").read_text() == "florence-2-base-ft"  # not lost
    assert not (data / "lumen" / "models" / "florence-2-base-ft").exists()
    assert (data / "Lumen" / "history" / "1.json").is_file()
