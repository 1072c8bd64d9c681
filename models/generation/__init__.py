"""The model-independent decoding loop: greedy, sampling and beam search over a `Decoder`.

It reproduces transformers' `generate` token for token from the same logits, in numpy, so the
engine needs no torch. A model adapter implements `Decoder`; settings come from the model
folder's generation_config.json and config.json through `GenerationSettings.from_config`.
"""
from models.generation.decoder import Decoder, GenerationOutput
from models.generation.search import generate
from models.generation.settings import GenerationSettings

__all__ = ["Decoder", "GenerationOutput", "GenerationSettings", "generate"]
