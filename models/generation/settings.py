"""Decoding settings read from a model folder, with transformers' defaults and precedence.

transformers uses `generation_config.json` when the folder has one and otherwise builds the
settings from `config.json` (its top level first, then its decoder/text section). Keys left
unset take `GenerationConfig`'s global defaults; keys we do not implement are ignored.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union

EarlyStopping = Union[bool, str]

# Sections of config.json that may hold the decoder's generation keys (transformers' order).
_DECODER_SECTIONS = ("decoder", "generator", "text_config")
# transformers' default of 20 new tokens when neither max_length nor max_new_tokens is set.
DEFAULT_NEW_TOKENS = 20


_INT_FIELDS = (
    "max_length", "max_new_tokens", "min_length", "min_new_tokens", "num_beams", "num_return_sequences",
    "top_k", "no_repeat_ngram_size", "forced_bos_token_id", "bos_token_id", "pad_token_id",
    "decoder_start_token_id", "max_position_embeddings",
)


def _ids(value: Any) -> tuple[int, ...] | None:
    """An id or a list of ids from JSON as a tuple; None stays None."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return tuple(int(v) for v in value)
    return (int(value),)


@dataclass(frozen=True)
class GenerationSettings:
    """Everything the decoding loop needs; field names and meanings are transformers'.

    `max_length` / `min_length` count the decoder prefix too, `max_new_tokens` /
    `min_new_tokens` do not (and win when set). Build one with `from_config`
    and change it with `replace`; None overrides keep the folder's value.
    """

    max_length: int | None = None
    max_new_tokens: int | None = None
    min_length: int = 0
    min_new_tokens: int | None = None
    num_beams: int = 1
    num_return_sequences: int = 1
    do_sample: bool = False
    temperature: float = 1.0
    top_k: int = 50
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    length_penalty: float = 1.0
    early_stopping: EarlyStopping = False
    bad_words_ids: tuple[tuple[int, ...], ...] | None = None
    suppress_tokens: tuple[int, ...] | None = None
    begin_suppress_tokens: tuple[int, ...] | None = None
    renormalize_logits: bool = False
    forced_bos_token_id: int | None = None
    forced_eos_token_id: tuple[int, ...] | None = None
    bos_token_id: int | None = None
    eos_token_id: tuple[int, ...] = ()
    pad_token_id: int | None = None
    decoder_start_token_id: int | None = None
    # From config.json: caps the default max_length, as transformers does.
    max_position_embeddings: int | None = None

    def __post_init__(self) -> None:
        def fix(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        # Accept the JSON shapes (int or list, 0/1 for booleans) and normalise them once.
        for name in _INT_FIELDS:
            if getattr(self, name) is not None:
                fix(name, int(getattr(self, name)))
        fix("do_sample", bool(self.do_sample))
        fix("renormalize_logits", bool(self.renormalize_logits))
        fix("eos_token_id", _ids(self.eos_token_id) or ())
        fix("forced_eos_token_id", _ids(self.forced_eos_token_id))
        fix("suppress_tokens", _ids(self.suppress_tokens))
        fix("begin_suppress_tokens", _ids(self.begin_suppress_tokens))
        if self.bad_words_ids is not None:
            fix("bad_words_ids", tuple(tuple(int(t) for t in w) for w in self.bad_words_ids))
        if self.early_stopping in (0, 1):  # JSON 0/1 mean false/true; the loop tests `is True`
            fix("early_stopping", bool(self.early_stopping))
        for name in ("temperature", "top_p", "repetition_penalty", "length_penalty"):
            fix(name, float(getattr(self, name)))
        self._validate()

    def _validate(self) -> None:
        if self.num_beams < 1:
            raise ValueError(f"num_beams must be at least 1, not {self.num_beams}")
        if self.num_return_sequences < 1:
            raise ValueError("num_return_sequences must be at least 1")
        if self.num_beams == 1 and not self.do_sample and self.num_return_sequences > 1:
            raise ValueError("greedy decoding returns one sequence: use beams or sampling for more")
        if self.num_beams > 1 and self.num_return_sequences > self.num_beams:
            raise ValueError("num_return_sequences cannot exceed num_beams in beam search")
        if self.max_new_tokens is not None and self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, not {self.max_new_tokens}")
        if self.early_stopping not in (True, False, "never"):
            raise ValueError(f"early_stopping must be true, false or 'never', not {self.early_stopping!r}")
        if self.do_sample and not self.temperature > 0.0:
            raise ValueError(f"temperature must be positive, not {self.temperature}")
        if not 0.0 <= self.top_p <= 1.0:
            raise ValueError(f"top_p must be within [0, 1], not {self.top_p}")
        if self.top_k < 0:
            raise ValueError(f"top_k cannot be negative, not {self.top_k}")
        if not self.repetition_penalty > 0.0:
            raise ValueError("repetition_penalty must be positive")
        if self.no_repeat_ngram_size < 0 or self.min_length < 0:
            raise ValueError("no_repeat_ngram_size and min_length cannot be negative")

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_config(
        cls,
        generation_config: Mapping[str, Any] | None = None,
        model_config: Mapping[str, Any] | None = None,
        **overrides: Any,
    ) -> GenerationSettings:
        """From the two JSON dicts; unknown keys are ignored, None overrides are skipped."""
        model_config = dict(model_config or {})
        if generation_config is not None:
            source = dict(generation_config)
        else:
            source = _from_model_config(model_config)
        names = {f.name for f in dataclasses.fields(cls)} - {"max_position_embeddings"}
        values = {k: v for k, v in source.items() if k in names and v is not None}
        values["max_position_embeddings"] = model_config.get("max_position_embeddings")
        return cls(**values).replace(**overrides)

    def replace(self, **overrides: Any) -> GenerationSettings:
        """A copy with the given fields changed; None values keep the current ones."""
        changes = {k: v for k, v in overrides.items() if v is not None}
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise TypeError(f"unknown generation setting(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes) if changes else self

    # -- values resolved against a prefix -----------------------------------------------

    @property
    def start_token_id(self) -> int | None:
        """The decoder's first token: decoder_start_token_id, else bos_token_id."""
        return self.decoder_start_token_id if self.decoder_start_token_id is not None else self.bos_token_id

    @property
    def pad_id(self) -> int | None:
        """pad_token_id, else the first EOS id (what finished rows are filled with)."""
        if self.pad_token_id is None and self.eos_token_id:
            return self.eos_token_id[0]
        return self.pad_token_id

    @property
    def is_beam_search(self) -> bool:
        return self.num_beams > 1

    @property
    def rows(self) -> int:
        """How many decoder rows `generate` asks for."""
        return max(self.num_beams, self.num_return_sequences)

    def total_max_length(self, prefix_length: int) -> int:
        """Longest sequence, prefix included (transformers' `_prepare_generated_length`)."""
        if self.max_new_tokens is not None:
            return self.max_new_tokens + prefix_length
        if self.max_length is not None:
            return self.max_length
        total = DEFAULT_NEW_TOKENS + prefix_length
        if self.max_position_embeddings is not None:
            total = min(total, self.max_position_embeddings)
        return total

    def total_min_length(self, prefix_length: int) -> int:
        """Shortest sequence before EOS is allowed, prefix included."""
        if self.min_new_tokens is not None:
            return self.min_new_tokens + prefix_length
        return self.min_length


def _from_model_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """transformers' `GenerationConfig.from_model_config`: top level, then the decoder section."""
    values = {k: v for k, v in config.items() if v is not None}
    for section in _DECODER_SECTIONS:
        decoder = config.get(section)
        if isinstance(decoder, Mapping) and decoder:
            for key, value in decoder.items():
                if values.get(key) is None and value is not None:
                    values[key] = value
            break
    return values
