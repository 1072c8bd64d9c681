"""Tiny tokenizers trained in the test run (no hub): shaped like the real ones."""
from __future__ import annotations

import json
from pathlib import Path

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

CORPUS = [
    "What does the image describe?",
    "Describe in detail what is shown in the image.",
    "Describe with a paragraph what is shown in the image.",
    "What is the text in the image?",
    "Locate the objects with category name in the image.",
    "A dog sits on a red sofa next to a window with the sun shining in.",
    "Two people walk along a beach at sunset, a boat on the water behind them.",
    "A street sign reads STOP at the corner of a busy road with cars and a bus.",
    "a cat, a person, a car, a tree, a chair, a table, a cup, a book, a phone",
]
FLORENCE_TASK_TOKENS = [
    "<od>", "</od>", "<ocr>", "</ocr>", "<cap>", "</cap>", "<ncap>", "</ncap>",
    "<dcap>", "</dcap>", "<grounding>", "</grounding>", "<seg>", "</seg>", "<sep>",
]


def build_bart_tokenizer(out: Path, vocab_size: int = 400, locations: int = 1000) -> int:
    """A byte-level BPE like Florence-2's (ids 0-3 = <s> <pad> </s> <unk>); returns its size."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), add_prefix_space=False)
    extra = ["<mask>", *FLORENCE_TASK_TOKENS, *[f"<loc_{i}>" for i in range(locations)]]
    tok.add_special_tokens([AddedToken(t, normalized=False) for t in extra])
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "BartTokenizer", "bos_token": "<s>", "eos_token": "</s>",
        "pad_token": "<pad>", "unk_token": "<unk>", "mask_token": "<mask>",
        "model_max_length": 1024, "add_prefix_space": False,
    }, indent=2))
    (out / "special_tokens_map.json").write_text(json.dumps({
        "bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>",
    }, indent=2))
    return tok.get_vocab_size()
