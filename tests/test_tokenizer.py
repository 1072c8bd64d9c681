"""TextTokenizer against transformers' tokenizers on the same folders.

Three folders: the real Florence-2 tokenizer (../shared, skipped when absent), the tiny
byte-level BPE of tests/support/tiny_tokenizers.py and a tiny BLIP-like BERT WordPiece (tests/support/tiny_wordpiece.py).
"""
from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from models.errors import ModelFolderError
from models.tokenizer import TextTokenizer
from tests.support.tiny_tokenizers import build_bart_tokenizer
from tests.support.tiny_wordpiece import build_bert_tokenizer

ROOT = Path(__file__).resolve().parent.parent

STRINGS = [
    "What does the image describe?",
    "A dog sits on a red sofa next to a window with the sun shining in.",
    "Hello, world! It's a DOG's bone, isn't it ? Yes . No !",
    "  leading and trailing spaces  ",
    "tabs\tand\nnew\nlines\r\n",
    "multiple   spaces    here",
    "",
    " ",
    "café naïve résumé Ångström façade",
    "日本語のテキスト 中文 한국어",
    "emoji 🐶🐱👩\u200d👩\u200d👧 ❤️ 👍🏽",
    "combining e\u0301 and \u00e9",
    "Привет, мир",
    "مرحبا بالعالم",
    "हिन्दी पाठ",
    "math ∑ ∫ √ π ≈ ≠ ≤",
    "\u200b zero width \ufeff bom",
    "<s>inner special</s>",
    "<pad><unk><mask> x",
    "<OD> <loc_5><loc_999> text <od></od><loc_0>",
    "[CLS] [SEP] [DEC] [MASK] [PAD] brackets",
    "numbers 3.14 1,000,000 42nd",
    "don't can't won't I'm you're they've do n't",
    "quotes \"double\" 'single' «guillemets» „low“",
    "\x00 control \x07 chars",
    "\ufffd replacement",
    "a picture of two cats sleeping on a couch",
    "supercalifragilisticexpialidocious antidisestablishmentarianism " * 5,
]


@pytest.fixture(scope="session")
def florence_folder(shared_dir: Path) -> Path:
    folder = shared_dir / "florence2-base"
    assert (folder / "tokenizer.json").is_file(), f"{folder} has no tokenizer.json (../shared is incomplete)"
    return folder


@pytest.fixture(scope="session")
def bart_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-bart")
    build_bart_tokenizer(folder)
    return folder


@pytest.fixture(scope="session")
def bert_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-bert")
    build_bert_tokenizer(folder)
    return folder


def _reference(folder: Path):
    from transformers import AutoTokenizer, BertTokenizerFast

    config = json.loads((folder / "tokenizer_config.json").read_text())
    if config["tokenizer_class"] == "BertTokenizer":
        return BertTokenizerFast.from_pretrained(folder)
    return AutoTokenizer.from_pretrained(folder)


@pytest.fixture(scope="session", params=["florence2-base", "tiny-bart", "tiny-bert"])
def pair(request: pytest.FixtureRequest):
    """(ours, transformers') for one folder."""
    fixture = {"florence2-base": "florence_folder", "tiny-bart": "bart_folder", "tiny-bert": "bert_folder"}
    folder = request.getfixturevalue(fixture[request.param])
    return TextTokenizer.from_folder(folder), _reference(folder)


def test_encode_matches_transformers(pair) -> None:
    ours, ref = pair
    for text in STRINGS:
        assert ours.encode(text) == ref(text)["input_ids"], text
        assert ours.encode(text, add_special_tokens=False) == ref(text, add_special_tokens=False)["input_ids"]


def test_decode_matches_transformers(pair) -> None:
    ours, ref = pair
    for text in STRINGS:
        ids = ref(text)["input_ids"]
        for skip in (False, True):
            expected = ref.decode(ids, skip_special_tokens=skip)
            assert ours.decode(ids, skip_special_tokens=skip) == expected, text


def test_decode_random_ids_matches_transformers(pair) -> None:
    """Any id sequence, special ids and cut characters included, decodes the same."""
    ours, ref = pair
    rng = random.Random(7)
    specials = sorted(ours.special_ids)
    for _ in range(300):
        ids = [rng.randrange(ours.vocab_size) for _ in range(rng.randint(1, 24))]
        ids[rng.randrange(len(ids))] = rng.choice(specials)
        for skip in (False, True):
            expected = ref.decode(ids, skip_special_tokens=skip)
            assert ours.decode(ids, skip_special_tokens=skip) == expected, ids


def test_special_ids_match_transformers(pair) -> None:
    ours, ref = pair
    assert ours.pad_id == ref.pad_token_id
    assert ours.unk_id == ref.unk_token_id
    assert ours.vocab_size == len(ref)
    assert ours.special_ids == frozenset(ref.all_special_ids) | {
        i for i, t in ref.added_tokens_decoder.items() if t.special
    }
    if ref.eos_token_id is not None:
        assert ours.eos_id == ref.eos_token_id
    else:  # BERT names no eos: a BLIP caption ends at [SEP]
        assert ours.eos_id == ref.sep_token_id


def test_florence_special_ids(florence_folder: Path) -> None:
    tok = TextTokenizer.from_folder(florence_folder)
    assert (tok.bos_id, tok.eos_id, tok.pad_id, tok.unk_id) == (0, 2, 1, 3)
    assert tok.vocab_size == 51289
    assert tok.encode("What does the image describe?") == [0, 2264, 473, 5, 2274, 6190, 116, 2]
    assert tok.token_to_id("<loc_0>") == 50269 and tok.id_to_token(50269 + 999) == "<loc_999>"
    assert not tok.clean_up_spaces  # tokenizer_config says True; transformers 5 ignores it for BPE


@pytest.mark.parametrize("bos_in_files", [False, True])
def test_blip_bos_is_dec_and_eos_is_sep(tmp_path: Path, bos_in_files: bool) -> None:
    """BLIP's bos "[DEC]" comes from the tokenizer files or, failing them, config.json's id;
    its eos is [SEP], not config.json's misleading eos_token_id."""
    dec_id = build_bert_tokenizer(tmp_path, bos_in_files=bos_in_files)
    tok = TextTokenizer.from_folder(tmp_path)
    assert tok.special.bos == "[DEC]" and tok.bos_id == dec_id
    assert tok.special.eos == "[SEP]" and tok.eos_id == tok.token_to_id("[SEP]")
    assert tok.clean_up_spaces
    assert tok.decode([dec_id, *tok.encode("A picture of two cats")[1:]], skip_special_tokens=True) == (
        "a picture of two cats"
    )


def test_named_special_token_missing_from_tokenizer_json(tmp_path: Path) -> None:
    """A special token named only in special_tokens_map.json is added, as transformers does."""
    build_bert_tokenizer(tmp_path)
    names = json.loads((tmp_path / "special_tokens_map.json").read_text())
    names["additional_special_tokens"] = ["[ENC]"]
    (tmp_path / "special_tokens_map.json").write_text(json.dumps(names))
    ours, ref = TextTokenizer.from_folder(tmp_path), _reference(tmp_path)
    assert ours.token_to_id("[ENC]") == ref.convert_tokens_to_ids("[ENC]") is not None
    ids = ref("[ENC] a cat [ENC]")["input_ids"]
    assert ours.encode("[ENC] a cat [ENC]") == ids
    expected = ref.decode(ids, skip_special_tokens=True)
    assert ours.decode(ids, skip_special_tokens=True) == expected == "a cat"


@pytest.mark.parametrize("force", [False, True])
def test_bpe_clean_up_follows_transformers(bart_folder: Path, tmp_path: Path, force: bool) -> None:
    folder = tmp_path / "bart"
    shutil.copytree(bart_folder, folder)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config["clean_up_tokenization_spaces"] = True
    config["clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output"] = force
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    ours, ref = TextTokenizer.from_folder(folder), _reference(folder)
    assert ours.clean_up_spaces is force
    ids = ref("A dog , a cat . Is it ? it 's")["input_ids"]
    assert ours.decode(ids, skip_special_tokens=True) == ref.decode(ids, skip_special_tokens=True)
    assert (ours.decode(ids, skip_special_tokens=True) == "A dog, a cat. Is it? it's") is force


@pytest.mark.parametrize(
    "content", [None, b"", b"{not json", b'{"version": "1.0"}', b"\xff\xfe\x00garbage"]
)
def test_missing_or_corrupt_tokenizer_json(
    bart_folder: Path, tmp_path: Path, content: bytes | None
) -> None:
    folder = tmp_path / "model"
    shutil.copytree(bart_folder, folder)
    if content is None:
        (folder / "tokenizer.json").unlink()
    else:
        (folder / "tokenizer.json").write_bytes(content)
    with pytest.raises(ModelFolderError) as info:
        TextTokenizer.from_folder(folder)
    message = str(info.value)
    assert "tokenizer.json" in message and str(folder) in message and "reinstall the model" in message


def test_corrupt_tokenizer_config(bart_folder: Path, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(bart_folder, folder)
    (folder / "tokenizer_config.json").write_text('{"bos_token": ')
    with pytest.raises(ModelFolderError, match="tokenizer_config.json.*reinstall the model"):
        TextTokenizer.from_folder(folder)


def test_missing_tokenizer_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelFolderError, match="tokenizer.json"):
        TextTokenizer.from_folder(tmp_path / "nowhere")


def test_runtime_needs_no_transformers(bart_folder: Path) -> None:
    code = (
        "import sys; from pathlib import Path; import models.tasks as t; "
        "from models.tokenizer import TextTokenizer; "
        f"tok = TextTokenizer.from_folder(Path({str(bart_folder)!r})); "
        "assert tok.decode(tok.encode('a dog'), skip_special_tokens=True) == 'a dog'; "
        "bad = {'transformers', 'torch'} & set(sys.modules); assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)
