"""Keywords under the description: the caption's content words, ranked by a CLIP model.

Shown as a list (a screen reader reads "Keywords, list, dog, 41 percent, 1 of 5"), hidden
when there are none: no CLIP model installed, or a reading/objects result. CLIP runs on its
own worker (its ONNX sessions never leave that thread), after the description is shown, so
keywords never delay the description.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from desktop.results.window_results import Results
from desktop.work.idle_release import RELEASE_AFTER_S, IdleRelease
from desktop.work.window_describer import Result
from desktop.work.workers import JobContext, TaskManager

if TYPE_CHECKING:
    from models.keywords import Keyword

log = logging.getLogger(__name__)
KEYWORDS_LANE = "keywords"
SHOWN = 8  # the best few: the rest are rarely more than noise


class KeywordsView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("keywordsView")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel("Keywords:")  # no Alt+letter: the menus own those
        self.list = QListWidget()
        self.list.setObjectName("keywordsList")
        self.list.setAccessibleName("Keywords")
        self.list.setAccessibleDescription("Words for this picture, the most likely first.")
        self.list.setFlow(QListWidget.Flow.LeftToRight)
        self.list.setWrapping(True)
        self.list.setMaximumHeight(self.list.fontMetrics().height() * 5)
        self.label.setBuddy(self.list)
        layout.addWidget(self.label)
        layout.addWidget(self.list)
        self.hide()

    def show_keywords(self, keywords: list[Keyword]) -> None:
        self.list.clear()
        for k in keywords[:SHOWN]:
            item = QListWidgetItem(f"{k.word}, {round(k.score * 100)}%")
            item.setData(Qt.ItemDataRole.UserRole, k.word)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
        self.setVisible(self.list.count() > 0)

    def words(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def clear(self) -> None:
        self.list.clear()
        self.hide()


class KeywordsController(QObject):
    """Scores keywords for each finished description (a subscriber of Results.added), on the
    "keywords" worker; the view is cleared when new work starts (`clear`)."""

    def __init__(self, view: KeywordsView, results: Results, tasks: TaskManager) -> None:
        super().__init__(view)
        self.view, self.results = view, results
        self._worker = tasks.worker("keywords")
        self._clip: Any = None  # loaded and used on the worker only
        self._looked = False  # whether an installed CLIP model was looked for already
        # Keywords follow every description, so CLIP goes when descriptions stop for a while.
        self.idle = IdleRelease(self._worker, RELEASE_AFTER_S, self._release, "release the keywords model", self)

    def _release(self) -> bool:
        """Worker thread: CLIP goes; the next description looks for it and loads it again."""
        if self._clip is None:
            return False
        self._clip, self._looked = None, False
        return True

    def clear(self, _request: object = None) -> None:
        self.view.clear()

    def _load(self) -> Any:
        if not self._looked:
            self._looked = True
            from models.clip import Clip, installed_clip

            folder = installed_clip()
            if folder is not None:
                self._clip = Clip.load(folder, threads=1)  # one core: the captioner has the others
        return self._clip

    def score(self, result: Result) -> None:
        caption = result.caption
        if caption.task != "caption":
            return
        captions = [caption.caption, *caption.alternatives]
        data = result.request.source.data

        def job(ctx: JobContext) -> list[Keyword] | None:
            try:
                clip = self._load()
                if clip is None or ctx.should_stop():
                    return None
                from models.image_io import load_image
                from models.keywords import keywords

                return keywords(clip, load_image(data), captions)
            finally:
                self.idle.used()

        def done(found: list[Keyword] | None) -> None:
            if found and self.results.is_latest(result):
                self.view.show_keywords(found)

        def failed(exc: BaseException) -> None:
            log.info("no keywords: %s", exc)  # keywords are extra: the description stands alone
            self.view.clear()

        self.idle.touch()
        self._worker.submit(job, on_done=done, on_failed=failed, lane=KEYWORDS_LANE, name="keywords")
