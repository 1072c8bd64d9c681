"""Quality proxies of a quantized variant against fp32: how close, not how fast.

- encoder cosine: the text encoder's output (image features and prompt) against fp32's;
- logit cosine and top-1 agreement: the decoder fed fp32's tokens (teacher forcing), each
  step's logits against fp32's, averaged over steps (and the worst step);
- token agreement: the share of positions where the free-running beam search picked the
  same token as the reference (fp32 engine, or transformers).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np


@dataclass(frozen=True)
class Quality:
    encoder_cosine: float | None
    logit_cosine_mean: float
    logit_cosine_min: float
    top1_agreement: float


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / denom) if denom else 0.0


def token_agreement(tokens: Sequence[int], reference: Sequence[int]) -> float:
    """Positions with the same token, over the longer of the two sequences."""
    n = max(len(tokens), len(reference))
    if n == 0:
        return 1.0
    return sum(1 for a, b in zip(tokens, reference) if a == b) / n


def forced_logits(prepared: Any, tokens: Sequence[int]) -> np.ndarray:
    """(steps, vocab) logits of one row fed `tokens` (prefix then generated), step by step."""
    decoder = prepared.decoder
    p = len(prepared.prefix)
    decoder.start(1)
    rows = [decoder.step(np.asarray([tokens[:p]], dtype=np.int64))[0]]
    for token in tokens[p:-1]:
        rows.append(decoder.step(np.asarray([[token]], dtype=np.int64))[0])
    return np.stack(rows)


def compare(prepared: Any, reference: Any, tokens: Sequence[int]) -> Quality:
    """`prepared` (a variant) against `reference` (fp32) on the reference's tokens."""
    got, want = forced_logits(prepared, tokens), forced_logits(reference, tokens)
    per_step = [cosine(g, w) for g, w in zip(got, want)]
    hidden = getattr(prepared.decoder, "encoder_hidden", None)
    ref_hidden = getattr(reference.decoder, "encoder_hidden", None)
    enc = cosine(hidden, ref_hidden) if hidden is not None and ref_hidden is not None else None
    return Quality(enc, float(np.mean(per_step)), float(np.min(per_step)),
                   float(np.mean(got.argmax(axis=1) == want.argmax(axis=1))))
