"""transformers' logits processors in numpy, with the same semantics and the same order.

Each processor takes `input_ids` (rows, length) int64, the whole sequence so far including
the decoder prefix, and `scores` (rows, vocab) float32, and returns the processed scores. A
processor may write into `scores`: the decoding loop hands over an array it owns.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from models.generation.settings import GenerationSettings

NEG_INF = np.float32(-np.inf)


class LogitsProcessor(Protocol):
    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray: ...


def _in_vocab(ids: Sequence[int], vocab: int) -> np.ndarray:
    """The ids a row of `vocab` scores can hold (transformers skips the others)."""
    arr = np.asarray(ids, dtype=np.int64)
    return arr[(arr >= 0) & (arr < vocab)]


class RepetitionPenalty:
    """Divide positive / multiply negative scores of every token already in the sequence."""

    def __init__(self, penalty: float) -> None:
        self.penalty = float(penalty)

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        rows = np.broadcast_to(np.arange(input_ids.shape[0])[:, None], input_ids.shape)
        keep = input_ids < scores.shape[1]
        r, t = rows[keep], input_ids[keep]
        seen = scores[r, t]
        scores[r, t] = np.where(seen < 0, seen * self.penalty, seen / self.penalty)
        return scores


class NoRepeatNGram:
    """Ban every token that would complete an n-gram already present in the row."""

    def __init__(self, ngram_size: int) -> None:
        self.n = int(ngram_size)

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        length = input_ids.shape[1]
        if length < self.n:
            return scores
        # Only windows whose first n-1 tokens equal the row's last n-1 tokens can be
        # completed by the next token; each such window bans its own last token.
        windows = np.lib.stride_tricks.sliding_window_view(input_ids, self.n, axis=1)
        suffix = input_ids[:, length - self.n + 1 :]
        matches = (windows[:, :, :-1] == suffix[:, None, :]).all(axis=-1)
        rows, starts = np.nonzero(matches)
        banned = windows[rows, starts, -1]
        keep = banned < scores.shape[1]
        scores[rows[keep], banned[keep]] = NEG_INF
        return scores


class NoBadWords:
    """Never complete one of the given token sequences (transformers' NoBadWordsLogitsProcessor)."""

    def __init__(self, bad_words_ids: Sequence[Sequence[int]], eos_token_id: Sequence[int]) -> None:
        eos = {(int(e),) for e in eos_token_id}
        words = {tuple(int(t) for t in w) for w in bad_words_ids if w} - eos
        self.single = [w[0] for w in words if len(w) == 1]
        self.multi = [(np.asarray(w[:-1], dtype=np.int64), w[-1]) for w in words if len(w) > 1]

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        vocab = scores.shape[1]
        single = _in_vocab(self.single, vocab)
        if single.size:
            scores[:, single] += NEG_INF
        for prefix, last in self.multi:
            if len(prefix) > input_ids.shape[1] or last >= vocab:
                continue
            hit = (input_ids[:, input_ids.shape[1] - len(prefix) :] == prefix).all(axis=1)
            scores[hit, last] += NEG_INF
        return scores


class MinLength:
    """Forbid EOS while the sequence (prefix included) is shorter than `min_length`."""

    def __init__(self, min_length: int, eos_token_id: Sequence[int]) -> None:
        self.min_length = int(min_length)
        self.eos = list(eos_token_id)

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if input_ids.shape[1] < self.min_length:
            scores[:, _in_vocab(self.eos, scores.shape[1])] = NEG_INF
        return scores


class ForcedTokens:
    """At one sequence length, leave only the given token(s) possible (forced BOS / EOS)."""

    def __init__(self, at_length: int, token_ids: Sequence[int]) -> None:
        self.at_length = int(at_length)
        self.ids = list(token_ids)

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if input_ids.shape[1] == self.at_length:
            scores[:] = NEG_INF
            scores[:, self.ids] = 0.0
        return scores


class SuppressTokens:
    """Forbid the given tokens, always or only at one sequence length."""

    def __init__(self, token_ids: Sequence[int], at_length: int | None = None) -> None:
        self.ids = list(token_ids)
        self.at_length = at_length

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if self.at_length is None or input_ids.shape[1] == self.at_length:
            scores[:, _in_vocab(self.ids, scores.shape[1])] = NEG_INF
        return scores


class Temperature:
    def __init__(self, temperature: float) -> None:
        self.temperature = float(temperature)

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        scores /= self.temperature
        return scores


class TopK:
    """Keep the k highest scores of each row (ties with the k-th are kept)."""

    def __init__(self, top_k: int, min_tokens_to_keep: int = 1) -> None:
        self.top_k = max(int(top_k), int(min_tokens_to_keep))

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        vocab = scores.shape[1]
        k = min(self.top_k, vocab)
        if k >= vocab:
            return scores
        for row in scores:
            row[row < kth_largest(row, k)] = NEG_INF
        return scores


class TopP:
    """Nucleus filtering: drop the least likely tokens whose total probability is <= 1 - top_p.

    transformers sorts the whole row ascending and removes while the running sum stays
    <= 1 - top_p. Only tokens inside the smallest top set holding more than top_p of the mass
    can survive, so a large row is first cut down to such a set, then handled the same way.
    """

    def __init__(self, top_p: float, min_tokens_to_keep: int = 1) -> None:
        self.top_p = float(top_p)
        self.min_keep = int(min_tokens_to_keep)

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        for row in scores:
            live = np.flatnonzero(row > NEG_INF)  # -inf tokens have probability 0 already
            if live.size <= self.min_keep:
                continue
            values = row[live]
            weights = np.exp(values - values.max())
            probs = weights / weights.sum(dtype=np.float32)
            head = self._head(values, probs)
            order = head[np.argsort(values[head], kind="stable")]
            cumulative = np.cumsum(probs[order], dtype=np.float32)
            if head.size < live.size:  # the tokens below the head come first in the running sum
                cumulative += probs.sum(dtype=np.float32) - probs[head].sum(dtype=np.float32)
            remove = cumulative <= np.float32(1.0 - self.top_p)
            remove[head.size - self.min_keep :] = False
            cut = np.ones(live.size, dtype=bool)
            cut[order[~remove]] = False
            row[live[cut]] = NEG_INF
        return scores

    def _head(self, values: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """Indices of a top set that surely holds every token top-p keeps (all, for small rows)."""
        for m in (256, 2048, 8192):
            if m * 4 > values.size or m < self.min_keep:
                break
            head = np.flatnonzero(values >= kth_largest(values, m))
            # Margin: a head mass this close to top_p is left to the exact full computation.
            if probs[head].sum(dtype=np.float32) > self.top_p + 1e-4:
                return head
        return np.arange(values.size)


class LogSoftmax:
    """transformers' LogitNormalization (`renormalize_logits`)."""

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        return log_softmax(scores)


def kth_largest(row: np.ndarray, k: int) -> np.floating:
    """The k-th largest value of a 1-D array, without partitioning all of a long one."""
    n = row.size
    sample = row[:: max(1, n // 1024)]
    if sample.size > 4 * k:
        # The k-th largest of a subset bounds the k-th largest of the whole from below.
        bound = np.partition(sample, sample.size - k)[sample.size - k]
        if bound > NEG_INF:
            head = row[row >= bound]
            return np.partition(head, head.size - k)[head.size - k]
    return np.partition(row, n - k)[n - k]


def log_softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float32, computed like torch's (x - max - log(sum(exp)))."""
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def build_processors(
    settings: GenerationSettings, prefix_length: int, max_length: int
) -> list[LogitsProcessor]:
    """The processors `GenerationMixin._get_logits_processor` would build, in its order."""
    s = settings
    eos = list(s.eos_token_id)
    out: list[LogitsProcessor] = []
    if s.repetition_penalty != 1.0:
        out.append(RepetitionPenalty(s.repetition_penalty))
    if s.no_repeat_ngram_size > 0:
        out.append(NoRepeatNGram(s.no_repeat_ngram_size))
    if s.bad_words_ids:
        out.append(NoBadWords(s.bad_words_ids, eos))
    min_length = s.total_min_length(prefix_length)
    if eos and min_length > 0:
        out.append(MinLength(min_length, eos))
    if s.forced_bos_token_id is not None:
        out.append(ForcedTokens(1, [s.forced_bos_token_id]))
    if s.forced_eos_token_id is not None:
        out.append(ForcedTokens(max_length - 1, list(s.forced_eos_token_id)))
    if s.suppress_tokens is not None:
        out.append(SuppressTokens(s.suppress_tokens))
    if s.begin_suppress_tokens is not None:
        begin = prefix_length if (prefix_length > 1 or s.forced_bos_token_id is None) else prefix_length + 1
        out.append(SuppressTokens(s.begin_suppress_tokens, at_length=begin))
    if s.do_sample:
        # Beam sampling keeps one more than the EOS ids, so a non-EOS continuation survives.
        keep = (len(eos) + 1 if eos else 2) if s.num_beams > 1 else 1
        if s.temperature != 1.0:
            out.append(Temperature(s.temperature))
        if s.top_k != 0:
            out.append(TopK(s.top_k, keep))
        if s.top_p < 1.0:
            out.append(TopP(s.top_p, keep))
    if s.renormalize_logits:
        out.append(LogSoftmax())
    return out


def apply(processors: Sequence[LogitsProcessor], input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
    for processor in processors:
        scores = processor(input_ids, scores)
    return scores
