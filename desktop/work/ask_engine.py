"""The window's handle on the question-answering model (SmolVLM), apart from the describer.

A question always goes to the installed SmolVLM, whichever model described the picture. The
Asker lives on its own worker thread ("asker"); the conversation about the current picture is
kept there too, and the encoded picture in the shared picture cache, so a follow-up question
costs its own words, not the picture again. One lane: a new question (or Esc) stops the one in
flight.

The model leaves memory when it has been idle for RELEASE_AFTER_S after its last answer
(SmolVLM-256M int8 holds about 290 MB; desktop/work/idle_release.py). The next question loads
it again; the conversation's earlier turns are kept, so a follow-up still has them.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject

from desktop.imaging import ImageSource
from desktop.work.idle_release import RELEASE_AFTER_S, IdleRelease
from desktop.work.model_threads import SPIN, model_threads
from desktop.work.workers import Failed, JobContext, TaskManager

ASK_LANE = "ask"


class AskEngine(QObject):
    def __init__(self, tasks: TaskManager, find_model: Callable[[], Path | None] | None = None,
                 release_after_s: float = RELEASE_AFTER_S) -> None:
        super().__init__()
        self._worker = tasks.worker("asker")
        self._find = find_model or _installed_model
        self._asker: Any = None  # worker thread only
        self._chat: Any = None  # worker thread only: (source, Conversation)
        self._kept: Any = None  # worker thread only: (source, turns) of a released conversation
        self.folder: Path | None = None
        self.loads = 0  # times the model was loaded (worker thread; read by tests)
        self.idle = IdleRelease(self._worker, release_after_s, self._release, "release the question model", self)


    def _release(self) -> bool:
        """Worker thread: the model goes, the conversation's turns stay for a follow-up."""
        if self._asker is None:
            return False
        if self._chat is not None:
            self._kept = (self._chat[0], list(self._chat[1].turns))
        self._asker = self._chat = None
        return True

    def model_folder(self) -> Path | None:
        """The SmolVLM folder a question will use (checked on the GUI thread: registry files only)."""
        if self.folder is None:
            self.folder = self._find()
        return self.folder

    def _conversation(self, folder: Path | None, source: ImageSource) -> Any:
        """The conversation about `source` (worker thread): the model loaded and the picture
        encoded on first use, both kept for the next question."""
        from models.asker import Asker

        if self._asker is None or self._asker.folder.path != folder:
            # One tile: an answer in seconds; all 13-17 tiles take ~13 times longer to encode
            # (README, Speed: Asking).
            self._asker, self._chat = Asker.load(folder, threads=model_threads(), one_tile=True, spin=SPIN), None
            self.loads += 1
        if self._chat is None or self._chat[0] is not source:
            self._chat = (source, self._asker.conversation(source.data))
            if self._kept is not None and self._kept[0] is source:  # back after a release
                self._chat[1].turns = self._kept[1]
            self._kept = None
        return self._chat[1]

    def prepare(self, source: ImageSource, on_failed: Failed) -> JobContext:
        """Load the model and encode the picture while the user types the question (the Ask
        field just opened): the answer then costs only its own tokens. A question asked
        meanwhile waits for this encoding, which it needs anyway."""
        folder = self.folder
        self.idle.touch()

        def job(ctx: JobContext) -> None:
            try:
                self._conversation(folder, source)
            finally:
                self.idle.used()

        return self._worker.submit(job, on_failed=on_failed, lane=ASK_LANE, name="prepare to ask")

    def ask(self, source: ImageSource, question: str, *, to_english: Callable[[str], str] | None,
            on_text: Callable[[str], None], on_done: Callable[[Any], None], on_failed: Failed) -> JobContext:
        """Answer `question` about `source` on the worker; earlier questions about the same
        source are in the prompt. Callbacks run on the GUI thread."""
        folder = self.folder
        self.idle.touch()

        def job(ctx: JobContext) -> Any:
            try:
                chat = self._conversation(folder, source)
                english = to_english(question) if to_english else question
                return chat.ask(english, on_text=lambda text: ctx.post(on_text, text), should_stop=ctx.should_stop)
            finally:
                self.idle.used()

        return self._worker.submit(job, on_done=on_done, on_failed=on_failed, lane=ASK_LANE, name="ask")

    def cancel(self) -> None:
        self._worker.cancel(ASK_LANE)


def _installed_model() -> Path | None:
    from models.asker import installed_ask_model

    try:
        return installed_ask_model()
    except Exception:  # a damaged registry: the Ask action explains how to install a model
        return None
