"""`lumen ask` as a user scripts it: real process, the tiny SmolVLM exported by our exporter."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.asker import Asker
from models.picture_cache import PictureCache
from tests.support.smolvlm_fixtures import tiny_smolvlm_hf, tiny_smolvlm_onnx  # noqa: F401

JSON_KEYS = {"image", "question", "answer", "token_ids", "confidence", "model", "provider", "timings_ms"}
QUESTIONS = ["What colour is the car?", "Is there anyone in the photo?"]


def lumen(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "desktop.cli", *args], capture_output=True, text=True,
                          timeout=300, input=stdin, env=env)


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ask") / "photo.png"
    Image.fromarray(np.random.default_rng(3).integers(0, 255, (90, 140, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def expected(tiny_smolvlm_onnx: Path, photo: Path) -> dict[str, list[list[int]]]:
    """What the engine answers: each question alone, and the two as one conversation."""
    asker = Asker.load(tiny_smolvlm_onnx, "cpu", cache=PictureCache())
    alone = [asker.conversation(photo).ask(q, max_tokens=8).token_ids for q in QUESTIONS]
    chat = asker.conversation(photo)
    together = [chat.ask(q, max_tokens=8).token_ids for q in QUESTIONS]
    assert alone[1] != together[1], "the follow-up must depend on the first turn, or this proves nothing"
    return {"alone": alone, "together": together}


def test_json_one_object_per_question_picture_encoded_once(tiny_smolvlm_onnx, photo, expected):
    done = lumen("ask", str(photo), *QUESTIONS, "--model", str(tiny_smolvlm_onnx), "--max-tokens", "8", "--json")
    assert done.returncode == 0, done.stderr
    objects = [json.loads(line) for line in done.stdout.splitlines()]
    assert [set(o) for o in objects] == [JSON_KEYS, JSON_KEYS]
    assert [o["question"] for o in objects] == QUESTIONS
    assert [o["token_ids"] for o in objects] == expected["alone"]
    assert objects[0]["image"] == str(photo) and objects[0]["provider"] == "CPUExecutionProvider"
    assert objects[0]["timings_ms"]["vision"] > 0 and objects[1]["timings_ms"]["vision"] == 0


def test_standard_input_is_one_conversation(tiny_smolvlm_onnx, photo, expected):
    stdin = f"{QUESTIONS[0]}\n\n   \n{QUESTIONS[1]}\n"
    done = lumen("ask", str(photo), "--model", str(tiny_smolvlm_onnx), "--max-tokens", "8", "--json", stdin=stdin)
    assert done.returncode == 0, done.stderr
    objects = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["token_ids"] for o in objects] == expected["together"]
    plain = lumen("ask", str(photo), "--model", str(tiny_smolvlm_onnx), "--max-tokens", "8", stdin=stdin)
    assert plain.stdout.splitlines() == [o["answer"] for o in objects]


def test_seed_gives_a_reproducible_sample(tiny_smolvlm_onnx, photo, expected):
    runs = [lumen("ask", str(photo), QUESTIONS[0], "--model", str(tiny_smolvlm_onnx), "--max-tokens", "8",
                  "--seed", "5", "--json") for _ in range(2)]
    ids = [json.loads(r.stdout)["token_ids"] for r in runs]
    assert ids[0] == ids[1] and ids[0] != expected["alone"][0]


def test_errors_and_exit_statuses_match_describe(tiny_smolvlm_onnx, tiny_florence2_onnx, photo, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    done = lumen("ask", str(bad), "Why?", "--model", str(tiny_smolvlm_onnx))
    assert done.returncode == 2 and done.stderr.startswith("error: ") and len(done.stderr.splitlines()) == 1
    done = lumen("ask", str(tmp_path / "missing.png"), "Why?", "--model", str(tiny_smolvlm_onnx))
    assert done.returncode == 2
    done = lumen("ask", str(photo), "Why?", "--model", str(tiny_florence2_onnx))
    assert done.returncode == 3 and "smolvlm" in done.stderr.lower()
    empty = dict(os.environ, LUMEN_MODELS_DIR=str(tmp_path / "none"))
    done = lumen("ask", str(photo), "Why?", env=empty)
    assert done.returncode == 3
    assert "lumen models install smolvlm-256m-instruct" in done.stderr and "MB" in done.stderr
    no_packages = dict(os.environ, ARGOS_PACKAGES_DIR=str(tmp_path / "no-packages"))
    done = lumen("ask", str(photo), "Warum?", "--model", str(tiny_smolvlm_onnx), "--lang", "de", env=no_packages)
    assert done.returncode == 7 and "lumen models install-translation" in done.stderr
    done = lumen("ask", str(photo), "Why?", "--model", str(tiny_smolvlm_onnx), "--max-tokens", "0")
    assert done.returncode == 2 and "--max-tokens" in done.stderr


def test_smolvlm_also_describes(tiny_smolvlm_onnx, photo):
    """One model for everything: `lumen describe` with a SmolVLM folder asks it for a description."""
    brief = lumen("describe", str(photo), "--model", str(tiny_smolvlm_onnx), "--max-tokens", "6", "--json")
    detailed = lumen("describe", str(photo), "--model", str(tiny_smolvlm_onnx), "--max-tokens", "6", "--json",
                     "--detail", "detailed")
    assert brief.returncode == detailed.returncode == 0, brief.stderr + detailed.stderr
    assert json.loads(brief.stdout)["token_ids"] != json.loads(detailed.stdout)["token_ids"]  # a prompt per level


def test_lang_asks_the_model_in_english_and_answers_in_the_users_language(tiny_smolvlm_onnx, photo, tiny_argos,
                                                                          tmp_path):
    from services.argos_install import install_translation_package
    from tests.support.tiny_argos import argosmodel_name

    packages = tmp_path / "argos"
    for pair in (("fr", "en"), ("en", "fr")):
        install_translation_package(tiny_argos / argosmodel_name(*pair), packages, fetch_splitter=False)
    env = dict(os.environ, ARGOS_PACKAGES_DIR=str(packages))
    question = "Quelle est la couleur de la voiture ?"
    done = lumen("ask", str(photo), question, "--model", str(tiny_smolvlm_onnx), "--lang", "fr",
                 "--max-tokens", "8", "--json", env=env)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    # The same steps by hand, with the real translation packages, in a process of their own.
    script = ("import json, sys\nfrom pathlib import Path\nfrom models.asker import Asker\n"
              "from services.translation import translate\n"
              "english = translate(sys.argv[1], 'en', 'fr')\n"
              "answer = Asker.load(Path(sys.argv[2]), 'cpu').conversation(Path(sys.argv[3])).ask(english, max_tokens=8)\n"
              "print(json.dumps([english, answer.token_ids, answer.answer, translate(answer.answer, 'fr')]))")
    by_hand = subprocess.run([sys.executable, "-c", script, question, str(tiny_smolvlm_onnx), str(photo)],
                             capture_output=True, text=True, timeout=300, env=env)
    assert by_hand.returncode == 0, by_hand.stderr
    english, token_ids, english_answer, french_answer = json.loads(by_hand.stdout)
    assert english != question  # the tiny random pair really translated
    assert got["question"] == question and got["token_ids"] == token_ids
    assert got["answer"] == french_answer and french_answer != english_answer
