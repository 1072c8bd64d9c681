"""Beam search: transformers' `GenerationMixin._beam_search` for one input, in numpy.

The same float32 arithmetic in the same order: processors act on log-softmax scores, beams
after the first start at -1e9, the best 2 x beams continuations (more with several EOS ids) are
kept, finished hypotheses are length-normalised and merged into a fixed set of `num_beams`,
and the loop ends on transformers' early-stopping rules.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.generation.decoder import (
    Decoder, GenerationOutput, StepCallback, StopCheck, check_cancelled, common_prefix_length, run_step,
)
from models.generation.processors import LogitsProcessor, apply, log_softmax
from models.generation.settings import GenerationSettings

# transformers' stand-in for "impossible" (not -inf, so that sums stay ordered).
MASK = np.float32(-1.0e9)
# Top-k selection: sample size for the lower bound, and the most candidates worth sorting.
_SAMPLE = 1024
_MAX_SORTED = 8192


def _top(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest values, largest first; ties go to the lower index."""
    return np.argsort(-values, kind="stable")[:k]


def _top_candidates(flat: np.ndarray, k: int) -> np.ndarray:
    """`_top` for a long vector (beams x vocab), without sorting or partitioning all of it.

    The k-th largest value of a strided sample is a lower bound for the k-th largest of the
    whole vector, so one comparison pass leaves a few hundred candidates to sort.
    """
    n = flat.size
    if k >= n:
        return _top(flat, k)
    sample = flat[:: max(1, n // _SAMPLE)]
    bound = np.partition(sample, sample.size - k)[sample.size - k] if sample.size > k else -np.inf
    if bound == -np.inf:
        # Forced-token steps leave almost everything at -inf: rank the finite scores, and fill
        # up with the lowest -inf indices if there are fewer than k of them.
        finite = flat > -np.inf
        picked = np.flatnonzero(finite)
        if picked.size < k:
            picked = np.concatenate((picked, np.flatnonzero(~finite)[: k - picked.size]))
    else:
        picked = np.flatnonzero(flat >= bound)
    if picked.size > _MAX_SORTED:  # a flat distribution: partition after all
        picked = np.argpartition(flat, n - k)[n - k :]
    return picked[np.lexsort((picked, -flat[picked]))][:k]


def _sample_candidates(flat: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k draws without replacement from softmax(flat), in draw order (Gumbel top-k)."""
    perturbed = flat.astype(np.float64) + rng.gumbel(size=flat.size)
    return _top_candidates(perturbed, k)


def beam_search(
    decoder: Decoder,
    prefix: Sequence[int],
    settings: GenerationSettings,
    max_length: int,
    processors: Sequence[LogitsProcessor],
    *,
    rng: np.random.Generator,
    on_step: StepCallback | None = None,
    should_stop: StopCheck | None = None,
    on_settled: StepCallback | None = None,
) -> GenerationOutput:
    """Beam search (beam sampling with `do_sample`); steps c-g follow transformers' comments.

    `on_settled` hears the tokens no later step can change, whenever they grow: the prefix that
    every running beam and every finished hypothesis share (the answer is one of them or grows
    from one of them)."""
    beams = settings.num_beams
    eos = np.asarray(settings.eos_token_id, dtype=np.int64)
    keep = max(2, 1 + eos.size) * beams
    penalty = settings.length_penalty
    early = settings.early_stopping
    p = len(prefix)
    new_max = max_length - p

    # Running hypotheses: tokens, cumulative processed log-prob, raw log-prob of each token.
    run_seqs = np.zeros((beams, max_length), dtype=np.int64)
    run_seqs[:, :p] = np.asarray(prefix, dtype=np.int64)
    run_scores = np.zeros(beams, dtype=np.float32)
    run_scores[1:] = MASK  # only the first beam's continuations count at the first step
    run_raw = np.zeros((beams, new_max), dtype=np.float64)
    # Finished hypotheses: a fixed set of `beams` slots, best first, -1e9 while empty.
    fin_seqs = run_seqs.copy()
    fin_scores = np.full(beams, MASK, dtype=np.float32)
    fin_raw = run_raw.copy()
    fin_len = np.full(beams, p, dtype=np.int64)
    fin_done = np.zeros(beams, dtype=bool)
    top_mask = np.zeros(keep, dtype=bool)
    top_mask[:beams] = True

    decoder.start(beams)
    step_input = run_seqs[:, :p]
    cur = p
    steps = 0
    settled = p
    while True:
        check_cancelled(should_stop)
        logits = run_step(decoder, step_input)
        steps += 1
        vocab = logits.shape[1]
        logp = log_softmax(logits)
        scores = apply(processors, run_seqs[:, :cur], logp.copy()) if processors else logp
        flat = (scores + run_scores[:, None]).ravel()

        # c. the best `keep` continuations over all beams
        if settings.do_sample:
            picked = _sample_candidates(flat, keep, rng)
        else:
            picked = _top_candidates(flat, keep)
        cand_scores = flat[picked]
        src, tokens = np.divmod(picked, vocab)
        cand_seqs = run_seqs[src]
        cand_seqs[:, cur] = tokens
        cand_raw = run_raw[src]
        cand_raw[:, cur - p] = logp[src, tokens]

        # d. which continuations end here
        hits = np.isin(tokens, eos) | (cur + 1 >= max_length)

        # e. the best unfinished continuations run on
        run_candidates = cand_scores + hits.astype(np.float32) * MASK
        nxt = _top(run_candidates, beams)
        run_seqs, run_scores, run_raw = cand_seqs[nxt], run_candidates[nxt], cand_raw[nxt]
        beam_sources = src[nxt]

        # f. finished continuations among the top `beams` join the finished set if good enough.
        # (transformers also masks them when the set is full or cannot improve; with one input
        # the loop has already stopped in those cases.)
        just_done = hits & top_mask
        normalised = cand_scores / ((cur + 1 - p) ** penalty)
        normalised = normalised + (~just_done).astype(np.float32) * MASK
        merged = np.concatenate((fin_scores, normalised))
        best = _top(merged, beams)
        fin_scores = merged[best]
        fin_seqs = np.concatenate((fin_seqs, cand_seqs))[best]
        fin_raw = np.concatenate((fin_raw, cand_raw))[best]
        fin_len = np.concatenate((fin_len, np.full(keep, cur + 1, dtype=np.int64)))[best]
        fin_done = np.concatenate((fin_done, just_done))[best]

        # g. stop when nothing can improve, every slot is done (early stopping), or no
        # continuation can go on (max length)
        cur += 1
        if early == "never" and penalty > 0.0:
            best_length = max_length - p
        else:
            best_length = cur - p
        best_running = run_scores[0] / (best_length**penalty)
        worst_finished = np.where(fin_done, fin_scores.min(), MASK)
        improvable = bool((best_running > worst_finished).any())  # once False, the loop ends
        going = improvable and not (fin_done.all() and early is True) and not hits.all()

        if on_step is not None:
            if fin_done[0] and fin_scores[0] >= run_scores[0] / ((cur - p) ** penalty):
                on_step(fin_seqs[0, : fin_len[0]].tolist())
            else:
                on_step(run_seqs[0, :cur].tolist())
        if on_settled is not None and going:
            hypotheses = [run_seqs[i, :cur] for i in range(1, beams)]
            hypotheses += [fin_seqs[i, : fin_len[i]] for i in np.flatnonzero(fin_done)]
            agreed = common_prefix_length(run_seqs[0, :cur], hypotheses)
            if agreed > settled:
                settled = agreed
                on_settled(run_seqs[0, :agreed].tolist())
        if not going:
            break
        if not np.array_equal(beam_sources, np.arange(beams)):
            decoder.reorder(beam_sources.astype(np.int64))
        step_input = run_seqs[:, cur - 1 : cur]

    n = settings.num_return_sequences
    return GenerationOutput(
        sequences=[fin_seqs[i, : fin_len[i]].tolist() for i in range(n)],
        scores=[float(s) for s in fin_scores[:n]],
        token_probs=[np.exp(fin_raw[i, : fin_len[i] - p]).tolist() for i in range(n)],
        prefix_length=p,
        steps=steps,
    )
