"""Speech from the first sentence: the decoding loop's settled prefix and the sentence feed.

The settled prefix must never promise a token the answer does not end up with (beam search
can change its best beam wholesale), so every settled prefix is checked against the final
answer of the same run, over many runs of a scripted model.
"""
from __future__ import annotations

import pytest

from models.generation import generate
from services.sentence_stream import SentenceFeed
from tests.test_generation_loop import EOS, HistoryDecoder, settings


@pytest.mark.parametrize("beams", [1, 3, 4])
def test_settled_prefix_is_always_the_start_of_the_answer(beams: int) -> None:
    early = 0
    for seed in range(30):
        settled: list[list[int]] = []
        out = generate(HistoryDecoder(seed), [EOS], settings(num_beams=beams, max_new_tokens=24),
                       on_settled=settled.append)
        answer = out.sequences[0]
        lengths = [len(s) for s in settled]
        assert lengths == sorted(set(lengths)), "the settled prefix only grows"
        for prefix in settled:
            assert answer[: len(prefix)] == prefix, (seed, prefix, answer)
        if settled and len(settled[0]) < len(answer) - 2:
            early += 1
    # It is useful only if it settles well before the end in most runs.
    assert early >= 15, early


def test_sampling_several_rows_settles_nothing() -> None:
    settled: list[list[int]] = []
    generate(HistoryDecoder(1), [EOS], settings(do_sample=True, num_return_sequences=3), seed=0,
             on_settled=settled.append)
    assert settled == []


def test_feed_hands_out_each_whole_sentence_once() -> None:
    feed = SentenceFeed()
    assert feed.settled("A dog") == []
    assert feed.settled("A dog sits on a sofa.") == []  # the end of the text is no boundary yet
    assert feed.settled("A dog sits on a sofa. It") == ["A dog sits on a sofa."]
    assert feed.settled("A dog sits on a sofa. It is asleep! The room") == ["It is asleep!"]
    assert feed.said == "A dog sits on a sofa. It is asleep! "
    assert feed.finish("A dog sits on a sofa. It is asleep! The room is dark.") == "The room is dark."


def test_feed_finish_says_everything_when_nothing_was_said_or_the_text_changed() -> None:
    assert SentenceFeed().finish("  A dog on a sofa.  ") == "A dog on a sofa."
    feed = SentenceFeed()
    feed.settled("A cat. On")
    assert feed.finish("A dog. On a mat.") == "A dog. On a mat."  # better twice than lost


def test_feed_knows_quotes_and_other_scripts() -> None:
    feed = SentenceFeed()
    assert feed.settled('A sign says "Stop." Below') == ['A sign says "Stop."']
    assert SentenceFeed().settled("一只狗。 一只猫") == ["一只狗。"]


def test_feed_speaks_text_read_from_a_screen_line_by_line() -> None:
    # PP-OCR's text arrives a few lines at a time; menus and buttons have no full stops.
    assert SentenceFeed().settled("A page of text:\nFile Edit") == []  # a caption: sentences only
    feed = SentenceFeed(lines=True)
    assert feed.settled("A page of text:\n") == ["A page of text:"]  # a whole line: said at once
    assert feed.settled("A page of text:\nFile Edit") == []
    assert feed.settled("A page of text:\nFile Edit View\nSave") == ["File Edit View"]
    assert feed.finish("A page of text:\nFile Edit View\nSave\nCancel") == "Save Cancel"
