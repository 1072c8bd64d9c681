"""The tiny SmolVLM exported by our exporter answers with transformers' generate tokens exactly:
greedy, sampled with a seed, a two-turn conversation, and with the picture as one tile."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from tests.support.require import require

torch = require("torch")

from models.asker import Asker  # noqa: E402
from models.picture_cache import PictureCache  # noqa: E402
from tests.support.smolvlm_fixtures import tiny_smolvlm_hf, tiny_smolvlm_onnx  # noqa: E402,F401
from tests.support.tiny_smolvlm import load_processor  # noqa: E402

QUESTIONS = ("What colour is the car?", "Is there anyone in the photo?")


def picture(seed: int, size: tuple[int, int]):
    from PIL import Image

    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([np.sin(x / (5 + seed)) * 120 + 128, np.cos(y / (4 + seed)) * 120 + 128,
                     (x + y) % 255], axis=-1)
    noise = rng.normal(0, 25, (h, w, 3))
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def reference(tiny_smolvlm_hf: Path):
    from transformers import SmolVLMForConditionalGeneration

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    model = SmolVLMForConditionalGeneration.from_pretrained(tiny_smolvlm_hf).eval()
    yield model, load_processor(tiny_smolvlm_hf)
    torch.set_num_threads(threads)


@contextmanager
def numpy_draws(seed: int):
    """transformers samples with torch.multinomial; our loop draws one uniform number per row
    from numpy's generator and inverts the CDF in token order. Give transformers the same
    draws so the two can be compared token for token: everything else (logits, temperature,
    top-k, top-p) is transformers' own."""
    rng = np.random.default_rng(seed)
    real = torch.multinomial

    def multinomial(probs, num_samples, *args, **kwargs):
        assert num_samples == 1
        p = probs.double().numpy()
        draws = rng.random(p.shape[0])
        cdf = np.cumsum(p, axis=1)
        picks = [min(int(np.searchsorted(c, d * c[-1], side="right")), p.shape[1] - 1) for c, d in zip(cdf, draws)]
        return torch.tensor(picks, dtype=torch.long)[:, None]

    torch.multinomial = multinomial
    try:
        yield
    finally:
        torch.multinomial = real


def generate_reference(reference, image, turns, question, *, one_tile=False, seed=None, max_new_tokens=16):
    model, processor = reference
    messages = []
    for i, (q, a) in enumerate([*turns, (question, None)]):
        content = [{"type": "image"}] if i == 0 else []
        messages.append({"role": "user", "content": [*content, {"type": "text", "text": q}]})
        if a is not None:
            messages.append({"role": "assistant", "content": [{"type": "text", "text": a}]})
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
    inputs = processor(text=prompt, images=[image], return_tensors="pt",
                       images_kwargs={"do_image_splitting": False} if one_tile else {})
    with torch.no_grad():
        if seed is None:
            out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
        else:
            with numpy_draws(seed):
                out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=True)
    ids = out[0, inputs["input_ids"].shape[1]:].tolist()
    return ids, processor.decode(ids, skip_special_tokens=True).strip()


@pytest.fixture(scope="module")
def asker(tiny_smolvlm_onnx: Path) -> Asker:
    return Asker.load(tiny_smolvlm_onnx, "cpu", threads=1, cache=PictureCache())


@pytest.mark.parametrize("seed,size", [(0, (150, 100)), (1, (90, 200)), (2, (40, 30))])
def test_greedy_answers_match_transformers(asker, reference, seed, size):
    image = picture(seed, size)
    answers = set()
    for question in QUESTIONS:
        ids, text = generate_reference(reference, image, [], question)
        ours = asker.conversation(image).ask(question, max_tokens=16)
        assert ours.token_ids == ids
        assert ours.answer == text
        answers.add(tuple(ids))
    assert len(answers) == 2, "the tiny model must answer each question differently, or this test proves nothing"


@pytest.mark.parametrize("seed", [3, 11])
def test_sampled_answers_match_transformers(asker, reference, seed):
    image = picture(seed, (120, 120))
    ids, _ = generate_reference(reference, image, [], QUESTIONS[0], seed=seed)
    ours = asker.conversation(image).ask(QUESTIONS[0], max_tokens=16, seed=seed)
    assert ours.token_ids == ids
    assert asker.conversation(image).ask(QUESTIONS[0], max_tokens=16, seed=seed).token_ids == ids
    greedy, _ = generate_reference(reference, image, [], QUESTIONS[0])
    assert ids != greedy, "sampling must differ from greedy here, or the seed is not being tested"


def test_two_turn_conversation_matches_transformers(asker, reference):
    image = picture(4, (160, 110))
    chat = asker.conversation(image)
    turns: list[tuple[str, str]] = []
    for question in QUESTIONS:
        ids, text = generate_reference(reference, image, turns, question)
        answer = chat.ask(question, max_tokens=16)
        assert answer.token_ids == ids
        turns.append((question, text))
    # The follow-up fed only its own tokens: the picture's and the first turn's were cached.
    assert chat.reused_tokens > 5 * 16
    assert answer.timings_ms["vision"] == 0.0


def test_one_tile_matches_transformers_without_splitting(tiny_smolvlm_onnx, reference):
    image = picture(5, (150, 100))
    one_tile = Asker.load(tiny_smolvlm_onnx, "cpu", threads=1, one_tile=True, cache=PictureCache())
    chat = one_tile.conversation(image)
    assert chat.encoded.picture.tiles == 1
    ids, _ = generate_reference(reference, image, [], QUESTIONS[1], one_tile=True)
    assert chat.ask(QUESTIONS[1], max_tokens=16).token_ids == ids
