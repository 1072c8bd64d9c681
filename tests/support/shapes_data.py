"""A synthetic captioning set (coloured shapes: count, size, colour, kind, place) and a tiny
random BLIP whose tokenizer knows its words; both built locally, deterministic by seed.

Also a script, for the figures in the README:
    python -m tests.support.shapes_data DATA_DIR [--count 600] [--blip BASE_DIR]
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from PIL import Image, ImageDraw

COLOURS = {"red": (215, 40, 40), "green": (40, 160, 60), "blue": (40, 80, 215), "yellow": (225, 200, 30)}
KINDS = ("circle", "square", "triangle")
SIZES = {"small": 3, "large": 7}  # radius in pixels on a 64-pixel picture
COUNTS = {1: "a", 2: "two", 3: "three"}
PLACES = ("top left", "top right", "bottom left", "bottom right")
IMAGE_SIZE = 64
PATCH = 8


def caption(count: int, size: str, colour: str, kind: str, place: str) -> str:
    return f"{COUNTS[count]} {size} {colour} {kind}{'s' if count > 1 else ''} in the {place}"


def _draw(draw: ImageDraw.ImageDraw, kind: str, x: int, y: int, r: int, fill) -> None:
    if kind == "circle":
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)
    elif kind == "square":
        draw.rectangle((x - r, y - r, x + r, y + r), fill=fill)
    else:
        draw.polygon([(x, y - r), (x - r, y + r), (x + r, y + r)], fill=fill)


def picture(rng: random.Random, count: int, size: str, colour: str, kind: str, place: str) -> Image.Image:
    image = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), (235, 235, 230))
    draw = ImageDraw.Draw(image)
    r, half = SIZES[size], IMAGE_SIZE // 2
    x0 = 0 if place.endswith("left") else half
    y0 = 0 if place.startswith("top") else half
    centres: list[tuple[int, int]] = []
    for _ in range(count):
        for _try in range(100):  # apart from the others where there is room
            c = (rng.randint(x0 + r + 1, x0 + half - r - 2), rng.randint(y0 + r + 1, y0 + half - r - 2))
            if all((c[0] - a) ** 2 + (c[1] - b) ** 2 > (2 * r + 2) ** 2 for a, b in centres):
                break
        centres.append(c)
        _draw(draw, kind, *c, r, COLOURS[colour])
    return image


def make_shapes_dataset(out: Path, count: int = 800, seed: int = 0) -> list[tuple[str, str]]:
    """`count` pictures + metadata.jsonl (imagefolder layout) in `out`; returns (file, text) pairs."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(count):
        spec = (rng.choice(list(COUNTS)), rng.choice(list(SIZES)), rng.choice(list(COLOURS)),
                rng.choice(KINDS), rng.choice(PLACES))
        name = f"{i:05d}.png"
        picture(rng, *spec).save(out / name)
        rows.append((name, caption(*spec)))
    (out / "metadata.jsonl").write_text(
        "".join(json.dumps({"file_name": f, "text": t}) + "\n" for f, t in rows))
    return rows


def shape_words() -> list[str]:
    words = {*COUNTS.values(), *SIZES, *COLOURS, *KINDS, *(k + "s" for k in KINDS), "in", "the"}
    words |= {w for p in PLACES for w in p.split()}
    return sorted(words)


def build_shapes_tokenizer(out: Path) -> int:
    """A BLIP-shaped lower-case WordPiece tokenizer whose vocabulary holds the shape words;
    returns the id of "[DEC]" (BLIP's bos). Layout as tests/support/tiny_wordpiece.py."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers import processors

    chars = sorted({c for w in shape_words() for c in w})
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *(f"##{c}" for c in chars)]
    tokens += [w for w in shape_words() if w not in tokens]
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(tokens)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    tok.add_special_tokens([AddedToken("[DEC]", normalized=False)])
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    names = {"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]",
             "mask_token": "[MASK]"}
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": 512,
        "clean_up_tokenization_spaces": True, "processor_class": "BlipProcessor", **names}, indent=2))
    (out / "special_tokens_map.json").write_text(json.dumps(names, indent=2))
    return tok.token_to_id("[DEC]")


def build_shapes_blip(out: Path, seed: int = 0, hidden: int = 64, layers: int = 2) -> Path:
    """A tiny BlipForConditionalGeneration with transformers' own random init (untrained),
    saved as a user's checkpoint is: model, processor and tokenizer by `save_pretrained`."""
    import tempfile

    import torch
    from transformers import (
        AutoTokenizer, BlipConfig, BlipForConditionalGeneration, BlipImageProcessor, BlipProcessor,
        BlipTextConfig, BlipVisionConfig,
    )

    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory(prefix="shapes-bert-") as raw:
        dec_id = build_shapes_tokenizer(Path(raw))
        tokenizer = AutoTokenizer.from_pretrained(raw)
    vocab = tokenizer.get_vocab()
    text = BlipTextConfig(
        vocab_size=dec_id + 1, hidden_size=hidden, encoder_hidden_size=hidden,
        intermediate_size=2 * hidden, num_hidden_layers=layers, num_attention_heads=4,
        max_position_embeddings=64, bos_token_id=dec_id, sep_token_id=vocab["[SEP]"],
        pad_token_id=vocab["[PAD]"], eos_token_id=vocab["[SEP]"])
    vision = BlipVisionConfig(  # its initializer_range defaults to 1e-10: give a real one
        hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
        num_attention_heads=4, image_size=IMAGE_SIZE, patch_size=PATCH, initializer_range=0.02)
    config = BlipConfig(text_config=text.to_dict(), vision_config=vision.to_dict())
    BlipForConditionalGeneration(config).eval().save_pretrained(out)
    image_processor = BlipImageProcessor(
        do_resize=True, size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}, resample=3,
        do_rescale=True, rescale_factor=1 / 255, do_normalize=True, do_convert_rgb=True,
        image_mean=[0.48145466, 0.4578275, 0.40821073], image_std=[0.26862954, 0.26130258, 0.27577711])
    BlipProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(out)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--count", type=int, default=800)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--blip", type=Path, help="also write a tiny random BLIP here")
    args = parser.parse_args()
    make_shapes_dataset(args.data, args.count, args.seed)
    if args.blip:
        build_shapes_blip(args.blip)
