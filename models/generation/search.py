"""`generate`: pick greedy, sampling or beam search the way transformers' `generate` does."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from models.generation.beam import beam_search
from models.generation.decoder import Decoder, GenerationOutput
from models.generation.processors import build_processors
from models.generation.sampling import sample_search
from models.generation.settings import GenerationSettings


def generate(
    decoder: Decoder,
    prefix: Sequence[int],
    settings: GenerationSettings,
    *,
    on_step: Callable[[list[int]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    seed: int | None = None,
    on_settled: Callable[[list[int]], None] | None = None,
) -> GenerationOutput:
    """Decode from `prefix` (usually `[settings.start_token_id]`) until EOS or the length limit.

    Token for token what transformers' `model.generate` returns for the same logits: greedy
    when `num_beams == 1` and not `do_sample`, sampling with `do_sample`, beam search (or beam
    sampling) when `num_beams > 1`. The decoder is started with `settings.rows` rows.

    `on_step` receives the current best sequence (prefix included) after every step;
    `on_settled` the tokens (prefix included) that the answer will start with whatever comes
    next, whenever they grow (speech can start on a finished sentence while decoding goes on);
    `should_stop` is polled before every step and a True raises `CancelledError`. Sampling
    draws from `numpy.random.default_rng(seed)`, so one seed gives one result.
    """
    prefix = [int(t) for t in prefix]
    if not prefix:
        raise ValueError("the decoder prefix is empty: pass at least the decoder start token")
    max_length = settings.total_max_length(len(prefix))
    if len(prefix) >= max_length:
        raise ValueError(
            f"the prefix has {len(prefix)} tokens but max_length is {max_length}: "
            "set max_new_tokens instead"
        )
    processors = build_processors(settings, len(prefix), max_length)
    rng = np.random.default_rng(seed)
    search = beam_search if settings.is_beam_search else sample_search
    return search(
        decoder, prefix, settings, max_length, processors,
        rng=rng, on_step=on_step, should_stop=should_stop, on_settled=on_settled,
    )
