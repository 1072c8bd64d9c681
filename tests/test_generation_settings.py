"""GenerationSettings: read like transformers reads a model folder, resolved like `generate`."""
from __future__ import annotations

import json

import pytest

from models.generation import GenerationSettings

from tests.support.require import require

FLORENCE_GENERATION = {
    "_from_model_config": True, "bos_token_id": 0, "decoder_start_token_id": 2, "early_stopping": True,
    "eos_token_id": 2, "forced_bos_token_id": 0, "forced_eos_token_id": 2, "no_repeat_ngram_size": 3,
    "num_beams": 3, "pad_token_id": 1, "transformers_version": "4.42.0.dev0",
}


def write(folder, name, data) -> None:
    (folder / name).write_text(json.dumps(data) if not isinstance(data, str) else data)


def test_reads_generation_config_and_ignores_unknown_keys():
    s = GenerationSettings.from_config({**FLORENCE_GENERATION, "watermarking_config": None, "foo": 1},
                                       {"max_position_embeddings": 64, "text_config": {"num_beams": 7}})
    assert (s.num_beams, s.no_repeat_ngram_size, s.early_stopping) == (3, 3, True)
    assert (s.forced_bos_token_id, s.forced_eos_token_id, s.eos_token_id) == (0, (2,), (2,))
    assert (s.start_token_id, s.pad_id, s.rows) == (2, 1, 3)
    assert s.max_position_embeddings == 64
    # generation_config.json wins outright: config.json's decoder section is not consulted
    assert s.num_beams == 3
    # transformers' global defaults for what the file leaves out
    assert (s.length_penalty, s.top_k, s.top_p, s.temperature, s.do_sample) == (1.0, 50, 1.0, 1.0, False)


def test_matches_transformers_generation_config(tmp_path):
    transformers = require("transformers")
    generation = {**FLORENCE_GENERATION, "eos_token_id": [2, 5], "length_penalty": 2}
    write(tmp_path, "generation_config.json", generation)
    ours = GenerationSettings.from_config(generation, {})
    theirs = transformers.GenerationConfig.from_pretrained(tmp_path)
    for name in ("num_beams", "no_repeat_ngram_size", "early_stopping", "forced_bos_token_id",
                 "decoder_start_token_id", "pad_token_id", "bos_token_id", "length_penalty"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert list(ours.eos_token_id) == theirs.eos_token_id


def test_falls_back_to_config_json_like_transformers(tmp_path):
    """No generation_config.json: top-level keys of config.json, then its decoder section."""
    transformers = require("transformers")
    config = {
        "model_type": "florence2", "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1,
        "text_config": {"decoder_start_token_id": 2, "num_beams": 3, "no_repeat_ngram_size": 3,
                        "max_length": 20, "early_stopping": True, "pad_token_id": 9,
                        "forced_eos_token_id": 2, "suppress_tokens": None},
    }
    write(tmp_path, "config.json", config)
    ours = GenerationSettings.from_config(None, config)
    theirs = transformers.GenerationConfig.from_pretrained(
        tmp_path, config_file_name="config.json", _from_model_config=True
    )
    for name in ("num_beams", "no_repeat_ngram_size", "max_length", "early_stopping", "pad_token_id",
                 "decoder_start_token_id", "bos_token_id", "forced_eos_token_id", "eos_token_id"):
        expected = getattr(theirs, name)
        if name in ("forced_eos_token_id", "eos_token_id"):  # ours are always tuples
            expected = (expected,)
        assert getattr(ours, name) == expected, name
    assert ours.pad_token_id == 1  # the top level wins over the decoder section


def test_no_settings_give_transformers_defaults():
    s = GenerationSettings.from_config(None, {})
    assert s == GenerationSettings()
    assert s.start_token_id is None and s.pad_id is None


@pytest.mark.parametrize(
    "generation",
    [{"num_beams": 0}, {"early_stopping": "sometimes"}, {"max_length": "twenty"}, {"eos_token_id": [2, None]}],
)
def test_invalid_values_are_refused(generation):
    # The Captioner turns these into a ModelFolderError naming the folder; unreadable JSON is
    # ModelFolder.open's to report (tests/test_model_folder_check.py).
    with pytest.raises((TypeError, ValueError)):
        GenerationSettings.from_config(generation, {})


def test_overrides_skip_none_and_reject_unknown_names():
    s = GenerationSettings(num_beams=3, max_length=30)
    assert s.replace(num_beams=None, max_new_tokens=None) is s
    t = s.replace(num_beams=1, do_sample=True, top_p=0.9, temperature=0.7, num_return_sequences=2)
    assert (t.num_beams, t.do_sample, t.top_p, t.temperature, t.num_return_sequences) == (1, True, 0.9, 0.7, 2)
    assert t.rows == 2
    with pytest.raises(TypeError):
        s.replace(beams=2)
    assert GenerationSettings.from_config({"num_beams": 4}, None, num_beams=2).num_beams == 2


@pytest.mark.parametrize(
    "kwargs",
    [dict(num_beams=0), dict(num_return_sequences=2), dict(num_beams=2, num_return_sequences=3),
     dict(max_new_tokens=0), dict(do_sample=True, temperature=0.0), dict(top_p=1.5), dict(top_k=-1),
     dict(early_stopping="always"), dict(repetition_penalty=0.0), dict(no_repeat_ngram_size=-1)],
)
def test_invalid_combinations_are_rejected(kwargs):
    with pytest.raises(ValueError):
        GenerationSettings(**kwargs)


def test_json_shapes_are_normalised():
    s = GenerationSettings(eos_token_id=[2, 5], forced_eos_token_id=2, suppress_tokens=[1, 2],
                           bad_words_ids=[[3], [4, 5]], early_stopping=1, length_penalty=2)
    assert s.eos_token_id == (2, 5) and s.forced_eos_token_id == (2,) and s.suppress_tokens == (1, 2)
    assert s.bad_words_ids == ((3,), (4, 5)) and s.early_stopping is True
    assert isinstance(s.length_penalty, float)
    hash(s)  # frozen and hashable


def test_lengths_resolve_like_generate():
    prefix = 1
    assert GenerationSettings().total_max_length(prefix) == 21  # 20 new tokens by default
    assert GenerationSettings(max_position_embeddings=16).total_max_length(prefix) == 16
    assert GenerationSettings(max_length=9).total_max_length(prefix) == 9
    assert GenerationSettings(max_length=9, max_new_tokens=30).total_max_length(prefix) == 31
    assert GenerationSettings(max_length=9, max_new_tokens=30).total_max_length(4) == 34
    assert GenerationSettings(min_length=5).total_min_length(prefix) == 5
    assert GenerationSettings(min_length=5, min_new_tokens=7).total_min_length(3) == 10
    assert GenerationSettings(eos_token_id=2).pad_id == 2  # no pad: finished rows get EOS
    assert GenerationSettings(bos_token_id=0).start_token_id == 0
