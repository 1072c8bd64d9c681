"""Ask with a real screen reader: Orca on its own display and buses (tests/test_gui_orca.py's
session). By keyboard alone: Ctrl+V a picture, Ctrl+Shift+A, type the question, Enter. Orca
must follow the focus to the question field (by its name), and the answer must reach
speech-dispatcher."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from models.asker import Asker
from models.picture_cache import PictureCache
from tests.support.smolvlm_fixtures import tiny_smolvlm_hf, tiny_smolvlm_onnx  # noqa: F401
from tests.support.orca_app import CLIPBOARD_HOLDER, ROOT, Lumen, heard_after

pytestmark = [pytest.mark.gui, pytest.mark.slow]
QUESTION = "What colour is the car?"


def test_an_answer_asked_by_keyboard_reaches_the_screen_reader(orca, tmp_path, tiny_florence2_onnx,  # noqa: F811
                                                               tiny_smolvlm_onnx):
    from PIL import Image

    from models.registry import Registry

    picture = tmp_path / "red.png"
    Image.new("RGB", (96, 72), (200, 30, 30)).save(picture)
    asker = Asker.load(tiny_smolvlm_onnx, "cpu", one_tile=True, cache=PictureCache())  # as the window asks
    expected = asker.conversation(picture).ask(QUESTION).answer
    lumen = Lumen(orca, tmp_path, tiny_florence2_onnx)
    Registry(tmp_path / "models").link(tiny_smolvlm_onnx, "smolvlm-tiny")  # the installed question model
    holder = None
    try:
        lumen.wait(lambda s: s["model"] == "ready" and s["visible"], "the window and the model")
        lumen.focus()
        orca.wait_for_log(lambda log: "Lumen frame." in orca.spoken(), 60, "Orca to present Lumen's window")
        holder = subprocess.Popen([sys.executable, "-c", CLIPBOARD_HOLDER, str(picture)], env=lumen.env,
                                  stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert holder.stdout.readline().strip() == "copied"
        lumen.key("ctrl+v")
        lumen.wait(lambda s: s["results"] >= 1, "the description")
        time.sleep(1.0)  # let the description be read; the question comes after it
        mark, since = orca.mark(), time.time()
        lumen.key("ctrl+shift+a")
        # Orca follows the keyboard to the field, by its accessible name.
        orca.wait_for_log(lambda log: "locusOfFocus: [text | Question about the picture]" in log[mark:], 30,
                          "Orca to follow the focus to the question field")
        subprocess.run(["xdotool", "type", "--delay", "20", QUESTION], env=lumen.env, check=True, timeout=60)
        lumen.key("Return")
        heard = heard_after(orca, expected, since, timeout=120)
        print(f"answer heard {heard - since:.2f} s after Ctrl+Shift+A; Orca said: {orca.spoken(mark)}")
    finally:
        if holder is not None:
            holder.kill()
        lumen.close()
