"""Token ids and lengths for export and validation inputs that any checkpoint can take.

A model trained from scratch on one domain may have a vocabulary of a few dozen words and a
short position table, so no example input may assume more than the model's own sizes.
"""
from __future__ import annotations

from typing import Any

import torch

# Ids below this are usually specials ([PAD], [UNK], <s>, ...): random words start past them
# when the vocabulary has room, and stay below WORDS_END so the draws (and the validation
# inputs of the published checkpoints) are the same as before.
FIRST_WORD = 4
WORDS_END = 60


def vocab_size(embeddings: Any) -> int:
    """Rows of an input embedding table (`model.get_input_embeddings()`): the ids it can take."""
    return int(embeddings.num_embeddings)


def word_ids(vocab: int, shape: tuple[int, ...], generator: torch.Generator | None = None,
             end: int = WORDS_END) -> torch.Tensor:
    """Random ids every one of which the vocabulary holds."""
    high = max(1, min(end, vocab))
    return torch.randint(min(FIRST_WORD, high - 1), high, shape, generator=generator)


def fixed_ids(ids: list[int], vocab: int) -> torch.Tensor:
    """A hand-picked prompt, its ids folded into the vocabulary (one row)."""
    return torch.tensor([[i % vocab for i in ids]])


def positions(config: Any) -> int | None:
    """The decoder's learned position table length, when it has one."""
    value = getattr(config, "max_position_embeddings", None)
    return int(value) if value else None


def fit_length(wanted: int, limit: int | None, reserved: int = 0) -> int:
    """`wanted` tokens, fewer when the position table (less `reserved` later steps) is shorter."""
    if limit is None:
        return wanted
    return max(1, min(wanted, limit - reserved))
