"""Tiny random Florence-2 and BLIP checkpoints, built locally (never from a hub).

They have the real architectures at toy sizes, so our exporter and engine can be compared
token for token with transformers' own `generate` on the same weights. Every file is written
by transformers' own `save_pretrained` (model, generation config, processor with its tokenizer),
as a user's fine-tuned checkpoint is: transformers 5 saves the image processor nested in
processor_config.json and no preprocessor_config.json or special_tokens_map.json.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from tests.support.tiny_tokenizers import build_bart_tokenizer

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

    from transformers import AutoTokenizer, CLIPImageProcessor, Florence2Processor, GenerationConfig

    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory(prefix="tiny-bart-") as raw:
        vocab = build_bart_tokenizer(Path(raw))
        # Florence-2's processor needs the tokenizer to name its image token; it is the one id
        # past the trained vocabulary, as in the published checkpoints.
        tokenizer = AutoTokenizer.from_pretrained(raw, extra_special_tokens={"image_token": "<image>"})
    assert tokenizer.convert_tokens_to_ids("<image>") == vocab
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
    model.generation_config = GenerationConfig(**FLORENCE_GENERATION)
    model.save_pretrained(out)
    size = {"height": FLORENCE_IMAGE_SIZE, "width": FLORENCE_IMAGE_SIZE}
    image_processor = CLIPImageProcessor(
        do_resize=True, size=size, resample=3, do_center_crop=False, crop_size=size,
        do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
        image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225],
    )
    Florence2Processor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(out)
    return out


BLIP_IMAGE_SIZE = 64
# Settings of the outer model, which BlipForConditionalGeneration.generate never reads (its text
# decoder decodes greedily with its own settings): the exporter must not carry them over.
BLIP_IGNORED_GENERATION = {"num_beams": 3, "max_length": 20}


def build_tiny_blip(out: Path, seed: int = 0) -> Path:
    """A tiny random BlipForConditionalGeneration with a BLIP-shaped WordPiece tokenizer."""
    import torch
    from transformers import BlipConfig, BlipForConditionalGeneration, BlipTextConfig, BlipVisionConfig

    from transformers import AutoTokenizer, BlipImageProcessor, BlipProcessor, GenerationConfig

    from tests.support.tiny_wordpiece import build_bert_tokenizer

    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory(prefix="tiny-bert-") as raw:
        dec_id = build_bert_tokenizer(Path(raw))
        named = json.loads((Path(raw) / "config.json").read_text())["text_config"]
        tokenizer = AutoTokenizer.from_pretrained(raw)
    text = BlipTextConfig(
        vocab_size=dec_id + 1, hidden_size=32, encoder_hidden_size=32, intermediate_size=64,
        num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=64,
        bos_token_id=dec_id, sep_token_id=named["sep_token_id"], pad_token_id=named["pad_token_id"],
        eos_token_id=named["eos_token_id"],
    )
    vision = BlipVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        image_size=BLIP_IMAGE_SIZE, patch_size=16,
    )
    config = BlipConfig(text_config=text.to_dict(), vision_config=vision.to_dict())
    model = BlipForConditionalGeneration(config).eval()
    _scale_weights(model, 0.15, seed)
    with torch.no_grad():
        bias = model.text_decoder.cls.predictions.bias
        bias[named["sep_token_id"]] += 1.0  # captions end at varied lengths
        bias[named["eos_token_id"]] += 1.0  # and the config's misleading eos ([CLS]) turns up inside some
    model.generation_config = GenerationConfig(**BLIP_IGNORED_GENERATION)
    model.save_pretrained(out)
    image_processor = BlipImageProcessor(
        do_resize=True, size={"height": BLIP_IMAGE_SIZE, "width": BLIP_IMAGE_SIZE}, resample=3,
        do_rescale=True, rescale_factor=1 / 255, do_normalize=True, do_convert_rgb=True,
        image_mean=[0.48145466, 0.4578275, 0.40821073], image_std=[0.26862954, 0.26130258, 0.27577711],
    )
    BlipProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(out)
    return out
