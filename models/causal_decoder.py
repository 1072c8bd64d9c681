"""A decoder-only model's merged decoder (one graph, a key/value cache per layer) behind the
generation loop's `Decoder` protocol, as transformers.js runs onnx-community's
decoder_model_merged for Llama-style models: inputs_embeds, attention_mask, position_ids and
past_key_values.{i}.key/value in; logits and present.{i}.key/value out. The first step is fed
an empty past (length 0).

A conversation keeps its cache between questions: `KVState` is the cache after some tokens,
and a new prompt that starts with the same tokens feeds only the rest (a follow-up question
then costs its own tokens, not the picture's hundreds again).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from models.errors import ModelFolderError
from models.onnx_decoder import _NP_TYPES
from models.session import run

_PAST = re.compile(r"^past_key_values\.(\d+)\.(key|value)$")


@dataclass(frozen=True)
class KVLayout:
    kv_heads: int
    head_dim: int
    dtype: type
    past_names: tuple[str, ...]  # past_key_values.{i}.{key|value} in session order

    @classmethod
    def of(cls, session: object, kv_heads: int, head_dim: int) -> KVLayout:
        past = [i for i in session.get_inputs() if _PAST.match(i.name)]  # type: ignore[attr-defined]
        if not past:
            raise ModelFolderError("the decoder has no past_key_values inputs; it is not a decoder with a cache")
        shape = past[0].shape
        heads = shape[1] if isinstance(shape[1], int) else kv_heads
        dim = shape[3] if isinstance(shape[3], int) else head_dim
        return cls(heads, dim, _NP_TYPES.get(past[0].type, np.float32), tuple(i.name for i in past))


@dataclass
class KVState:
    """The cache after `ids` (one row): reusable by any prompt that starts with `ids`."""

    ids: list[int]
    cache: dict[str, np.ndarray]

    @property
    def nbytes(self) -> int:
        return sum(v.nbytes for v in self.cache.values())

    def common_prefix(self, ids: list[int]) -> int:
        n = min(len(self.ids), len(ids))
        a, b = np.asarray(self.ids[:n]), np.asarray(ids[:n])
        differ = np.flatnonzero(a != b)
        return int(differ[0]) if differ.size else n


class CausalDecoder:
    """Implements models.generation.Decoder for one prompt.

    `embed(ids)` turns token ids (1, n) into embeddings; `first_embeds(ids)` does the same for
    the prompt's new part on the first step, where the picture's features replace the image
    tokens. `reuse` is a cache from an earlier turn; the prompt's first tokens matching it are
    not run again. After decoding, `state()` is the cache of the best row.
    """

    def __init__(self, session: object, layout: KVLayout, embed: Callable[[np.ndarray], np.ndarray],
                 first_embeds: Callable[[np.ndarray, int], np.ndarray], reuse: KVState | None = None) -> None:
        self.session, self.layout, self.embed, self.first_embeds = session, layout, embed, first_embeds
        self.reuse = reuse
        self.output_names = [o.name for o in session.get_outputs()]  # type: ignore[attr-defined]
        self.rows = 0
        self.cache: dict[str, np.ndarray] = {}
        self.length = 0  # tokens in the cache
        self.reused = 0

    def start(self, rows: int) -> None:
        self.rows, self.cache, self.length, self.reused = rows, {}, 0, 0

    def step(self, input_ids: np.ndarray) -> np.ndarray:
        rows = input_ids.shape[0]
        if not self.cache and rows > 1 and (input_ids == input_ids[:1]).all():
            # Every row starts on the same prompt: run it once and copy the cache.
            logits = self.step(input_ids[:1])
            self.cache = {k: np.repeat(v, rows, axis=0) for k, v in self.cache.items()}
            return np.repeat(logits, rows, axis=0)
        start = 0
        if not self.cache:
            self.cache = self._past(rows)
            if self.reuse is not None:
                # Keep at least one token to run: its logits are the next token's.
                start = min(self.reuse.common_prefix(input_ids[0].tolist()), input_ids.shape[1] - 1)
                self.cache = {k: np.repeat(v[:, :, :start], rows, axis=0) for k, v in self.reuse.cache.items()}
                self.reused = self.length = start
            embeds = self.first_embeds(input_ids[:, start:], start)
        else:
            embeds = self.embed(input_ids)
        new = input_ids.shape[1] - start
        feeds = {
            "inputs_embeds": embeds,
            "attention_mask": np.ones((rows, self.length + new), dtype=np.int64),
            "position_ids": np.tile(np.arange(self.length, self.length + new, dtype=np.int64), (rows, 1)),
            **self.cache,
        }
        outputs = dict(zip(self.output_names, run(self.session, feeds)))
        self.cache = {"past_key_values." + k[len("present."):]: v for k, v in outputs.items()
                      if k.startswith("present.")}
        self.length += new
        return outputs["logits"][:, -1, :].astype(np.float32, copy=False)

    def _past(self, rows: int) -> dict[str, np.ndarray]:
        lay = self.layout
        empty = np.zeros((rows, lay.kv_heads, 0, lay.head_dim), lay.dtype)
        return {name: empty for name in lay.past_names}

    def reorder(self, rows: np.ndarray) -> None:
        if not np.array_equal(rows, np.arange(len(rows))):
            self.cache = {k: v[rows] for k, v in self.cache.items()}

    def state(self, ids: list[int]) -> KVState:
        """Row 0's cache, for a conversation whose tokens so far are `ids` (the cache holds
        every token but the last one generated, which was never fed)."""
        held = ids[: self.length]
        return KVState(held, {k: np.ascontiguousarray(v[:1]) for k, v in self.cache.items()})
