"""Broken TIFFs give Lumen's one-line error and nothing from libtiff or Pillow on the terminal."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BROKEN = ("crash-0c7e0e8e11ce787078f00b5b0ca409a167f070e0.tif", "crash-2020-10-test.tif",
          "oom-225817ca0f8c663be7ab4b9e717b02c661e66834.tif")


def test_libtiff_and_pillow_print_nothing_for_broken_tiffs(shared_dir: Path) -> None:
    corpus = shared_dir / "corpus" / "pillow"
    assert all((corpus / f).is_file() for f in BROKEN), f"{corpus} lacks the broken TIFFs"
    code = ("import sys\nfrom models.image_io import load_image\nfrom models.errors import ImageError\n"
            "for path in sys.argv[1:]:\n    try:\n        load_image(path)\n"
            "    except ImageError as e:\n        print('refused', flush=True)\n")
    # Unsilenced, libtiff itself writes these lines to stderr ("TIFFFillStrip: Read error on strip 0").
    done = subprocess.run([sys.executable, "-c", code, *(str(corpus / f) for f in BROKEN)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["refused"] * len(BROKEN)
    assert done.stderr == ""
    cli = subprocess.run([sys.executable, "-m", "desktop.cli", "describe", "--task", "ocr",
                          *(str(corpus / f) for f in BROKEN)], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert cli.returncode == 2
    lines = cli.stderr.splitlines()
    assert len(lines) == len(BROKEN) and all(line.startswith("error: ") for line in lines), lines
