"""Where a result or an error goes (desktop/speech/speech_router.py): the screen reader's own channel,
the window's accessibility announcement (UI Automation on Windows, VoiceOver on macOS, AT-SPI),
Lumen's voice, or both; once per route, and nothing lost when a channel fails."""
from __future__ import annotations

import pytest
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QWidget

from desktop.speech import announce
from desktop.speech.announce import Announcer
from desktop.settings import Settings
from desktop.speech.speech_router import ReaderLink, SpeechRouter
from desktop.work.workers import TaskManager
from desktop.speech.voice import LumenVoice
from services.errors import ScreenReaderError
from tests.support.gui_support import RecordingSpeaker

pytestmark = pytest.mark.gui


class FakeOutput:
    name = "fake"

    def __init__(self, fail: bool = False) -> None:
        self.fail, self.spoken, self.cancels = fail, [], 0

    def speak(self, text: str, interrupt: bool = False) -> None:
        if self.fail:
            raise ScreenReaderError("the speech server went away")
        self.spoken.append((text, interrupt))

    def notify(self, text: str) -> None:
        self.spoken.append((text, "notice"))

    def cancel(self) -> None:
        self.cancels += 1

    def close(self) -> None:
        pass


@pytest.fixture
def route(qtbot, monkeypatch):
    """make(reader, output, speak_with) -> (router, output, speaker, events sent to Qt)."""
    events: list[tuple[str, object]] = []

    class Recorder:  # QAccessible with updateAccessibility recorded
        AnnouncementPoliteness = QAccessible.AnnouncementPoliteness

        @staticmethod
        def updateAccessibility(event):
            events.append((event.message(), event.politeness()))

    monkeypatch.setattr(announce, "QAccessible", Recorder)
    tasks = TaskManager()
    made = []
    widgets: list[QWidget] = []

    def make(reader: str, output: FakeOutput | None, speak_with: str = "auto"):
        widget = QWidget()
        qtbot.addWidget(widget)  # pytest-qt holds it weakly; the Announcer is its child
        widgets.append(widget)
        link = ReaderLink(tasks, find=lambda: reader, opener=lambda name: output)
        link.start()
        qtbot.waitUntil(lambda: link.ready, timeout=5000)
        assert link.reader == reader and link.has_channel == (output is not None)
        speaker = RecordingSpeaker()
        settings = Settings(speak=True, speak_with=speak_with)
        router = SpeechRouter(Announcer(widget), link, lambda: LumenVoice(speaker), lambda: settings)
        made.append(link)
        return router, speaker

    yield make, events
    for link in made:
        link.close()
    tasks.shutdown(2.0)


def test_with_orca_a_result_goes_to_its_speech_server_only(route, qtbot):
    make, events = route
    out = FakeOutput()
    router, speaker = make("Orca", out)
    assert router.mode() == "screen-reader"
    router.say("A cat on a mat.")
    router.say("The capture failed.", error=True)
    qtbot.waitUntil(lambda: len(out.spoken) == 2, timeout=5000)
    assert out.spoken == [("A cat on a mat.", False), ("The capture failed.", True)]  # errors interrupt
    assert events == [] and speaker.said == []  # one route: no announcement event, no second voice
    router.status("Description copied.")  # chatter: Orca 43 would drop the announcement
    qtbot.waitUntil(lambda: len(out.spoken) == 3, timeout=5000)
    assert out.spoken[-1] == ("Description copied.", "notice") and events == [] and speaker.said == []


def test_without_a_screen_reader_lumen_speaks_and_announces(route):
    make, events = route
    router, speaker = make("", None)
    assert router.mode() == "voice"
    router.say("A cat on a mat.")
    assert speaker.said == [("A cat on a mat.", None)]
    assert events == [("A cat on a mat.", QAccessible.AnnouncementPoliteness.Polite)]
    router.status("Description copied.")
    assert events[-1] == ("Description copied.", QAccessible.AnnouncementPoliteness.Polite)
    assert speaker.said == [("A cat on a mat.", None)]  # chatter is never in Lumen's voice


def test_jaws_narrator_voiceover_hear_the_announcement(route):
    """No channel of their own (JAWS, Narrator, VoiceOver, NVDA without its DLL): the window's
    announcement, which Qt turns into a UIA notification or a VoiceOver announcement."""
    make, events = route
    router, speaker = make("JAWS", None)
    router.say("The model could not be loaded.", error=True)
    assert events == [("The model could not be loaded.", QAccessible.AnnouncementPoliteness.Assertive)]
    assert speaker.said == []


def test_both_and_a_failing_channel(route, qtbot):
    make, events = route
    out = FakeOutput()
    router, speaker = make("Orca", out, speak_with="both")
    router.say("A red bus.")
    qtbot.waitUntil(lambda: out.spoken == [("A red bus.", False)], timeout=5000)
    assert speaker.said == [("A red bus.", None)]

    broken = FakeOutput(fail=True)
    router, speaker = make("Orca", broken)
    router.say("A green tree.")
    qtbot.waitUntil(lambda: speaker.said == [("A green tree.", None)], timeout=5000)  # not lost
    assert ("A green tree.", QAccessible.AnnouncementPoliteness.Polite) in events


def test_said_before_the_first_check_is_held_until_it_is_done(route, qtbot):
    """A model that fails at start speaks before Lumen knows Orca runs: held, then sent to Orca."""
    make, events = route
    out = FakeOutput()
    tasks = TaskManager()
    link = ReaderLink(tasks, find=lambda: "Orca", opener=lambda name: out)
    widget = QWidget()
    qtbot.addWidget(widget)
    speaker = RecordingSpeaker()
    router = SpeechRouter(Announcer(widget), link, lambda: LumenVoice(speaker), lambda: Settings(speak=True))
    router.say("The description model could not be loaded.", error=True)
    assert out.spoken == [] and speaker.said == []
    link.start()
    qtbot.waitUntil(lambda: out.spoken == [("The description model could not be loaded.", True)], timeout=5000)
    assert speaker.said == [] and events == []
    link.close()
    tasks.shutdown(2.0)


def test_a_screen_reader_started_later_is_found(qtbot):
    """Checked at start and then every few seconds: Orca started after Lumen takes over results."""
    tasks = TaskManager()
    running = {"reader": ""}
    out = FakeOutput()
    link = ReaderLink(tasks, find=lambda: running["reader"], opener=lambda name: out, poll_ms=100)
    seen: list[str] = []
    link.changed.connect(seen.append)
    try:
        link.start()
        qtbot.wait(300)
        assert link.reader == "" and not link.has_channel and seen == []
        running["reader"] = "Orca"
        qtbot.waitUntil(lambda: link.reader == "Orca" and link.has_channel, timeout=5000)
        running["reader"] = ""
        qtbot.waitUntil(lambda: link.reader == "" and not link.has_channel, timeout=5000)
        assert seen == ["Orca", ""]
    finally:
        link.close()
        tasks.shutdown(2.0)


def test_speech_server_down_then_back_voice_then_reconnect(qtbot):
    """Orca runs but speech-dispatcher is down when Lumen looks: each result tries the channel
    again; while it fails Lumen's voice says it ("my screen reader, else Lumen's voice"), and
    the first result after the server is back reaches it without waiting for the next check."""
    tasks = TaskManager()
    server = {"up": False}
    out = FakeOutput()

    def opener(name: str) -> FakeOutput:
        if not server["up"]:
            raise ScreenReaderError("speech-dispatcher is not running")
        return out

    link = ReaderLink(tasks, find=lambda: "Orca", opener=opener, poll_ms=3_600_000)
    speaker = RecordingSpeaker()
    settings = Settings(speak=True, speak_with="auto")
    widget = QWidget()
    qtbot.addWidget(widget)
    router = SpeechRouter(Announcer(widget), link, lambda: LumenVoice(speaker), lambda: settings)
    try:
        link.start()
        qtbot.waitUntil(lambda: link.ready, timeout=5000)
        assert link.reader == "Orca" and not link.has_channel and link.channel_broken
        router.say("A cat on a mat.")
        qtbot.waitUntil(lambda: any("A cat on a mat." in s for s in speaker.said), timeout=5000)
        assert out.spoken == []
        server["up"] = True  # back, and the hourly check is far off
        router.say("A dog in the snow.")
        qtbot.waitUntil(lambda: out.spoken == [("A dog in the snow.", False)], timeout=5000)
        assert not any("A dog" in s for s in speaker.said)
    finally:
        link.close()
        tasks.shutdown(2.0)
