"""Tiny random Florence-2 and BLIP checkpoints, built locally (never from a hub).

They have the real architectures at toy sizes, so our exporter and engine can be compared
token for token with transformers' own `generate` on the same weights.
"""
from __future__ import annotations

import json
from pathlib import Path

from tiny_tokenizers import build_bart_tokenizer

FLORENCE_IMAGE_SIZE = 96
FLORENCE_GENERATION = {
    "bos_token_id": 0, "decoder_start_token_id": 2, "early_stopping": True, "eos_token_id": 2,
    "forced_bos_token_id": 0, "forced_eos_token_id": 2, "no_repeat_ngram_size": 3,
    "num_beams": 3, "pad_token_id": 1,
}


def _scale_weights(model, std: float, seed: int) -> None:
    """Wider random weights than the default init, so tokens depend on the image."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=gen) * std)


def build_tiny_florence2(out: Path, seed: int = 0) -> Path:
    import torch
    from transformers import BartConfig, Florence2Config, Florence2ForConditionalGeneration
    from transformers import Florence2VisionConfig

    torch.manual_seed(seed)
    vocab = build_bart_tokenizer(out)
    text = BartConfig(
        vocab_size=vocab + 1, d_model=32, encoder_layers=2, decoder_layers=2,
        encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64,
        decoder_ffn_dim=64, max_position_embeddings=256, bos_token_id=0, pad_token_id=1,
        eos_token_id=2, decoder_start_token_id=2, forced_bos_token_id=0, forced_eos_token_id=2,
        scale_embedding=False,
    )
    vision = Florence2VisionConfig(
        depths=(1, 1, 1, 1), embed_dim=(16, 16, 32, 32), num_heads=(2, 2, 4, 4),
        num_groups=(2, 2, 4, 4), window_size=3, projection_dim=32, drop_path_rate=0.0,
    )
    config = Florence2Config(text_config=text, vision_config=vision, image_token_id=vocab)
    model = Florence2ForConditionalGeneration(config).eval()
    _scale_weights(model, 0.15, seed)
    model.save_pretrained(out)
    (out / "generation_config.json").write_text(json.dumps(FLORENCE_GENERATION, indent=2))
    (out / "preprocessor_config.json").write_text(json.dumps({
        "image_processor_type": "CLIPImageProcessor", "do_resize": True, "do_rescale": True,
        "do_normalize": True, "do_center_crop": False, "do_convert_rgb": None,
        "resample": 3, "rescale_factor": 1 / 255,
        "size": {"height": FLORENCE_IMAGE_SIZE, "width": FLORENCE_IMAGE_SIZE},
        "crop_size": {"height": FLORENCE_IMAGE_SIZE, "width": FLORENCE_IMAGE_SIZE},
        "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225],
        "image_seq_length": 10, "processor_class": "Florence2Processor",
    }, indent=2))
    return out
