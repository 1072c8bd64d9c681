"""Handing results to the user's screen reader (services/ssip.py, screen_reader.py, nvda_client.py,
desktop/speech/speech_router.py).

Linux is tested against a real speech-dispatcher (the dummy voice, its log as the record); the
Windows and macOS routes are tested for what they build (NVDA's DLL calls through a stand-in
library with NVDA's function names, the accessibility announcement events), as they cannot
run here. tests/test_gui_orca.py runs the whole thing with Orca.
"""
from __future__ import annotations

import re
import time

import pytest

from services.errors import ScreenReaderError
from services.nvda_client import BRAILLE_MAX, NvdaOutput, braille_text
from services.screen_reader import SpeechDispatcherOutput, reader_from_processes, tasklist_names
from services.ssip import SSIPClient, default_address, encode_text, parse_reply
from tests.support.orca_session import OrcaSession, missing_tools

TASKLIST = '"System Idle Process","0","Services","0","8 K"\r\n"nvda.exe","4120","Console","1","60,112 K"\r\n'


@pytest.mark.parametrize(("platform", "names", "reader"), [
    ("linux", ["systemd", "bash", "orca"], "Orca"),
    ("linux", ["systemd", "speech-dispatcher"], ""),  # the speech server alone is no screen reader
    ("win32", tasklist_names(TASKLIST), "NVDA"),
    ("win32", ["explorer.exe", "JFW.EXE"], "JAWS"),
    ("win32", ["explorer.exe", "Narrator.exe"], "Narrator"),
    ("darwin", ["/System/Library/CoreServices/VoiceOver.app/Contents/MacOS/VoiceOver", "Finder"], "VoiceOver"),
    ("darwin", ["Finder", "orca"], ""),
])
def test_the_running_screen_reader_is_recognised_on_each_system(platform, names, reader):
    assert reader_from_processes(names, platform) == reader


def test_ssip_text_blocks_escape_a_line_that_starts_with_a_dot():
    # A lone "." ends the text in SSIP: a line of the result starting with a dot is doubled.
    assert encode_text("A sign.\n.NET logo\r\nEnd") == b"A sign.\r\n..NET logo\r\nEnd\r\n.\r\n"
    assert parse_reply(["225-21", "225 OK MESSAGE QUEUED"]) == (225, ["21"], "OK MESSAGE QUEUED")
    with pytest.raises(ScreenReaderError):
        parse_reply(["garbage"])
    assert default_address({"XDG_RUNTIME_DIR": "/run/user/7"}) == \
        "unix_socket:/run/user/7/speech-dispatcher/speechd.sock"
    assert default_address({"SPEECHD_ADDRESS": "inet_socket:127.0.0.1:6560"}) == "inet_socket:127.0.0.1:6560"


@pytest.fixture(scope="module")
def speechd(tmp_path_factory):
    if "speech-dispatcher" in missing_tools():
        pytest.fail("speech-dispatcher is not installed; install it: apt-get install speech-dispatcher "
                    "(or `make system-test`)", pytrace=False)
    session = OrcaSession(tmp_path_factory.mktemp("speechd")).start(with_orca=False)
    yield session
    session.stop()


def _queued(session: OrcaSession, text: str, timeout: float = 10.0) -> list[str]:
    """Priorities (speech-dispatcher's numbers) of the messages `text` was queued with."""
    pattern = re.compile(r"Queueing message \|%s\| with priority (\d)" % re.escape(text))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = pattern.findall(session.speechd_text())
        if found:
            return found
        time.sleep(0.05)
    return []


def test_a_result_reaches_speech_dispatcher_as_a_message(speechd):
    client = SSIPClient(f"unix_socket:{speechd.speechd_socket}")
    try:
        client.speak("A cat on a mat.\n.gitignore on a screen", "message")
        # Priority 2 is "message": what Orca speaks with, never dropped, queued in order.
        assert _queued(speechd, "A cat on a mat.\n.gitignore on a screen") == ["2"]
        client.cancel()
        client.speak("An error, said at once.", "important")
        assert _queued(speechd, "An error, said at once.") == ["1"]
        client.speak("Description copied.", "notification")  # chatter: 4, dropped if speech is busy
        assert _queued(speechd, "Description copied.") == ["4"]
    finally:
        client.close()
    with pytest.raises(ScreenReaderError, match="not running"):
        SSIPClient(f"unix_socket:{speechd.root / 'nobody.sock'}").connect()


def test_orcas_speech_server_gets_results_as_messages_and_chatter_as_notifications(speechd):
    out = SpeechDispatcherOutput(f"unix_socket:{speechd.speechd_socket}")
    try:
        out.speak("A result for Orca users.")
        out.notify("Text size 200 percent.")
        assert _queued(speechd, "A result for Orca users.") == ["2"]
        assert _queued(speechd, "Text size 200 percent.") == ["4"]
    finally:
        out.close()


class FakeNvda:
    """A stand-in for nvdaControllerClient.dll: NVDA's four functions, recording each call."""

    def __init__(self, running: int = 0, speak_code: int = 0) -> None:
        self.calls: list[tuple[str, str | None]] = []

        def fn(name: str, code: int = 0):
            def call(text: str | None = None) -> int:
                self.calls.append((name, text))
                return code
            return call

        self.nvdaController_testIfRunning = fn("test", running)
        self.nvdaController_speakText = fn("speak", speak_code)
        self.nvdaController_brailleMessage = fn("braille")
        self.nvdaController_cancelSpeech = fn("cancel")


def test_nvda_speaks_and_brailles_and_an_error_interrupts():
    dll = FakeNvda()
    nvda = NvdaOutput(dll)
    nvda.speak("A dog\n  on a   sofa.")
    nvda.speak("The capture failed.", interrupt=True)
    assert dll.calls == [("test", None), ("speak", "A dog\n  on a   sofa."), ("braille", "A dog on a sofa."),
                         ("cancel", None), ("speak", "The capture failed."), ("braille", "The capture failed.")]
    long = " ".join(["word"] * 400)
    assert len(braille_text(long)) <= BRAILLE_MAX and braille_text(long).endswith("word…")


def test_nvda_not_running_or_failing_is_our_error():
    with pytest.raises(ScreenReaderError, match="NVDA is not running.*1717"):
        NvdaOutput(FakeNvda(running=1717))
    with pytest.raises(ScreenReaderError, match="did not speak"):
        NvdaOutput(FakeNvda(speak_code=5)).speak("hello")
