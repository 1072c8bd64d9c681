"""A tiny random SmolVLM checkpoint, saved the way a user's transformers 5 saves one.

The real architecture (SigLIP vision + pixel shuffle + Llama decoder) at toy sizes, with a
byte-level BPE tokenizer carrying SmolVLM's special tokens, an image processor that splits a
picture into 2 x 2 tiles of 64 px plus the global image, and the published chat template.
"""
from __future__ import annotations

from pathlib import Path

from export.smolvlm_checkpoint import CHAT_TEMPLATE, load_processor, smolvlm_processor, smolvlm_tokenizer

__all__ = ["build_tiny_smolvlm", "load_processor"]

IMAGE_SIZE = 64  # one tile (the vision encoder's input), 8 x 8 patches of 8 px
LONGEST_EDGE = 128  # pictures are resized to this longest edge, then cut into 64-px tiles
SCALE_FACTOR = 2  # pixel shuffle: 64 patches -> 16 image tokens per tile
IMAGE_SEQ_LEN = (IMAGE_SIZE // 8) ** 2 // SCALE_FACTOR**2
# Wide random weights: at transformers' default (0.02) every question gets the same answer,
# so a parity test could not fail.
INIT_STD = 0.25


def build_tiny_smolvlm(out: Path, seed: int = 0) -> Path:
    """Model, processor (tokenizer, image processor, chat template) and generation config,
    each saved with transformers' save_pretrained."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, SmolVLMConfig, SmolVLMForConditionalGeneration
    from transformers import SmolVLMImageProcessorPil
    from transformers.models.smolvlm.configuration_smolvlm import SmolVLMVisionConfig

    torch.manual_seed(seed)
    tokenizer = smolvlm_tokenizer(320)
    image_processor = SmolVLMImageProcessorPil(
        size={"longest_edge": LONGEST_EDGE}, max_image_size={"longest_edge": IMAGE_SIZE},
        image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5], do_image_splitting=True,
    )
    processor = smolvlm_processor(tokenizer, image_processor, CHAT_TEMPLATE, IMAGE_SEQ_LEN)
    text = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
        rms_norm_eps=1e-5, tie_word_embeddings=False, initializer_range=INIT_STD,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    vision = SmolVLMVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        image_size=IMAGE_SIZE, patch_size=8, initializer_range=INIT_STD,
    )
    config = SmolVLMConfig(
        text_config=text.to_dict(), vision_config=vision.to_dict(), scale_factor=SCALE_FACTOR,
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"), initializer_range=INIT_STD,
        tie_word_embeddings=False,
    )
    model = SmolVLMForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out
