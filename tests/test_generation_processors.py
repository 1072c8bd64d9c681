"""Each numpy logits processor against transformers' own, on random scores and histories."""
from __future__ import annotations

import numpy as np
import pytest

from tests.support.require import require

torch = require("torch")
tp = require("transformers.generation.logits_process")

from models.generation import GenerationSettings  # noqa: E402
from models.generation import processors as P  # noqa: E402

VOCAB = 300
ROWS = 4


def random_case(seed: int, length: int = 12, vocab: int = VOCAB, log_probs: bool = False):
    """Histories with repeats (so n-grams and penalties bite) and scores with some -inf."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 12, size=(ROWS, length)).astype(np.int64)
    ids[:, 0] = 2
    scores = (rng.standard_normal((ROWS, vocab)) * 3).astype(np.float32)
    scores[rng.random((ROWS, vocab)) < 0.05] = -np.inf
    if log_probs:
        scores = P.log_softmax(scores)
    return ids, scores


def check(ours, theirs, ids: np.ndarray, scores: np.ndarray) -> None:
    expected = theirs(torch.from_numpy(ids.copy()), torch.from_numpy(scores.copy())).numpy()
    got = ours(ids.copy(), scores.copy())
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(expected))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("penalty", [0.7, 1.3, 2.0])
def test_repetition_penalty(seed, penalty):
    ids, scores = random_case(seed, log_probs=seed % 2 == 0)
    check(P.RepetitionPenalty(penalty), tp.RepetitionPenaltyLogitsProcessor(penalty), ids, scores)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_no_repeat_ngram(seed, n):
    ids, scores = random_case(seed, length=2 * n + 1 + seed * 5)
    # Rows 0 and 1 end with the n-1 tokens at positions 1.., so the token at n is banned there.
    if n > 1:
        ids[:2, -(n - 1) :] = ids[:2, 1:n]
    check(P.NoRepeatNGram(n), tp.NoRepeatNGramLogitsProcessor(n), ids, scores)
    got = P.NoRepeatNGram(n)(ids, scores.copy())
    assert np.isneginf(got[[0, 1], ids[:2, n]]).all()


def test_no_repeat_ngram_shorter_than_n_is_untouched():
    ids, scores = random_case(0, length=2)
    np.testing.assert_array_equal(P.NoRepeatNGram(3)(ids, scores.copy()), scores)


@pytest.mark.parametrize("seed", range(4))
def test_bad_words(seed):
    """Single words banned everywhere, longer ones only after their prefix, EOS never: the exact
    set of banned cells, on scores finite wherever the test looks (so every check can fail)."""
    ids, scores = random_case(seed)
    ids[0, -1], ids[1, -1], ids[2, -2:], ids[3, -2:] = 7, 8, (4, 6), (1, 0)
    scores[:, [2, 3, 5, 9, 11]] = 1.5
    words = [[5], [7, 3], [8, 9], [4, 6, 11], [2]]  # [2] is EOS: transformers drops it too
    check(P.NoBadWords(words, [2]), tp.NoBadWordsLogitsProcessor(words, eos_token_id=2), ids, scores)
    got = P.NoBadWords(words, [2])(ids, scores.copy())
    banned = np.isneginf(scores)
    banned[:, 5] = True
    banned[0, 3] = banned[1, 9] = banned[2, 11] = True
    np.testing.assert_array_equal(np.isneginf(got), banned)
    np.testing.assert_array_equal(got[~banned], scores[~banned])  # nothing else touched, EOS included


@pytest.mark.parametrize("length", [5, 12, 13])
def test_min_length(length):
    ids, scores = random_case(1, length=length)
    check(P.MinLength(13, [2, 7]), tp.MinLengthLogitsProcessor(13, [2, 7]), ids, scores)
    # min_new_tokens = min_length - prefix
    check(P.MinLength(13, [2, 7]), tp.MinNewTokensLengthLogitsProcessor(3, 10, [2, 7]), ids, scores)


@pytest.mark.parametrize("length", [1, 2])
def test_forced_bos(length):
    ids, scores = random_case(2, length=length)
    check(P.ForcedTokens(1, [0]), tp.ForcedBOSTokenLogitsProcessor(0), ids, scores)


@pytest.mark.parametrize("length", [8, 9, 10])
@pytest.mark.parametrize("eos", [[2], [2, 5]])
def test_forced_eos(length, eos):
    ids, scores = random_case(3, length=length)
    check(P.ForcedTokens(10 - 1, eos), tp.ForcedEOSTokenLogitsProcessor(10, eos), ids, scores)


@pytest.mark.parametrize("length", [3, 4])
def test_suppress_tokens(length):
    ids, scores = random_case(4, length=length)
    check(P.SuppressTokens([3, 8, 299]), tp.SuppressTokensLogitsProcessor([3, 8, 299]), ids, scores)
    check(P.SuppressTokens([3, 8], at_length=4), tp.SuppressTokensAtBeginLogitsProcessor([3, 8], 4), ids, scores)


@pytest.mark.parametrize("temperature", [0.3, 0.7, 1.8])
def test_temperature(temperature):
    ids, scores = random_case(5)
    check(P.Temperature(temperature), tp.TemperatureLogitsWarper(temperature), ids, scores)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("top_k", "keep"), [(1, 1), (5, 1), (50, 1), (2, 3), (299, 1), (400, 1)])
def test_top_k(seed, top_k, keep):
    ids, scores = random_case(seed)
    check(P.TopK(top_k, keep), tp.TopKLogitsWarper(top_k, min_tokens_to_keep=keep), ids, scores)


def test_top_k_on_a_full_vocabulary():
    """Large rows take the sampled-bound shortcut; the result must not change."""
    ids, scores = random_case(7, vocab=51289)
    for k in (1, 50, 3000):
        check(P.TopK(k), tp.TopKLogitsWarper(k), ids, scores)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("top_p", "keep"), [(0.05, 1), (0.5, 1), (0.9, 1), (0.99, 1), (0.3, 3)])
def test_top_p(seed, top_p, keep):
    ids, scores = random_case(seed)
    check(P.TopP(top_p, keep), tp.TopPLogitsWarper(top_p, min_tokens_to_keep=keep), ids, scores)


@pytest.mark.parametrize("scale", [1.0, 3.0, 8.0])
@pytest.mark.parametrize("top_p", [0.5, 0.9])
def test_top_p_on_a_full_vocabulary(scale, top_p):
    """Peaked and flat rows of a real vocabulary size: the head shortcut and the full sort."""
    rng = np.random.default_rng(int(scale * 10))
    scores = (rng.standard_normal((2, 51289)) * scale).astype(np.float32)
    ids = np.zeros((2, 3), dtype=np.int64)
    check(P.TopP(top_p), tp.TopPLogitsWarper(top_p), ids, scores)


def test_log_softmax_matches_torch():
    _, scores = random_case(6)
    scores[np.isneginf(scores)] = -5.0
    expected = torch.log_softmax(torch.from_numpy(scores), -1).numpy()
    np.testing.assert_allclose(P.log_softmax(scores), expected, rtol=1e-6, atol=1e-5)
    check(P.LogSoftmax(), tp.LogitNormalization(), np.zeros((ROWS, 2), np.int64), scores)


def test_sampling_chain_matches_transformers():
    """Temperature, top-k and top-p in transformers' order, as `build_processors` lists them."""
    settings = GenerationSettings(do_sample=True, temperature=0.7, top_k=40, top_p=0.8, eos_token_id=2)
    ours = P.build_processors(settings, prefix_length=1, max_length=30)
    assert [type(p) for p in ours] == [P.Temperature, P.TopK, P.TopP]
    theirs = tp.LogitsProcessorList(
        [tp.TemperatureLogitsWarper(0.7), tp.TopKLogitsWarper(40), tp.TopPLogitsWarper(0.8)]
    )
    for seed in range(3):
        ids, scores = random_case(seed)
        check(lambda i, s: P.apply(ours, i, s), theirs, ids, scores)


def test_build_processors_follows_transformers_order_and_conditions():
    settings = GenerationSettings(
        repetition_penalty=1.2, no_repeat_ngram_size=3, bad_words_ids=[[5]], min_new_tokens=4,
        forced_bos_token_id=0, forced_eos_token_id=2, suppress_tokens=[9], begin_suppress_tokens=[8],
        eos_token_id=2, num_beams=3, do_sample=True, top_k=10, top_p=0.9, renormalize_logits=True,
    )
    built = P.build_processors(settings, prefix_length=1, max_length=20)
    assert [type(p) for p in built] == [
        P.RepetitionPenalty, P.NoRepeatNGram, P.NoBadWords, P.MinLength, P.ForcedTokens,
        P.ForcedTokens, P.SuppressTokens, P.SuppressTokens, P.TopK, P.TopP, P.LogSoftmax,
    ]
    assert built[3].min_length == 5 and built[4].at_length == 1 and built[5].at_length == 19
    assert built[7].at_length == 2  # forced BOS pushes begin-suppression one token later
    assert built[8].top_k == 10 and built[9].min_keep == 2  # beam sampling keeps EOS + one
    assert P.build_processors(GenerationSettings(), prefix_length=1, max_length=20) == []
    no_eos = GenerationSettings(min_length=5)
    assert P.build_processors(no_eos, prefix_length=1, max_length=20) == []
