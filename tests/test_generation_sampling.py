"""Nucleus sampling on the tiny Florence-2: reproducible per seed, greedy when top_p is tiny."""
from __future__ import annotations

import numpy as np
import pytest

from tests.support.require import require

torch = require("torch")

from models.generation import generate  # noqa: E402
from tests.support.torch_decoder import (  # noqa: E402
    TorchFlorence2Decoder, encoder_input_ids, folder_settings, load_florence2, random_pixels,
)


@pytest.fixture(scope="module")
def florence(tiny_florence2_hf):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the toy model gains nothing from more threads
    model = load_florence2(tiny_florence2_hf)
    yield model, encoder_input_ids(model, tiny_florence2_hf), folder_settings(tiny_florence2_hf)
    torch.set_num_threads(threads)


def sample(florence, image: int, seed: int | None, **overrides):
    model, ids, settings = florence
    decoder = TorchFlorence2Decoder(model, ids, random_pixels(image))
    # What the engine asks for alternatives: sampling instead of beams, one row per alternative.
    chosen = settings.replace(num_beams=1, do_sample=True, max_new_tokens=16, **overrides)
    return generate(decoder, [settings.start_token_id], chosen, seed=seed), decoder


def test_same_seed_same_output(florence):
    first, decoder = sample(florence, 0, seed=42, top_p=0.9, num_return_sequences=3)
    again, _ = sample(florence, 0, seed=42, top_p=0.9, num_return_sequences=3)
    assert decoder.calls[0] == ("start", (3,))
    assert first.sequences == again.sequences and first.scores == again.scores
    assert len(first.sequences) == 3
    for sequence in first.sequences:
        assert sequence[:2] == [2, 0] and sequence[-1] == 2  # forced BOS / EOS still apply


def test_different_seeds_differ(florence):
    outputs = {tuple(sample(florence, 1, seed=s, top_p=0.9)[0].sequences[0]) for s in range(4)}
    assert len(outputs) > 1


def test_tiny_top_p_is_greedy(florence):
    model, ids, settings = florence
    greedy = generate(
        TorchFlorence2Decoder(model, ids, random_pixels(2)), [2], settings.replace(num_beams=1, max_new_tokens=16)
    )
    assert len(set(greedy.generated[0])) >= 3
    for seed in (0, 1):
        out, _ = sample(florence, 2, seed=seed, top_p=1e-6, num_return_sequences=2)
        assert out.sequences == greedy.sequences * 2
        np.testing.assert_allclose(out.token_probs[0], greedy.token_probs[0], rtol=1e-6)


def test_temperature_sharpens_towards_greedy(florence):
    model, ids, settings = florence
    greedy = generate(
        TorchFlorence2Decoder(model, ids, random_pixels(0)), [2], settings.replace(num_beams=1, max_new_tokens=16)
    )
    cold, _ = sample(florence, 0, seed=3, temperature=1e-4, top_k=0)
    assert cold.sequences == greedy.sequences
