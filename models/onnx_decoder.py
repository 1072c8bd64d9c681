"""A merged seq2seq decoder session (`use_cache_branch`) behind the generation loop's protocol.

Every name, count and shape is read from the session: layers from `past_key_values.{i}.*`,
heads and head size from the inputs' shapes, element types from the inputs' types.
"""
from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from typing import Callable

import numpy as np

from models.errors import ModelFolderError, ModelRuntimeError
from models.session import run

_PAST = re.compile(r"^past_key_values\.(\d+)\.(decoder|encoder)\.(key|value)$")
_NP_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int64)": np.int64,
             "tensor(int32)": np.int32, "tensor(bool)": np.bool_}


# Per decoder session: can every row attend to one row of cross-attention keys/values (MatMul
# broadcasting)? All rows hold the same image, so one row is the whole cache, and reading it
# once instead of once per beam is most of a step's attention cost. Exported graphs differ, so
# it is learned on the first batched cache step: both ways once, kept only if equal to the bit.
_CROSS_BROADCAST: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _cross_broadcast(session: object) -> bool | None:
    try:
        return _CROSS_BROADCAST.get(session)
    except TypeError:  # not weak-referenceable (a test double): never broadcast
        return False


def _learn_cross_broadcast(session: object, expected: dict[str, np.ndarray],
                           trial: Callable[[], dict[str, np.ndarray]]) -> None:
    try:
        ok = np.array_equal(trial()["logits"], expected["logits"])
    except (ModelRuntimeError, ValueError):
        ok = False
    _CROSS_BROADCAST[session] = ok


@dataclass(frozen=True)
class CacheLayout:
    layers: int
    heads: int
    head_dim: int
    dtype: type
    past_names: tuple[str, ...]  # every past_key_values.* input, in session order


def cache_layout(session: object, fallback_heads: int, fallback_head_dim: int) -> CacheLayout:
    inputs = session.get_inputs()  # type: ignore[attr-defined]
    past = [i for i in inputs if _PAST.match(i.name)]
    if not past:
        raise ModelFolderError("the decoder has no past_key_values inputs; it is not a merged decoder with cache")
    layers = 1 + max(int(_PAST.match(i.name).group(1)) for i in past)
    shape = past[0].shape
    heads = shape[1] if isinstance(shape[1], int) else fallback_heads
    head_dim = shape[3] if isinstance(shape[3], int) else fallback_head_dim
    return CacheLayout(layers, heads, head_dim, _NP_TYPES.get(past[0].type, np.float32),
                       tuple(i.name for i in past))


class MergedDecoder:
    """Implements models.generation.Decoder for one encoded image.

    `prepare(ids)` turns new token ids into the decoder's first input (ids or embeddings).
    All rows are copies of one image, so the cross-attention cache from the first step is
    shared by every row and never reordered; only the self-attention cache follows beams.
    """

    def __init__(self, session: object, layout: CacheLayout, encoder_hidden: np.ndarray,
                 encoder_mask: np.ndarray, prepare: Callable[[np.ndarray], dict[str, np.ndarray]]) -> None:
        self.session, self.layout, self.prepare = session, layout, prepare
        self.encoder_hidden, self.encoder_mask = encoder_hidden, encoder_mask
        self.input_types = {i.name: _NP_TYPES.get(i.type, np.float32) for i in session.get_inputs()}  # type: ignore[attr-defined]
        self.output_names = [o.name for o in session.get_outputs()]  # type: ignore[attr-defined]
        self.rows = 0
        self.self_cache: dict[str, np.ndarray] = {}
        self.cross_cache: dict[str, np.ndarray] = {}
        self._expanded: dict[tuple[str, int], np.ndarray] = {}

    def start(self, rows: int) -> None:
        self.rows = rows
        self.self_cache, self.cross_cache, self._expanded = {}, {}, {}

    def _rows(self, name: str, one: np.ndarray, rows: int) -> np.ndarray:
        """`one` (a single row) repeated `rows` times, made once per batch size."""
        key = (name, rows)
        if key not in self._expanded:
            self._expanded[key] = self._cast(name, np.ascontiguousarray(np.repeat(one[:1], rows, axis=0)))
        return self._expanded[key]

    def _cast(self, name: str, value: np.ndarray) -> np.ndarray:
        want = self.input_types.get(name)
        return value if want is None or value.dtype == want else value.astype(want)

    def step(self, input_ids: np.ndarray) -> np.ndarray:
        rows = input_ids.shape[0]
        first = not self.self_cache
        if first and rows > 1 and (input_ids == input_ids[:1]).all():
            # Beam search starts every row on the same prefix: run one row and copy it (the
            # first step computes the cross-attention keys/values, its costliest part).
            logits = self.step(input_ids[:1])
            self.self_cache = {k: np.repeat(v, rows, axis=0) for k, v in self.self_cache.items()}
            return np.repeat(logits, rows, axis=0)
        broadcast = False if first or rows == 1 else _cross_broadcast(self.session)
        outputs = self._run(self._feeds(input_ids, first, one_cross=bool(broadcast)))
        if broadcast is None:
            _learn_cross_broadcast(self.session, outputs,
                                   # a graph that cannot broadcast fails here (CUDA: a Concat
                                   # shape error): an answer, not a fault to print
                                   lambda: self._run(self._feeds(input_ids, first, one_cross=True), quiet=True))
        for name, value in outputs.items():
            if not name.startswith("present."):
                continue
            past = "past_key_values." + name[len("present."):]
            if ".encoder." in name:
                if first:  # computed once; the cache branch returns empty tensors here
                    self.cross_cache[past] = value[:1]
            else:
                self.self_cache[past] = value
        logits = outputs["logits"][:, -1, :]
        return logits.astype(np.float32, copy=False)

    def _feeds(self, input_ids: np.ndarray, first: bool, one_cross: bool) -> dict[str, np.ndarray]:
        rows = input_ids.shape[0]
        feeds = {k: self._cast(k, v) for k, v in self.prepare(input_ids.astype(np.int64)).items()}
        feeds["encoder_hidden_states"] = self._rows("encoder_hidden_states", self.encoder_hidden, rows)
        feeds["encoder_attention_mask"] = self._rows("encoder_attention_mask", self.encoder_mask, rows)
        lay = self.layout
        empty = np.zeros((rows, lay.heads, 0, lay.head_dim), lay.dtype)
        for name in lay.past_names:
            if first:
                feeds[name] = empty
            elif ".encoder." in name:
                one = self.cross_cache[name]
                feeds[name] = self._cast(name, one) if one_cross else self._rows(name, one, rows)
            else:
                feeds[name] = self.self_cache[name]
        feeds["use_cache_branch"] = np.array([not first])
        return feeds

    def _run(self, feeds: dict[str, np.ndarray], quiet: bool = False) -> dict[str, np.ndarray]:
        return dict(zip(self.output_names, run(self.session, feeds, quiet=quiet)))

    def reorder(self, rows: np.ndarray) -> None:
        if np.array_equal(rows, np.arange(len(rows))):
            return
        self.self_cache = {k: v[rows] for k, v in self.self_cache.items()}
