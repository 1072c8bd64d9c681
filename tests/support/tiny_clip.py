"""A tiny random CLIPModel with a CLIP-shaped byte-level BPE tokenizer, built locally (no hub).

Saved the way transformers 5 saves a checkpoint plus its processor (`processor_config.json`
with the image processor nested), so the exporter reads what a user's folder holds.
"""
from __future__ import annotations

from pathlib import Path

CLIP_IMAGE_SIZE = 32
# A few whole words as BPE merges, so prompts are not all single characters.
WORDS = ("photo", "dog", "cat", "sofa", "red", "man", "beach", "of")


def _tokenizer():
    from tokenizers import pre_tokenizers
    from transformers import CLIPTokenizer

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {c: i for i, c in enumerate(alphabet)}
    for c in alphabet:
        vocab[c + "</w>"] = len(vocab)
    merges: list[tuple[str, str]] = []
    for word in WORDS:
        left = word[0]
        for i, c in enumerate(word[1:], start=1):
            right = c + ("</w>" if i == len(word) - 1 else "")
            merges.append((left, right))
            left = left + right
            vocab.setdefault(left, len(vocab))
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)


def build_tiny_clip(out: Path, seed: int = 0) -> Path:
    """A tiny random transformers CLIPModel (eos is not id 2: pooling at the first eos)."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    torch.manual_seed(seed)
    tokenizer = _tokenizer()
    text = dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=4, max_position_embeddings=77, projection_dim=16,
                bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id)
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                  image_size=CLIP_IMAGE_SIZE, patch_size=8, projection_dim=16)
    config = CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)
    model = CLIPModel(config).eval()
    with torch.no_grad():
        gen = torch.Generator().manual_seed(seed)
        for p in model.parameters():
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.2)
        model.logit_scale.fill_(3.1)  # a trained value, unlike config's logit_scale_init_value
    model.save_pretrained(out)
    images = CLIPImageProcessor(size={"shortest_edge": CLIP_IMAGE_SIZE},
                                crop_size={"height": CLIP_IMAGE_SIZE, "width": CLIP_IMAGE_SIZE})
    CLIPProcessor(image_processor=images, tokenizer=tokenizer).save_pretrained(out)
    return out
