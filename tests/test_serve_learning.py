"""The seed service's loop closes: pairs sent to POST /caption, a model trained on them in the
background on request (POST /learning-model/train) while the API keeps answering, and then
POST /learning-model captions with that model, names it, and says what `lumen describe` says.
Real server process, real HTTP over a socket, a tiny BLIP (tests/test_serve.py's helpers)."""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from tests.support.require import require
from tests.test_serve import ROOT, _b64, _env, _jpeg, _lumen, start_server, stop_server

requests = require("requests")
TRAINING_BOUND_S = 900  # a bound on the wait, not a speed expectation: the loop is polled


def test_learning_model_is_trained_on_the_collected_pairs_and_answers_with_it(
        tiny_blip_onnx: Path, tiny_blip_hf: Path, tmp_path: Path) -> None:
    server = start_server(tmp_path, "--model", str(tiny_blip_onnx), "--captions", "1", "--device", "cpu",
                          "--learn-from", str(tiny_blip_hf), "--learn-epochs", "1")
    try:
        url = server.url
        before = requests.get(f"{url}/learning-model", timeout=60).json()
        assert (before["state"], before["model"]) == ("idle", None)
        picture = _b64(_jpeg(7))
        first = requests.post(f"{url}/learning-model", json={"image": picture}, timeout=120).json()
        assert first["learning_model"]["same_as_post_root"] is True

        for seed, text in enumerate(["a red square", "a blue circle", "two green squares", "a black dot"]):
            stored = requests.post(f"{url}/caption", json={"image": _b64(_jpeg(seed)), "caption": text}, timeout=60)
            assert stored.status_code == 201, stored.text
        started = requests.post(f"{url}/learning-model/train", timeout=60)
        assert started.status_code == 202, started.text
        assert started.json()["state"] == "training" and started.json()["pairs"] == 4

        deadline = time.monotonic() + TRAINING_BOUND_S
        while True:
            # The API keeps answering while the model trains.
            assert requests.post(f"{url}/", json={"image": picture}, timeout=120).status_code == 200
            status = requests.get(f"{url}/learning-model", timeout=60).json()
            if status["state"] != "training":
                break
            assert time.monotonic() < deadline, f"training still running: {server.log.read_text()[-2000:]}"
            time.sleep(1)
        assert status["state"] == "done", (status, server.log.read_text()[-3000:])
        assert status["trained_here"] is True and status["error"] is None
        model = Path(status["model"])
        assert model.parent == tmp_path / "models" and model.name.startswith("learning-")
        origin = json.loads((model / "origin.json").read_text())
        assert origin["data"] == str((tmp_path / "training").resolve()) and origin["epochs"] == 1

        answer = requests.post(f"{url}/learning-model", json={"image": picture}, timeout=120).json()
        assert answer["learning_model"] == {"path": str(model), "trained_here": True, "same_as_post_root": False}
        image = tmp_path / "picture.jpg"
        image.write_bytes(_jpeg(7))
        described = subprocess.run(_lumen("describe", str(image), "--model", str(model), "--json", "--device", "cpu"),
                                   cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=300)
        assert described.returncode == 0, described.stderr
        assert answer["captions"] == [json.loads(described.stdout)["caption"]]
        assert answer["model"] == json.loads(described.stdout)["model"]
    finally:
        stop_server(server)
