"""The description: large, selectable, read-only text that screen readers can walk through.

Results of a batch stack up under one heading per file. Text streams in while the model works.
An uncertain result says "This may be wrong." in the text itself (so it is read with it) and in
a visible warning line.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent, QKeySequence, QTextCursor
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from desktop.work.window_describer import MAY_BE_WRONG, Request, Result

RESULT_FONT_SCALE = 1.35  # the description reads larger than the rest of the window
EMPTY = "No description yet. Open, paste or drop a picture, or describe the screen."


class _ResultText(QPlainTextEdit):
    copy_all = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Ctrl+C with nothing selected copies the whole description, as the menu says.
        if event.matches(QKeySequence.StandardKey.Copy) and not self.textCursor().hasSelection():
            self.copy_all.emit()
            return
        super().keyPressEvent(event)


@dataclass
class _Block:
    title: str
    text: str
    pending: bool = False  # still streaming: shown with a trailing ellipsis
    title_copied: bool = True  # False: a title only for the screen reader's focus, not copied

    def render(self, shown: bool) -> str:
        text = self.text + (" …" if shown and self.pending else "")
        return f"{self.title}\n{text}" if self.title and (shown or self.title_copied) else text


class ResultView(QWidget):
    copy_all = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.heading = QLabel("Description")
        self.text_box = _ResultText()
        self.text_box.setObjectName("resultText")
        self.text_box.setReadOnly(True)
        self.text_box.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByKeyboard | Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.text_box.setTabChangesFocus(True)
        self.text_box.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.text_box.setAccessibleName("Description")
        self.text_box.setAccessibleDescription("The latest result. Ctrl+C copies it, Ctrl+R says it again.")
        self.text_box.copy_all.connect(self.copy_all)
        self.heading.setBuddy(self.text_box)
        self.warning = QLabel(MAY_BE_WRONG)
        self.warning.setObjectName("warning")
        self.warning.hide()
        layout.addWidget(self.heading)
        layout.addWidget(self.text_box, 1)
        layout.addWidget(self.warning)
        self._blocks: list[_Block] = []
        self._plain = ""
        self.text_box.setPlaceholderText(EMPTY)

    def apply_font(self, base: QFont) -> None:
        font = QFont(base)
        font.setPointSizeF(base.pointSizeF() * RESULT_FONT_SCALE)
        self.text_box.setFont(font)
        heading = QFont(base)
        heading.setPointSizeF(base.pointSizeF() * 1.15)
        heading.setBold(True)
        self.heading.setFont(heading)
        warning = QFont(base)
        warning.setBold(True)
        self.warning.setFont(warning)

    # --- what is shown ---
    def text(self) -> str:
        """The description as plain text (what Copy and Save as text take)."""
        return self._plain

    def selected_text(self) -> str:
        return self.text_box.textCursor().selectedText().replace("\u2029", "\n")

    def clear(self) -> None:
        self._blocks = []
        self.warning.hide()
        self._render()

    def begin(self, request: Request, doing: str = "") -> None:
        """A new request: a fresh page, or one more heading in a batch.

        `doing` ("Describing red.png…", given while a screen reader runs) stands in until the
        result arrives, under a first line naming the picture: a screen reader reads the line at
        the caret when focus lands here, which must never be the result's own first line (the
        whole result is spoken once, by desktop/speech/speech_router.py)."""
        if request.index == 1:
            self._blocks = []
            self.warning.hide()
        name = request.source.display_name
        if request.total > 1:
            self._blocks.append(_Block(f"{request.index} of {request.total}: {name}", doing, pending=not doing))
        else:
            self._blocks.append(_Block(f"{name}:" if doing else "", doing, pending=not doing, title_copied=False))
        self._render()

    def set_partial(self, text: str) -> None:
        if self._blocks:
            self._blocks[-1].text = text
            self._render()

    def finish(self, result: Result, translation: str = "") -> None:
        text = result.text + (f"\n{MAY_BE_WRONG}" if result.uncertain else "")
        if translation:
            text += f"\n\n{translation}"
        if not self._blocks:
            self._blocks.append(_Block("", ""))
        self._blocks[-1].text, self._blocks[-1].pending = text, False
        self.warning.setVisible(any(MAY_BE_WRONG in b.text for b in self._blocks))
        self._render()

    def add_translation(self, translation: str) -> None:
        if self._blocks and translation:
            self._blocks[-1].text += f"\n\n{translation}"
            self._render()

    def fail(self, message: str) -> None:
        if not self._blocks:
            self._blocks.append(_Block("", ""))
        self._blocks[-1].text, self._blocks[-1].pending = message, False
        self._render()

    def stopped(self, message: str) -> None:
        """The work was cancelled: keep what had streamed in, and say it stopped."""
        if not self._blocks:
            self._blocks.append(_Block("", ""))
        block = self._blocks[-1]
        block.text, block.pending = (f"{block.text} …\n{message}" if block.text else message), False
        self._render()

    def show_text(self, text: str, uncertain: bool = False) -> None:
        """Show a stored result (from History) as the current description."""
        self._blocks = [_Block("", text + (f"\n{MAY_BE_WRONG}" if uncertain else ""))]
        self.warning.setVisible(uncertain)
        self._render()

    def _render(self) -> None:
        self._plain = "\n\n".join(b.render(False) for b in self._blocks).strip()
        shown = "\n\n".join(b.render(True) for b in self._blocks).strip()
        box = self.text_box
        before, caret = box.toPlainText(), box.textCursor().position()
        box.setPlainText(shown)
        if caret and shown[:caret] == before[:caret]:
            # Someone reading with the arrow keys keeps their place while later text (the rest
            # of a batch) streams in below it; a new page starts at the top.
            cursor = box.textCursor()
            cursor.setPosition(caret)
            box.setTextCursor(cursor)
        else:
            box.moveCursor(QTextCursor.MoveOperation.Start)
