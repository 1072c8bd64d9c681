"""`lumen evaluate`'s numbers equal the reference implementations' on a fixed example:
pycocoevalcap's own COCOEvalCap.evaluate (pycocotools COCO objects, SPICE left out because it
downloads CoreNLP) and an independent word-level edit distance for WER."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent

# Several references for some pictures, punctuation and case the PTB tokenizer must normalise.
REFERENCES = {
    "a.png": ["A man riding a wave on top of a surfboard.", "A surfer rides a large wave in the ocean."],
    "b.png": ["Two dogs play with a red ball on the grass."],
    "c.png": ["A plate of food with broccoli, rice and chicken.", "Dinner: chicken, rice & broccoli!"],
    "d.png": ["A kitchen with white cabinets and a black stove."],
    "e.png": ["A red double-decker bus drives down the street."],
}
PREDICTIONS = {
    "a.png": "a man riding a wave on a surfboard",
    "b.png": "two dogs playing with a ball in the grass",
    "c.png": "a plate of rice and chicken",
    "d.png": "a kitchen with a stove",
    "e.png": "a bus on the street",
}


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("metrics")
    rows = []
    for i, (name, refs) in enumerate(REFERENCES.items()):
        Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(data / name)
        rows += [json.dumps({"file_name": name, "text": r}) for r in refs]
    (data / "metadata.jsonl").write_text("\n".join(rows) + "\n")
    (data / "predictions.jsonl").write_text(
        "".join(json.dumps({"file_name": k, "text": v}) + "\n" for k, v in PREDICTIONS.items()))
    return data


def reference_coco_scores(monkeypatch) -> dict[str, float]:
    """COCOEvalCap.evaluate on the same captions, as the COCO caption evaluation runs it."""
    from pycocoevalcap import eval as coco_eval
    from pycocotools.coco import COCO

    class NoSpice:  # SPICE downloads Stanford CoreNLP: never run here
        def compute_score(self, gts, res):
            return 0.0, [0.0] * len(gts)

        def method(self):
            return "SPICE (skipped)"

    monkeypatch.setattr(coco_eval, "Spice", NoSpice)
    names = list(REFERENCES)
    coco = COCO()
    coco.dataset = {
        "images": [{"id": i} for i in range(len(names))],
        "annotations": [{"id": 100 * i + j, "image_id": i, "caption": c}
                        for i, n in enumerate(names) for j, c in enumerate(REFERENCES[n])],
    }
    coco.createIndex()
    results = coco.loadRes([{"image_id": i, "caption": PREDICTIONS[n]} for i, n in enumerate(names)])
    evaluator = coco_eval.COCOEvalCap(coco, results)
    evaluator.evaluate()
    e = evaluator.eval
    return {"BLEU-1": e["Bleu_1"], "BLEU-2": e["Bleu_2"], "BLEU-3": e["Bleu_3"], "BLEU-4": e["Bleu_4"],
            "METEOR": e["METEOR"], "ROUGE-L": e["ROUGE_L"], "CIDEr": e["CIDEr"]}


def word_errors(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def test_evaluate_equals_the_reference_implementations(example: Path, monkeypatch, tmp_path) -> None:
    done = _evaluate(example, tmp_path, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    ours = report["models"][0]["metrics"]
    assert report["notes"] == ["CLIPScore: no CLIP model installed"]
    # A folder is scored whole unless the held-out share is asked for (next test).
    assert (report["pictures"], report["set"], report["val_split"]) == (len(REFERENCES), "all", None)

    expected = reference_coco_scores(monkeypatch)
    for name, value in expected.items():
        assert ours[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name
    assert 0 < expected["BLEU-4"] < expected["BLEU-1"] < 1 and expected["CIDEr"] > 0  # a real example

    from training.metrics import tokenize  # WER over the same PTB-normalised words

    refs = tokenize({k: [v[0]] for k, v in REFERENCES.items()})
    hyps = tokenize({k: [v] for k, v in PREDICTIONS.items()})
    edits = sum(word_errors(refs[k][0].split(), hyps[k][0].split()) for k in REFERENCES)
    assert ours["WER"] == pytest.approx(edits / sum(len(refs[k][0].split()) for k in REFERENCES), abs=1e-12)


def test_metrics_never_touch_the_network(no_network) -> None:
    from training.metrics import caption_scores

    scores = caption_scores({"x": ["a red square in the top left"]}, {"x": "a red square in the top left"})
    assert scores["BLEU-4"] == pytest.approx(1.0) and scores["WER"] == 0.0 and scores["METEOR"] > 0.9


def _evaluate(example: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "desktop.cli", "evaluate", "--data", str(example),
         "--predictions", str(example / "predictions.jsonl"), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "LUMEN_MODELS_DIR": str(tmp_path / "no-models")})


def test_the_held_out_share_is_scored_when_asked_for(example: Path, tmp_path) -> None:
    from training.data import load_dataset

    held = _evaluate(example, tmp_path, "--held-out")
    assert held.returncode == 0, held.stderr
    expected = sorted({p.image.name for p in load_dataset(example, 0.1).validation})
    assert 0 < len(expected) < len(REFERENCES)
    assert held.stdout.splitlines()[0] == (f"{len(expected)} pictures scored: the share "
                                           f"`lumen train --val-split 0.1` holds out of {example}")
    assert sorted(line for line in held.stdout.splitlines() if line.endswith(".png")) == expected
