"""The decoding loop's contract with a `Decoder`, driven by a scripted numpy model (no torch).

The fake model's logits depend on each row's whole history, which it keeps like a cache: if
the loop reordered rows wrongly, the probabilities it reports would not match a replay of the
sequence it returns.
"""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from models.errors import CancelledError, LumenError
from models.generation import Decoder, GenerationSettings, generate

VOCAB = 40
EOS = 2


class HistoryDecoder:
    """Logits are a fixed random function of the row's history; EOS grows likelier with length."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.calls: list[tuple[str, object]] = []

    def logits_for(self, history: list[int]) -> np.ndarray:
        key = zlib.crc32(np.asarray(history, dtype=np.int64).tobytes()) ^ self.seed
        logits = np.random.default_rng(key).standard_normal(VOCAB).astype(np.float32) * 3
        logits[EOS] += 0.4 * len(history) - 4
        return logits

    def start(self, rows: int) -> None:
        self.calls.append(("start", rows))
        self.history: list[list[int]] = [[] for _ in range(rows)]

    def step(self, input_ids: np.ndarray) -> np.ndarray:
        assert input_ids.dtype == np.int64 and input_ids.shape[0] == len(self.history)
        self.calls.append(("step", input_ids.shape))
        for row, new in zip(self.history, input_ids.tolist()):
            row.extend(new)
        return np.stack([self.logits_for(h) for h in self.history])

    def reorder(self, rows: np.ndarray) -> None:
        assert rows.dtype == np.int64
        self.calls.append(("reorder", rows.tolist()))
        self.history = [list(self.history[i]) for i in rows]

    def replay_probs(self, sequence: list[int], prefix_length: int) -> list[float]:
        """Raw softmax probability of each generated token, computed without any cache."""
        probs = []
        for i in range(prefix_length, len(sequence)):
            logits = self.logits_for(sequence[:i]).astype(np.float64)
            p = np.exp(logits - logits.max())
            probs.append(float(p[sequence[i]] / p.sum()))
        return probs


def settings(**kwargs) -> GenerationSettings:
    base = dict(decoder_start_token_id=EOS, eos_token_id=EOS, pad_token_id=1, max_new_tokens=20)
    return GenerationSettings(**{**base, **kwargs})


def test_fake_is_a_decoder():
    assert isinstance(HistoryDecoder(), Decoder)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("beams", [2, 3, 5])
def test_beam_search_reorders_the_cache_rows(seed, beams):
    decoder = HistoryDecoder(seed)
    out = generate(decoder, [EOS], settings(num_beams=beams, num_return_sequences=beams))
    assert decoder.calls[0] == ("start", beams)
    reorders = [c[1] for c in decoder.calls if c[0] == "reorder"]
    assert reorders, "a beam search that never reorders rows is not exercising the cache"
    assert all(r != list(range(beams)) for r in reorders)  # identity reorders are skipped
    steps = [c for c in decoder.calls if c[0] == "step"]
    assert len(steps) == out.steps and len(reorders) < out.steps  # none after the last step
    for sequence, probs in zip(out.sequences, out.token_probs):
        np.testing.assert_allclose(probs, decoder.replay_probs(sequence, 1), rtol=1e-5)
    assert out.scores == sorted(out.scores, reverse=True)


def test_greedy_is_the_argmax_of_each_step():
    decoder = HistoryDecoder(7)
    out = generate(decoder, [EOS], settings())
    sequence = [EOS]
    while len(sequence) < 21:
        sequence.append(int(np.argmax(decoder.logits_for(sequence))))
        if sequence[-1] == EOS:
            break
    assert out.sequences == [sequence]
    assert len(set(out.generated[0])) >= 3
    np.testing.assert_allclose(out.token_probs[0], decoder.replay_probs(sequence, 1), rtol=1e-5)
    assert out.confidence == pytest.approx(np.mean(out.token_probs[0]))
    assert out.scores[0] == pytest.approx(np.sum(np.log(out.token_probs[0])), rel=1e-6)
    assert [c[1] for c in decoder.calls if c[0] == "step"] == [(1, 1)] * out.steps


def test_any_of_several_eos_ids_ends_greedy_decoding():
    decoder = HistoryDecoder(7)
    first = generate(decoder, [EOS], settings(max_new_tokens=12)).generated[0]
    stop = first[3]
    out = generate(HistoryDecoder(7), [EOS], settings(max_new_tokens=12, eos_token_id=[EOS, stop]))
    assert out.generated[0] == first[: first.index(stop) + 1]


def test_a_longer_prefix_is_fed_at_once_and_kept():
    decoder = HistoryDecoder(3)
    out = generate(decoder, [EOS, 0, 5], settings(forced_bos_token_id=0, max_new_tokens=6))
    assert decoder.calls[1] == ("step", (1, 3))
    assert out.sequences[0][:3] == [EOS, 0, 5] and out.prefix_length == 3
    assert len(out.token_probs[0]) == len(out.sequences[0]) - 3 <= 6
    # forced BOS applies to a one-token prefix only, as in transformers
    assert generate(HistoryDecoder(3), [EOS], settings(forced_bos_token_id=0)).generated[0][0] == 0


@pytest.mark.parametrize("beams", [1, 3])
def test_streaming_reports_the_best_sequence_after_every_step(beams):
    seen: list[list[int]] = []
    out = generate(HistoryDecoder(1), [EOS], settings(num_beams=beams), on_step=seen.append)
    assert len(seen) == out.steps
    assert all(s[0] == EOS for s in seen)
    assert seen[-1] == out.sequences[0]
    if beams == 1:
        assert [len(s) for s in seen] == list(range(2, 2 + out.steps))


@pytest.mark.parametrize("beams", [1, 3])
def test_should_stop_cancels_between_steps(beams):
    decoder = HistoryDecoder(0)
    polls = iter([False, False, False, True])
    with pytest.raises(CancelledError) as err:
        generate(decoder, [EOS], settings(num_beams=beams, max_new_tokens=50), should_stop=lambda: next(polls))
    assert isinstance(err.value, LumenError) and err.value.exit_code == 130
    assert sum(1 for c in decoder.calls if c[0] == "step") == 3


def test_should_stop_false_changes_nothing():
    plain = generate(HistoryDecoder(4), [EOS], settings(num_beams=3))
    polled = generate(HistoryDecoder(4), [EOS], settings(num_beams=3), should_stop=lambda: False)
    assert plain == polled


def test_length_limits():
    with pytest.raises(ValueError):
        generate(HistoryDecoder(), [], settings())
    with pytest.raises(ValueError):
        generate(HistoryDecoder(), [EOS, 5, 6], settings(max_new_tokens=None, max_length=3))
    out = generate(HistoryDecoder(2), [EOS], settings(max_new_tokens=None, min_length=25))
    assert len(out.sequences[0]) == 21  # default: 20 new tokens, and EOS banned until then


@pytest.mark.parametrize("seed", [0, 1])
def test_sampling_rows_are_independent_and_ranked(seed):
    decoder = HistoryDecoder(5)
    out = generate(decoder, [EOS], settings(do_sample=True, num_return_sequences=4, top_k=0), seed=seed)
    assert decoder.calls[0] == ("start", 4)
    assert not [c for c in decoder.calls if c[0] == "reorder"]
    assert out.scores == sorted(out.scores, reverse=True)
    for sequence, probs, score in zip(out.sequences, out.token_probs, out.scores):
        np.testing.assert_allclose(probs, decoder.replay_probs(sequence, 1), rtol=1e-5)
        assert score == pytest.approx(np.sum(np.log(probs)), rel=1e-6)
        assert EOS not in sequence[1:-1]


def test_sampling_is_reproducible_per_seed():
    def run(seed, **kw):
        return generate(HistoryDecoder(9), [EOS], settings(do_sample=True, num_return_sequences=3, **kw), seed=seed)

    assert run(11).sequences == run(11).sequences
    assert len({tuple(map(tuple, run(s).sequences)) for s in range(6)}) > 1
    greedy = generate(HistoryDecoder(9), [EOS], settings()).sequences[0]
    assert run(3, top_p=1e-6).sequences == [greedy] * 3
    assert run(4, top_k=1).sequences == [greedy] * 3


def test_beam_sampling_is_reproducible_and_consistent():
    def run(seed):
        return generate(HistoryDecoder(8), [EOS], settings(do_sample=True, num_beams=3, num_return_sequences=2), seed=seed)

    first = run(5)
    assert first == run(5)
    assert len({tuple(run(s).sequences[0]) for s in range(6)}) > 1
    for sequence, probs in zip(first.sequences, first.token_probs):
        np.testing.assert_allclose(probs, HistoryDecoder(8).replay_probs(sequence, 1), rtol=1e-5)


def test_logits_of_the_wrong_shape_are_reported():
    class ThreeD(HistoryDecoder):
        def step(self, input_ids):
            return super().step(input_ids)[:, None, :]

    with pytest.raises(ValueError, match="ThreeD.step returned logits of shape"):
        generate(ThreeD(), [EOS], settings())
