"""A BLIP captioner as a user trains one from scratch on one domain: a WordPiece tokenizer
trained on a few captions (a few dozen ids) and a short position table."""
from __future__ import annotations

from pathlib import Path

CAPTIONS = [
    "a red square on a white ground", "a blue circle on a black ground", "two green squares",
    "a yellow circle and a red square", "three small blue circles", "a large black square",
]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
POSITIONS = 24


def build_small_vocab_blip(out: Path, seed: int = 0) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import BertTokenizerFast, BlipConfig, BlipForConditionalGeneration, BlipImageProcessor
    from transformers import BlipProcessor, BlipTextConfig, BlipVisionConfig

    from tests.support.tiny_models import _scale_weights

    torch.manual_seed(seed)
    raw = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    raw.normalizer = normalizers.BertNormalizer(lowercase=True)
    raw.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    raw.decoder = decoders.WordPiece()
    raw.train_from_iterator(CAPTIONS, trainers.WordPieceTrainer(vocab_size=30, special_tokens=SPECIALS))
    tokenizer = BertTokenizerFast(tokenizer_object=raw, unk_token="[UNK]", sep_token="[SEP]",
                                  pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]")
    tokenizer.add_special_tokens({"bos_token": "[DEC]"})
    text = BlipTextConfig(
        vocab_size=len(tokenizer), hidden_size=32, encoder_hidden_size=32, intermediate_size=64,
        num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=POSITIONS,
        bos_token_id=tokenizer.bos_token_id, sep_token_id=tokenizer.sep_token_id,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.sep_token_id,
    )
    vision = BlipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                              num_attention_heads=4, image_size=64, patch_size=16)
    model = BlipForConditionalGeneration(BlipConfig(text_config=text.to_dict(), vision_config=vision.to_dict()))
    _scale_weights(model.eval(), 0.15, seed)
    model.save_pretrained(out)
    processor = BlipProcessor(image_processor=BlipImageProcessor(size={"height": 64, "width": 64}),
                              tokenizer=tokenizer)
    processor.save_pretrained(out)
    return out
