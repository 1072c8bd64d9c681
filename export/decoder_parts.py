"""A seq2seq decoder with an explicit key/value cache, in the tensor naming optimum and
transformers.js use: past_key_values.{i}.{decoder|encoder}.{key|value} -> present.{...}."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from export.token_inputs import word_ids

KV = ("key", "value")


def dims(name: str, max_: int = 4096) -> Any:
    return torch.export.Dim(name, min=1, max=max_)


def decoder_io_names(layers: int, with_past: bool, first_input: str = "inputs_embeds") -> tuple[list[str], list[str]]:
    inputs = [first_input, "encoder_hidden_states", "encoder_attention_mask"]
    outputs = ["logits"]
    for i in range(layers):
        if with_past:
            inputs += [f"past_key_values.{i}.{part}.{kv}" for part in ("decoder", "encoder") for kv in KV]
        outputs += [f"present.{i}.decoder.{kv}" for kv in KV]
        if not with_past:
            outputs += [f"present.{i}.encoder.{kv}" for kv in KV]
    return inputs, outputs


class DecoderWithCache(nn.Module):
    """Runs a transformers decoder on flat cache tensors.

    Without past it computes the cross-attention keys/values once and returns them; with past
    it reuses them and returns only the grown self-attention cache.
    """

    def __init__(self, decoder: nn.Module, lm_head: nn.Module, layers: int, with_past: bool,
                 takes_ids: bool = False) -> None:
        super().__init__()
        self.decoder, self.lm_head, self.layers, self.with_past = decoder, lm_head, layers, with_past
        self.takes_ids = takes_ids

    def forward(self, first: torch.Tensor, encoder_hidden_states: torch.Tensor,
                encoder_attention_mask: torch.Tensor, *past: torch.Tensor) -> tuple[torch.Tensor, ...]:
        from transformers.cache_utils import DynamicCache, EncoderDecoderCache

        if self.with_past:
            self_kv = [(past[4 * i], past[4 * i + 1]) for i in range(self.layers)]
            cross_kv = [(past[4 * i + 2], past[4 * i + 3]) for i in range(self.layers)]
            cache = EncoderDecoderCache(DynamicCache(self_kv), DynamicCache(cross_kv))
        else:
            cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
        kwargs = {"input_ids": first} if self.takes_ids else {"inputs_embeds": first}
        out = self.decoder(
            encoder_hidden_states=encoder_hidden_states,
            encoder_attention_mask=encoder_attention_mask,
            past_key_values=cache,
            use_cache=True,
            return_dict=True,
            **kwargs,
        )
        logits = self.lm_head(out.last_hidden_state)
        cache = out.past_key_values
        flat: list[torch.Tensor] = [logits]
        for i in range(self.layers):
            flat += [cache.self_attention_cache.layers[i].keys, cache.self_attention_cache.layers[i].values]
            if not self.with_past:
                flat += [cache.cross_attention_cache.layers[i].keys, cache.cross_attention_cache.layers[i].values]
        return tuple(flat)

    def example_inputs(self, batch: int, past: int, enc_seq: int, heads: int, head_dim: int,
                       hidden: int, vocab: int = 50) -> tuple[tuple[torch.Tensor, ...], tuple[Any, ...]]:
        """`vocab`: the ids the decoder embeds, when it takes ids."""
        b, s, e, p = dims("batch"), dims("sequence_length"), dims("encoder_sequence_length"), dims("past_sequence_length")
        first = (word_ids(vocab, (batch, 2), end=50) if self.takes_ids else torch.randn(batch, 2, hidden))
        args: list[torch.Tensor] = [first, torch.randn(batch, enc_seq, hidden),
                                    torch.ones(batch, enc_seq, dtype=torch.int64)]
        dynamic: list[Any] = [{0: b, 1: s}, {0: b, 1: e}, {0: b, 1: e}]
        past_dynamic: list[Any] = []
        if self.with_past:
            for _ in range(self.layers):
                args += [torch.randn(batch, heads, past, head_dim) for _ in range(2)]
                args += [torch.randn(batch, heads, enc_seq, head_dim) for _ in range(2)]
                past_dynamic += [{0: b, 2: p}] * 2 + [{0: b, 2: e}] * 2
        # torch.export wants the *past varargs as one nested entry.
        if self.with_past:
            dynamic.append(tuple(past_dynamic))
        return tuple(args), tuple(dynamic)


Case = tuple[str, dict[str, Any], dict[str, Any]]


def decoder_cases(first: nn.Module, second: nn.Module, layers: int, heads: int, head_dim: int,
                  first_input: str, step_in: torch.Tensor, next_in: torch.Tensor,
                  encoder_hidden: torch.Tensor, encoder_mask: torch.Tensor) -> dict[str, Case]:
    """Validation cases for a merged decoder: a first step through the no-cache branch, then a
    second step through the cache branch fed with the first step's cache (call under no_grad)."""
    import numpy as np

    _, out_names = decoder_io_names(layers, with_past=False, first_input=first_input)
    outs = dict(zip(out_names, first(step_in, encoder_hidden, encoder_mask)))
    feeds = {first_input: step_in.numpy(), "encoder_hidden_states": encoder_hidden.numpy(),
             "encoder_attention_mask": encoder_mask.numpy(), "use_cache_branch": np.array([False])}
    empty = np.zeros((step_in.shape[0], heads, 0, head_dim), np.float32)
    for i in range(layers):
        feeds.update({f"past_key_values.{i}.{part}.{kv}": empty for part in ("decoder", "encoder") for kv in KV})
    past = [outs[f"present.{i}.{p}.{kv}"] for i in range(layers) for p in ("decoder", "encoder") for kv in KV]
    _, past_names = decoder_io_names(layers, with_past=True, first_input=first_input)
    outs2 = dict(zip(past_names, second(next_in, encoder_hidden, encoder_mask, *past)))
    feeds2 = dict(feeds, **{first_input: next_in.numpy()}, use_cache_branch=np.array([True]))
    feeds2.update({f"past_key_values.{n[len('present.'):]}": v.numpy() for n, v in outs.items()
                   if n.startswith("present.")})
    return {
        "decoder_model_merged": ("decoder_model_merged", feeds, {k: v.numpy() for k, v in outs.items()}),
        "decoder_model_merged (cache branch)": ("decoder_model_merged", feeds2,
                                                {k: v.numpy() for k, v in outs2.items()}),
    }
