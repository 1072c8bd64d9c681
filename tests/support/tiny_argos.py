"""Tiny Argos Translate packages built in the test run (never downloaded).

Each package has everything a real one has, at toy size: a random MarianMT model converted to
CTranslate2 by ctranslate2's own converter, a SentencePiece model trained on a few sentences,
and a MiniSBD sentence-splitter model (a real ONNX model in MiniSBD's format whose table
marks ". ! ?" as sentence ends), zipped as `.argosmodel` with its metadata.json.
"""
from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

CORPUS = [
    "A dog sits on a red sofa next to a window.",
    "Two people walk along a beach at sunset.",
    "A cat sleeps on a wooden table in the kitchen.",
    "The quick brown fox jumps over the lazy dog.",
    "A man rides a bicycle down a busy street.",
    "Un chien est assis sur un canape rouge.",
    "Deux personnes marchent sur une plage.",
    "Ein Hund sitzt auf einem roten Sofa.",
]

# (from, from name, to, to name, seed)
PACKAGES = [
    ("en", "English", "de", "German", 1),
    ("fr", "French", "en", "English", 2),
    ("en", "English", "fr", "French", 3),  # with fr-en: both ways, as `lumen ask --lang fr` needs
]


def argosmodel_name(from_code: str, to_code: str) -> str:
    return f"translate-{from_code}_{to_code}-1_0.argosmodel"


def _train_sentencepiece(out: Path) -> dict[str, int]:
    """SentencePiece model plus the Marian-style vocabulary built from its pieces."""
    import sentencepiece as spm

    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS), model_prefix=str(out / "sp"), vocab_size=80,
        model_type="unigram", character_coverage=1.0, hard_vocab_limit=False,
        bos_id=-1, eos_id=-1, unk_id=0, pad_id=-1, minloglevel=2,
    )
    sp = spm.SentencePieceProcessor(model_file=str(out / "sp.model"))
    vocab = {"</s>": 0, "<unk>": 1}
    for i in range(sp.get_piece_size()):
        vocab.setdefault(sp.id_to_piece(i), len(vocab))
    vocab["<pad>"] = len(vocab)
    return vocab


def _marian_to_ctranslate2(work: Path, vocab: dict[str, int], seed: int, out: Path) -> None:
    import torch
    from ctranslate2.converters import TransformersConverter
    from transformers import MarianConfig, MarianMTModel

    hf = work / f"marian-{seed}"
    hf.mkdir()
    for name in ("source.spm", "target.spm"):
        shutil.copyfile(work / "sp.model", hf / name)
    (hf / "vocab.json").write_text(json.dumps(vocab))
    (hf / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "MarianTokenizer",
                                                         "model_max_length": 512}))
    torch.manual_seed(seed)
    config = MarianConfig(
        vocab_size=len(vocab), d_model=16, encoder_layers=1, decoder_layers=1,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
        decoder_ffn_dim=32, max_position_embeddings=512, pad_token_id=vocab["<pad>"],
        eos_token_id=0, decoder_start_token_id=vocab["<pad>"], forced_eos_token_id=0,
    )
    model = MarianMTModel(config).eval()
    # Wider weights than the default init make the output depend on the input; the bias on
    # </s> keeps the random model from looping up to CTranslate2's 256-token limit.
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.6)
        model.final_logits_bias[0, vocab["</s>"]] = 9.0
    model.save_pretrained(hf)
    TransformersConverter(str(hf)).convert(str(out), force=True)


def build_minisbd_model(path: Path, lang: str) -> None:
    """A MiniSBD model: per-character logits looked up in a table (class 2 = sentence end)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    chars = sorted(set("".join(CORPUS)) | set(" .!?,;:'\"-()0123456789")
                   | set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    id2unit = ["<PAD>", "<UNK>", *chars]
    unit2id = {u: i for i, u in enumerate(id2unit)}
    table = np.zeros((len(id2unit), 5), np.float32)
    table[:, 0] = 1.0
    for c in ".!?":
        table[unit2id[c]] = [0.0, 0.0, 1.0, 0.0, 0.0]
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "units"], ["logits"], axis=0)], "minisbd",
        [helper.make_tensor_value_info("units", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", "seq", "feat"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "seq", 5])],
        [numpy_helper.from_array(table, "table")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    config = {"skip_newline": False, "max_seqlen": 1000, "no_ssplit": False, "batch_size": 1,
              "feat_funcs": ["space_before"], "use_dictionary": False, "num_dict_feat": 0}
    vocab = {"lang": lang, "idx": 0, "cutoff": 0, "lower": False,
             "_unit2id": unit2id, "_id2unit": id2unit}
    for key, value in {"lang_code": lang, "config": json.dumps(config),
                       "vocab": json.dumps(vocab), "lexicon": "null"}.items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def build_tiny_argos(out: Path) -> Path:
    """Write one .argosmodel per entry of PACKAGES into `out`."""
    work = out / "work"
    work.mkdir()
    vocab = _train_sentencepiece(work)
    for from_code, from_name, to_code, to_name, seed in PACKAGES:
        top = f"translate-{from_code}_{to_code}-1_0"
        pkg = work / top
        pkg.mkdir()
        _marian_to_ctranslate2(work, vocab, seed, pkg / "model")
        shutil.copyfile(work / "sp.model", pkg / "sentencepiece.model")
        (pkg / "minisbd").mkdir()
        build_minisbd_model(pkg / "minisbd" / f"{from_code}.onnx", from_code)
        (pkg / "README.md").write_text(f"Tiny random {from_name} to {to_name} test package.\n")
        (pkg / "metadata.json").write_text(json.dumps({
            "package_version": "1.0", "argos_version": "1.9", "type": "translate",
            "from_code": from_code, "from_name": from_name,
            "to_code": to_code, "to_name": to_name, "links": [],
        }, indent=2))
        with zipfile.ZipFile(out / argosmodel_name(from_code, to_code), "w",
                             zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(pkg.rglob("*")):
                zf.write(f, f.relative_to(work).as_posix())
    shutil.rmtree(work)
    return out


def without_splitter(archive: Path, dest: Path) -> Path:
    """A copy of a package with its minisbd/ folder left out (like packages that ship none)."""
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(dest, "w") as dst:
        for item in src.infolist():
            if "/minisbd/" not in item.filename and not item.filename.endswith("/minisbd"):
                dst.writestr(item, src.read(item))
    return dest
