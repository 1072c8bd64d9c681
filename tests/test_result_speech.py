"""A result heard sentence by sentence (desktop/speech/result_speech.py): the first whole sentence goes
to the speech route while decoding goes on, the later ones queue behind it, the end brings only
what is left (with the uncertainty note), and Stop mutes the rest of that result."""
from __future__ import annotations

from types import SimpleNamespace

from desktop.work.window_describer import MAY_BE_WRONG, Request, Result
from desktop.imaging import ImageSource
from desktop.speech.result_speech import ResultSpeech
from models.results import Caption, DescribeOptions

FINAL = "A dog sits on a red sofa. A cat sleeps beside it. The room is dark."


class Route:
    """Records what the window's speech route (desktop/speech_router.SpeechRouter) is given."""

    def __init__(self) -> None:
        self.said: list[tuple[str, bool]] = []

    def say(self, text: str, *, more: bool = False, **_: object) -> None:
        self.said.append((text, more))


def setup(translate_to: str = "") -> tuple[ResultSpeech, Route, Request]:
    route = Route()
    settings = SimpleNamespace(translate_to=translate_to)
    request = Request(1, ImageSource("screen", b""), DescribeOptions())
    speech = ResultSpeech(route, lambda: settings)  # type: ignore[arg-type,return-value]
    speech.begin(request)
    return speech, route, request


def result(request: Request, confidence: float = 0.9) -> Result:
    return Result(request, Caption(FINAL, [1, 2], confidence), FINAL)


def test_first_sentence_is_said_while_the_rest_is_decoded() -> None:
    speech, route, request = setup()
    speech.settled(request, "A dog sits on a red sofa.")
    assert route.said == []  # not known to be whole yet
    speech.settled(request, "A dog sits on a red sofa. A cat")
    assert route.said == [("A dog sits on a red sofa.", False)]
    speech.settled(request, "A dog sits on a red sofa. A cat sleeps beside it. The")
    speech.finished(result(request, confidence=0.1))
    assert route.said == [("A dog sits on a red sofa.", False), ("A cat sleeps beside it.", True),
                          (f"The room is dark. {MAY_BE_WRONG}", True)]


def test_stop_mutes_the_rest_of_the_result() -> None:
    speech, route, request = setup()
    speech.settled(request, "A dog sits on a red sofa. A cat")
    speech.stop()
    speech.settled(request, "A dog sits on a red sofa. A cat sleeps beside it. The")
    speech.finished(result(request))
    assert route.said == [("A dog sits on a red sofa.", False)]


def test_nothing_streamed_means_the_whole_result_once() -> None:
    speech, route, request = setup()
    speech.finished(result(request))
    assert route.said == [(FINAL, False)]
    translated, route, request = setup(translate_to="de")  # translation needs the whole text
    translated.settled(request, "A dog sits on a red sofa. A cat")
    assert route.said == []
