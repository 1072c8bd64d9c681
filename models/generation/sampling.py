"""Greedy decoding and multinomial sampling: transformers' `GenerationMixin._sample`."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.generation.decoder import (
    Decoder, GenerationOutput, StepCallback, StopCheck, check_cancelled, run_step,
)
from models.generation.processors import LogitsProcessor, apply
from models.generation.settings import GenerationSettings


def raw_log_probs(logits: np.ndarray, rows: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """log softmax(logits)[row, token] for each pair, at temperature 1 (float64)."""
    picked = logits[rows]
    top = picked.max(axis=1, keepdims=True)
    lse = np.log(np.exp(picked - top).sum(axis=1, dtype=np.float64)) + top[:, 0]
    return picked[np.arange(len(rows)), tokens].astype(np.float64) - lse


def multinomial(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One token per row, drawn from softmax(scores); -inf scores are never drawn.

    Inverse-CDF over the tokens in index order, so one uniform draw per row decides.
    """
    draws = rng.random(scores.shape[0])
    tokens = np.empty(scores.shape[0], dtype=np.int64)
    for r, row in enumerate(scores):
        live = np.flatnonzero(row > -np.inf)  # after top-k/top-p few tokens are left
        weights = np.exp(row[live].astype(np.float64) - row[live].max())
        cdf = np.cumsum(weights)
        i = int(np.searchsorted(cdf, draws[r] * cdf[-1], side="right"))
        tokens[r] = live[min(i, live.size - 1)]
    return tokens


def sample_search(
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
    """Greedy (argmax) or sampled decoding of `num_return_sequences` independent rows.

    `on_settled` hears the tokens chosen so far when there is one row (several are ranked only
    at the end, so nothing is settled before it)."""
    rows = settings.num_return_sequences if settings.do_sample else 1
    p = len(prefix)
    seqs = np.empty((rows, max_length), dtype=np.int64)
    seqs[:, :p] = np.asarray(prefix, dtype=np.int64)
    logprobs = np.zeros((rows, max_length - p), dtype=np.float64)
    lengths = np.full(rows, max_length, dtype=np.int64)
    unfinished = np.ones(rows, dtype=bool)
    eos = np.asarray(settings.eos_token_id, dtype=np.int64)
    pad = settings.pad_id
    all_rows = np.arange(rows)

    decoder.start(rows)
    step_input = seqs[:, :p]
    cur = p
    steps = 0
    while True:
        check_cancelled(should_stop)
        logits = run_step(decoder, step_input)
        steps += 1
        scores = apply(processors, seqs[:, :cur], logits.copy()) if processors else logits
        tokens = multinomial(scores, rng) if settings.do_sample else scores.argmax(axis=1)
        logprobs[:, cur - p] = raw_log_probs(logits, all_rows, tokens)
        if eos.size:
            # Rows that already ended keep receiving the pad token, as in transformers.
            tokens = np.where(unfinished, tokens, pad)
        seqs[:, cur] = tokens
        cur += 1
        ended = unfinished & (np.isin(tokens, eos) | (cur >= max_length))
        lengths[ended] = cur
        unfinished &= ~ended
        if on_step is not None:
            on_step(seqs[0, : min(lengths[0], cur)].tolist())
        if on_settled is not None and rows == 1 and unfinished[0]:
            on_settled(seqs[0, :cur].tolist())
        if not unfinished.any():
            break
        step_input = seqs[:, cur - 1 : cur]

    sequences = [seqs[r, : lengths[r]].tolist() for r in range(rows)]
    token_logprobs = [logprobs[r, : lengths[r] - p] for r in range(rows)]
    scores_out = [float(lp.sum()) for lp in token_logprobs]
    # Independent samples are ranked by their likelihood under the model.
    order = sorted(range(rows), key=lambda r: -scores_out[r])
    return GenerationOutput(
        sequences=[sequences[r] for r in order],
        scores=[scores_out[r] for r in order],
        token_probs=[np.exp(token_logprobs[r]).tolist() for r in order],
        prefix_length=p,
        steps=steps,
    )
