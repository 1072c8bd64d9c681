"""The History panel (Ctrl+H): past results with thumbnails, newest first, and Clear all."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QDockWidget, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QMessageBox, QPushButton,
    QVBoxLayout, QWidget,
)

from desktop.results.history import HistoryEntry, HistoryStore
from models.keywords import matches

OFF = "History is off. Turn it on in Settings (Ctrl+Comma) to keep past results on this computer."


class HistoryPanel(QDockWidget):
    chosen = Signal(object)  # HistoryEntry
    cleared = Signal()

    def __init__(self, store: HistoryStore, parent: QWidget | None = None) -> None:
        super().__init__("History", parent)
        self.setObjectName("historyPanel")
        self.setAccessibleName("History")
        self.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.store = store
        body = QWidget()
        layout = QVBoxLayout(body)
        self.notice = QLabel(OFF)
        self.notice.setWordWrap(True)
        self.search = QLineEdit()
        self.search.setObjectName("historySearch")
        self.search.setPlaceholderText("Search by keyword")
        self.search.setAccessibleName("Search history")
        self.search.setAccessibleDescription("Shows only results whose description has all these words.")
        self.search.textChanged.connect(lambda _text: self.refresh())
        self.search.returnPressed.connect(self.focus_list)
        self.list = QListWidget()
        self.list.setAccessibleName("Past results")
        self.list.setAccessibleDescription("Enter shows the chosen result again.")
        self.list.setIconSize(QSize(64, 64))
        self.list.setWordWrap(True)
        self.list.setUniformItemSizes(False)
        self.list.itemActivated.connect(self._activated)
        self.show_button = QPushButton("Show result")
        self.show_button.setAccessibleName("Show result")
        self.show_button.clicked.connect(lambda: self._activated(self.list.currentItem()))
        self.clear_button = QPushButton("Clear all…")
        self.clear_button.setAccessibleName("Clear all history")
        self.clear_button.setAccessibleDescription("Deletes every stored result and thumbnail.")
        self.clear_button.clicked.connect(self.confirm_clear)
        buttons = QHBoxLayout()
        buttons.addWidget(self.show_button)
        buttons.addWidget(self.clear_button)
        layout.addWidget(self.notice)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.setWidget(body)
        self._entries: dict[str, HistoryEntry] = {}

    def set_enabled_notice(self, enabled: bool) -> None:
        self.notice.setVisible(not enabled)

    def refresh(self) -> None:
        current = self.list.currentRow()
        self.list.clear()
        self._entries = {}
        query = self.search.text()
        stored = self.store.entries()
        for entry in stored:
            if not matches(entry.text, query):
                continue
            when = entry.when.astimezone().strftime("%d %b %H:%M")
            label = f"{when}, {_source_name(entry.source)}: {entry.text}"
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, entry.id)
            item.setToolTip(entry.text)
            thumb = self.store.thumbnail_path(entry)
            if thumb is not None:
                item.setIcon(QIcon(QPixmap(str(thumb))))
            self.list.addItem(item)
            self._entries[entry.id] = entry
        if self.list.count():
            self.list.setCurrentRow(max(0, min(current, self.list.count() - 1)))
        self.show_button.setEnabled(self.list.count() > 0)
        self.clear_button.setEnabled(bool(stored))  # clears everything, not just what is shown

    def focus_list(self) -> None:
        self.list.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _activated(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            entry = self._entries.get(item.data(Qt.ItemDataRole.UserRole))
            if entry is not None:
                self.chosen.emit(entry)

    def confirm_clear(self) -> None:
        answer = QMessageBox.question(
            self, "Clear history", "Delete every stored result and thumbnail from this computer?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.clear()

    def clear(self) -> None:
        self.store.clear()
        self.refresh()
        self.cleared.emit()


def _source_name(source: str) -> str:
    names = {"screen": "screen", "window": "window", "region": "region", "clipboard": "pasted picture"}
    if source in names:
        return names[source]
    return source.replace("\\", "/").rsplit("/", 1)[-1]
