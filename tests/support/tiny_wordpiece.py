"""A tiny lower-case BERT WordPiece tokenizer shaped like BLIP's, trained in the test run."""
from __future__ import annotations

import json
from pathlib import Path

from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers
from tokenizers import processors

from tests.support.tiny_tokenizers import CORPUS

BERT_CORPUS = [
    *CORPUS,
    "a picture of two cats sleeping on a couch",
    "a photography of a woman's hat, isn't it? yes! the café is open.",
    "there are 3 dogs and 12 birds in the park; don't they look happy?",
]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _vocab(size: int) -> dict[str, int]:
    """A fixed vocabulary (no training: the trainer breaks ties differently from run to run,
    which changed the tiny models built from it): specials, every character alone and as a
    continuation, then the corpus's words by frequency and spelling, up to `size` entries."""
    from collections import Counter

    normalizer = normalizers.BertNormalizer(lowercase=True)
    split = pre_tokenizers.BertPreTokenizer()
    words: Counter[str] = Counter()
    for line in BERT_CORPUS:
        words.update(w for w, _ in split.pre_tokenize_str(normalizer.normalize_str(line)))
    chars = sorted({c for w in words for c in w})
    tokens = [*SPECIALS, *chars, *(f"##{c}" for c in chars)]
    tokens += [w for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0])) if w not in tokens]
    return {t: i for i, t in enumerate(tokens[:max(size, len(SPECIALS) + 2 * len(chars))])}


def build_bert_tokenizer(out: Path, bos_in_files: bool = False, vocab_size: int = 300) -> int:
    """Write a BLIP-like tokenizer folder; returns the id of "[DEC]" (BLIP's bos).

    As in BLIP, "[DEC]" is an added special token after the WordPiece vocabulary, and the
    end of a caption is "[SEP]". config.json names "[DEC]" by id (text_config.bos_token_id)
    and gives a misleading eos_token_id, as BLIP's does; with bos_in_files the tokenizer
    files also name it as bos_token.
    """
    tok = Tokenizer(models.WordPiece(_vocab(vocab_size), unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    tok.add_special_tokens([AddedToken("[DEC]", normalized=False)])
    dec_id = tok.token_to_id("[DEC]")
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    names = {
        "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]",
        "mask_token": "[MASK]", **({"bos_token": "[DEC]"} if bos_in_files else {}),
    }
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": 512,
        "clean_up_tokenization_spaces": True, "processor_class": "BlipProcessor", **names,
    }, indent=2))
    (out / "special_tokens_map.json").write_text(json.dumps(names, indent=2))
    (out / "config.json").write_text(json.dumps({
        "model_type": "blip",
        "text_config": {"bos_token_id": dec_id, "sep_token_id": sep_id, "pad_token_id": 0,
                        "eos_token_id": cls_id, "vocab_size": dec_id + 1},
    }, indent=2))
    return dec_id
