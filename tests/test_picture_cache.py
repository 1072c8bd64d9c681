"""The per-picture cache: recent pictures' encodings kept within a byte budget, and every
question on a cached picture skips the vision encoder."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from models.asker import Asker
from models.picture_cache import PictureCache, picture_key
from tests.support.smolvlm_fixtures import tiny_smolvlm_hf, tiny_smolvlm_onnx  # noqa: F401


def test_least_recently_used_goes_first_within_the_budget():
    cache = PictureCache(max_bytes=300)
    for name in "abc":
        cache.put((name, "m", "features"), name, 100)
    assert cache.get(("a", "m", "features")) == "a"  # a is now the most recent
    cache.put(("d", "m", "features"), "d", 100)
    assert cache.get(("b", "m", "features")) is None  # b was the oldest
    assert {cache.get((n, "m", "features")) for n in "acd"} == {"a", "c", "d"}
    assert cache.stats.bytes == 300 and cache.stats.evictions == 1 and cache.stats.entries == 3
    cache.put(("huge", "m", "features"), "x", 301)  # larger than the budget: not kept, nothing dropped
    assert cache.get(("huge", "m", "features")) is None and cache.stats.entries == 3
    cache.forget("a")
    assert cache.get(("a", "m", "features")) is None and cache.stats.bytes == 200
    cache.resize(100)  # the window's smaller budget: the least recently used go at once
    assert cache.get(("c", "m", "features")) is None and cache.get(("d", "m", "features")) == "d"
    assert cache.stats.bytes == 100 and cache.stats.entries == 1


def test_a_picture_limit_drops_everything_about_the_least_recently_used_pictures():
    """The window keeps its last few pictures however small a model's encodings are."""
    cache = PictureCache(max_bytes=10_000, max_pictures=2)
    cache.put(("a", "m", "features"), "a", 10)
    cache.put(("a", "m", "prompt", "brief"), "a brief", 10)
    cache.put(("b", "m", "features"), "b", 10)
    assert cache.get(("a", "m", "features")) == "a"  # a is used again: b is now the older picture
    cache.put(("c", "m", "features"), "c", 10)
    assert cache.get(("b", "m", "features")) is None
    assert cache.get(("a", "m", "prompt", "brief")) == "a brief" and cache.get(("c", "m", "features")) == "c"
    assert (cache.pictures, cache.stats.entries, cache.stats.bytes) == (2, 3, 30)
    cache.put(("c", "m", "prompt", "brief"), "c brief", 10)
    cache.put(("d", "m", "features"), "d", 10)  # a, now the oldest, goes whole: features and prompt
    assert cache.pictures == 2 and cache.get(("a", "m", "features")) is None
    assert cache.get(("a", "m", "prompt", "brief")) is None
    cache.resize(10_000, 1)  # the limit applies at once
    assert cache.pictures == 1 and cache.get(("d", "m", "features")) == "d"
    assert cache.stats.evictions == 5 and cache.stats.bytes == 10


def test_get_or_compute_computes_once():
    cache, calls = PictureCache(), []
    compute = lambda: calls.append(1) or np.zeros(10)  # noqa: E731
    first = cache.get_or_compute(("p", "m", "f"), compute, lambda v: v.nbytes)
    second = cache.get_or_compute(("p", "m", "f"), compute, lambda v: v.nbytes)
    assert (first[1], second[1], len(calls)) == (False, True, 1) and second[0] is first[0]


def test_picture_key_follows_the_pixels():
    a = Image.fromarray(np.zeros((4, 5, 3), np.uint8))
    b = a.copy()
    assert picture_key(a) == picture_key(b)
    b.putpixel((0, 0), (1, 0, 0))
    assert picture_key(a) != picture_key(b)
    assert picture_key(a) != picture_key(Image.fromarray(np.zeros((5, 4, 3), np.uint8)))


class CountingSession:
    """Wraps the vision encoder's onnxruntime session and counts its runs."""

    def __init__(self, session) -> None:
        self.session, self.runs = session, 0

    def run(self, *args, **kwargs):
        self.runs += 1
        return self.session.run(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.session, name)


def test_questions_on_a_cached_picture_never_rerun_the_vision_encoder(tiny_smolvlm_onnx: Path, tmp_path: Path):
    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (70, 90, 3), dtype=np.uint8)).save(path)
    cache = PictureCache()
    asker = Asker.load(tiny_smolvlm_onnx, "cpu", cache=cache)
    counting = asker.model.vision = CountingSession(getattr(asker.model.vision, "session", asker.model.vision))
    first = asker.conversation(path).ask("What is it?", max_tokens=4)
    again = asker.conversation(Image.open(path)).ask("What is it?", max_tokens=4)  # same pixels, new conversation
    assert counting.runs == 1 and again.token_ids == first.token_ids
    assert again.timings_ms["vision"] == 0.0 < first.timings_ms["vision"]
    other = Image.fromarray(np.full((70, 90, 3), 200, np.uint8))
    asker.conversation(other).ask("What is it?", max_tokens=4)
    assert counting.runs == 2
    assert cache.stats.hits >= 1 and cache.stats.bytes > 0


def test_describing_with_smolvlm_then_asking_encodes_the_picture_once(tiny_smolvlm_onnx: Path, tmp_path: Path):
    from models.captioner import Captioner
    from models.folder import ModelFolder
    from models.results import DescribeOptions
    from models.session import SessionConfig
    from models.smolvlm import SmolVLM

    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (60, 100, 3), dtype=np.uint8)).save(path)
    cache = PictureCache()
    folder = ModelFolder.open(tiny_smolvlm_onnx)
    model = SmolVLM(folder, SessionConfig("cpu", 1))
    counting = model.vision = CountingSession(getattr(model.vision, "session", model.vision))
    captioner = Captioner(folder, model, 0.0, cache=cache)
    brief = captioner.describe(path, DescribeOptions(detail="brief", max_tokens=4))
    detailed = captioner.describe(path, DescribeOptions(detail="detailed", max_tokens=4))
    asker = Asker(folder, model, 0.0, False, cache)
    answer = asker.conversation(path).ask("What is it?", max_tokens=4)
    assert counting.runs == 1
    assert brief.timings_ms["vision"] > 0 and detailed.timings_ms["vision"] == answer.timings_ms["vision"] == 0.0
    assert brief.token_ids != detailed.token_ids  # a prompt per detail level
