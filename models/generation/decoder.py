"""What the decoding loop needs from a model, and what it gives back."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from models.errors import CancelledError


@runtime_checkable
class Decoder(Protocol):
    """One model's decoder with its self-attention cache, as the loop drives it.

    The encoder output (image and prompt) is fixed before `start`; the adapter keeps it.
    """

    def start(self, rows: int) -> None:
        """Begin a batch: `rows` copies of the encoded input, empty self-attention cache."""
        ...

    def step(self, input_ids: np.ndarray) -> np.ndarray:
        """Feed new tokens (rows, n) int64; return last-position logits (rows, vocab) float32."""
        ...

    def reorder(self, rows: np.ndarray) -> None:
        """Beam search: keep the cache rows in this order (int64 indices, may repeat)."""
        ...


@dataclass
class GenerationOutput:
    """The decoded sequences, best first.

    `sequences` hold the prefix and the generated tokens up to and including EOS (transformers'
    rows without the padding it adds to equalise lengths). `scores` are the beam scores
    (length-normalised sum of processed log-probabilities) in beam search, and the sum of the
    model's raw log-probabilities otherwise. `token_probs[i][j]` is the probability of the j-th
    generated token of sequence i under the model's own softmax (temperature 1, before any
    logits processor), the figure behind `confidence`.
    """

    sequences: list[list[int]]
    scores: list[float]
    token_probs: list[list[float]]
    prefix_length: int
    steps: int = 0

    @property
    def generated(self) -> list[list[int]]:
        """Each sequence without its prefix."""
        return [seq[self.prefix_length :] for seq in self.sequences]

    @property
    def confidence(self) -> float:
        """Mean token probability of the best sequence (0 when it has no new token)."""
        probs = self.token_probs[0] if self.token_probs else []
        return float(np.mean(probs)) if probs else 0.0


StepCallback = Callable[[list[int]], None]


def common_prefix_length(reference: np.ndarray, others: list[np.ndarray]) -> int:
    """How many leading tokens every one of `others` shares with `reference`."""
    n = len(reference)
    for seq in others:
        m = min(n, len(seq))
        diff = np.flatnonzero(seq[:m] != reference[:m])
        n = int(diff[0]) if diff.size else m
        if n == 0:
            break
    return n
StopCheck = Callable[[], bool]


def check_cancelled(should_stop: StopCheck | None) -> None:
    """Raise CancelledError when the caller's `should_stop` says so (polled between steps)."""
    if should_stop is not None and should_stop():
        raise CancelledError("Describing was cancelled before it finished; start it again to get a result.")


def run_step(decoder: Decoder, input_ids: np.ndarray) -> np.ndarray:
    """One decoder step, its logits checked against the protocol: (rows, vocab) float32."""
    logits = np.asarray(decoder.step(np.ascontiguousarray(input_ids, dtype=np.int64)), dtype=np.float32)
    if logits.ndim != 2 or logits.shape[0] != input_ids.shape[0]:
        raise ValueError(
            f"{type(decoder).__name__}.step returned logits of shape {logits.shape}; "
            f"expected ({input_ids.shape[0]}, vocab)"
        )
    return logits
