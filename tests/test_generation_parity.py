"""The numpy decoding loop against transformers' `model.generate` on the same tiny Florence-2.

Both run the same torch weights: transformers through `generate`, ours through
`tests/support/torch_decoder.py`. Sequences must be equal token for token, beam scores equal to float
precision, and token probabilities equal to the model's raw softmax at each step.
"""
from __future__ import annotations

import copy
import dataclasses
import warnings

import numpy as np
import pytest

from tests.support.require import require

torch = require("torch")

from models.generation import generate  # noqa: E402
from tests.support.torch_decoder import (  # noqa: E402
    TorchFlorence2Decoder, encoder_input_ids, folder_settings, load_florence2, random_pixels,
)

IMAGES = (0, 1, 2)


@pytest.fixture(scope="module")
def florence(tiny_florence2_hf):
    # One thread: the toy model gains nothing from more, and they thrash on a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    model = load_florence2(tiny_florence2_hf)
    yield model, encoder_input_ids(model, tiny_florence2_hf), folder_settings(tiny_florence2_hf)
    torch.set_num_threads(threads)


def run_both(florence, image: int, **overrides):
    """(ours, transformers' output) for one image; None overrides unset a folder value."""
    model, ids, settings = florence
    pixels = random_pixels(image)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # transformers' advice about max_length defaults
        ref = model.generate(
            input_ids=ids, pixel_values=pixels, return_dict_in_generate=True, output_logits=True,
            output_scores=True, **overrides,
        )
    decoder = TorchFlorence2Decoder(model, ids, pixels)
    ours = generate(decoder, [settings.start_token_id], dataclasses.replace(settings, **overrides))
    return ours, ref


def padded(sequences: list[list[int]], length: int, fill: int) -> list[list[int]]:
    return [s + [fill] * (length - len(s)) for s in sequences]


def assert_same_tokens(ours, ref, fill: int = 1) -> None:
    expected = ref.sequences.tolist()
    assert padded(ours.sequences, len(expected[0]), fill) == expected
    assert max(len(s) for s in ours.sequences) == len(expected[0])
    assert ours.steps == len(ref.scores), "the loop must stop at the same step"


def assert_varied(ours) -> None:
    """Guard against a lucky case: the best sequence must use several different tokens."""
    generated = ours.generated[0]
    assert len(set(generated)) >= 3, generated


@pytest.mark.parametrize("image", IMAGES)
def test_greedy_matches_transformers(florence, image):
    ours, ref = run_both(florence, image, num_beams=1)
    assert_same_tokens(ours, ref)
    assert_varied(ours)
    # token_probs: the raw softmax of transformers' own logits at each step
    expected = [
        torch.softmax(step[0].double(), -1)[tok].item()
        for step, tok in zip(ref.logits, ref.sequences[0, 1:].tolist())
    ]
    np.testing.assert_allclose(ours.token_probs[0], expected, rtol=1e-4, atol=1e-7)
    assert ours.confidence == pytest.approx(float(np.mean(expected)), rel=1e-4)
    assert ours.scores[0] == pytest.approx(float(np.sum(np.log(expected))), rel=1e-4)


@pytest.mark.parametrize("image", IMAGES)
def test_folder_beam_search_matches_transformers(florence, image):
    """generation_config.json as is: 3 beams, no-repeat 3-grams, early stopping, forced BOS/EOS."""
    ours, ref = run_both(florence, image)
    assert_same_tokens(ours, ref)
    assert_varied(ours)
    assert ours.generated[0][0] == 0, "forced BOS"
    assert ours.sequences[0][-1] == 2
    np.testing.assert_allclose(ours.scores, ref.sequences_scores.numpy(), rtol=1e-5, atol=1e-6)
    # token_probs follow the winning hypothesis through its beams
    beams = ref.beam_indices[0].tolist()
    tokens = ref.sequences[0, 1:].tolist()
    expected = [
        torch.softmax(ref.logits[t][beams[t]].double(), -1)[tok].item() for t, tok in enumerate(tokens)
    ]
    np.testing.assert_allclose(ours.token_probs[0], expected, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("max_new_tokens", [1, 2, 3, 8, 33])
@pytest.mark.parametrize("num_beams", [1, 3])
def test_max_new_tokens(florence, max_new_tokens, num_beams):
    ours, ref = run_both(florence, 1, max_new_tokens=max_new_tokens, num_beams=num_beams)
    assert_same_tokens(ours, ref)
    assert len(ours.generated[0]) <= max_new_tokens
    if max_new_tokens == 33:
        assert len(ours.generated[0]) == 33, "forced EOS lands exactly on the last position"


SETTINGS_CASES = [
    dict(min_length=16, max_new_tokens=24),
    dict(min_new_tokens=14, max_new_tokens=24, num_beams=1),
    dict(length_penalty=2.0, max_new_tokens=12),
    dict(length_penalty=-0.5, early_stopping=False, max_new_tokens=16),
    dict(length_penalty=0.0, early_stopping="never", num_beams=5, max_new_tokens=14),
    dict(early_stopping="never", max_new_tokens=16),
    dict(num_beams=4, num_return_sequences=3, early_stopping=False, max_new_tokens=20),
    dict(max_length=9),
    dict(no_repeat_ngram_size=2, num_beams=2, max_new_tokens=24),
    dict(no_repeat_ngram_size=1, num_beams=1, max_new_tokens=24),
    dict(repetition_penalty=1.5, max_new_tokens=16),
    dict(repetition_penalty=1.5, num_beams=1, no_repeat_ngram_size=0, max_new_tokens=16),
    dict(eos_token_id=[2, 365], max_new_tokens=16),
    dict(eos_token_id=[2, 365, 88], num_beams=1, max_new_tokens=16),
    dict(bad_words_ids=[[365], [88, 365], [1151]], max_new_tokens=16),
    dict(suppress_tokens=[365, 88], num_beams=1, max_new_tokens=16),
    dict(begin_suppress_tokens=[247, 1151], forced_bos_token_id=None, num_beams=1, max_new_tokens=10),
    dict(forced_bos_token_id=None, forced_eos_token_id=None, max_new_tokens=16),
    dict(renormalize_logits=True, max_new_tokens=12),
]


@pytest.mark.parametrize(
    ("overrides", "image"),
    # Each case on one image, the images taken in turn, so no case relies on one picture.
    [(case, IMAGES[i % len(IMAGES)]) for i, case in enumerate(SETTINGS_CASES)],
    ids=[",".join(f"{k}={v}" for k, v in case.items()) for case in SETTINGS_CASES],
)
def test_settings_match_transformers(florence, overrides, image):
    ours, ref = run_both(florence, image, **overrides)
    assert_same_tokens(ours, ref)
    if ref.get("sequences_scores") is not None:
        np.testing.assert_allclose(ours.scores, ref.sequences_scores.numpy(), rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def eager_eos(florence):
    """The same model with a bias towards EOS, so hypotheses end on their own at many lengths
    and the early-stopping rules decide when beam search stops."""
    model, ids, settings = florence
    biased = copy.deepcopy(model)
    head = torch.nn.Linear(model.lm_head.in_features, model.lm_head.out_features, bias=True)
    with torch.no_grad():
        head.weight.copy_(model.lm_head.weight)
        head.bias.zero_()
        head.bias[2] = 2.0
    biased.lm_head = head
    return biased, ids, settings


@pytest.mark.parametrize("early_stopping", [True, False, "never"])
@pytest.mark.parametrize(
    "overrides",
    [dict(length_penalty=1.0), dict(length_penalty=-0.5), dict(length_penalty=2.0, num_beams=4),
     dict(length_penalty=0.0, num_beams=4, num_return_sequences=4)],
    ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()),
)
def test_early_stopping_rules_match_transformers(eager_eos, early_stopping, overrides):
    for image in IMAGES:
        ours, ref = run_both(
            eager_eos, image, early_stopping=early_stopping, forced_eos_token_id=None, max_new_tokens=40,
            **overrides,
        )
        assert_same_tokens(ours, ref)
        np.testing.assert_allclose(ours.scores, ref.sequences_scores.numpy(), rtol=1e-5, atol=1e-6)


def test_min_length_delays_eos(florence):
    short, _ = run_both(florence, 0, num_beams=1, max_new_tokens=30, no_repeat_ngram_size=0)
    longer, ref = run_both(florence, 0, num_beams=1, max_new_tokens=30, no_repeat_ngram_size=0, min_length=25)
    assert_same_tokens(longer, ref)
    assert 2 not in longer.sequences[0][1:24]
    assert len(longer.sequences[0]) >= 25


def test_streaming_ends_on_the_returned_sequence(florence):
    model, ids, settings = florence
    decoder = TorchFlorence2Decoder(model, ids, random_pixels(2))
    seen: list[list[int]] = []
    out = generate(decoder, [settings.start_token_id], settings.replace(max_new_tokens=20), on_step=seen.append)
    assert len(seen) == out.steps == sum(1 for call in decoder.calls if call[0] == "step")
    assert seen[-1] == out.sequences[0]
    assert all(s[0] == settings.start_token_id for s in seen)
    reorders = [call for call in decoder.calls if call[0] == "reorder"]
    assert reorders and all(len(r[1]) == 3 for r in reorders)
