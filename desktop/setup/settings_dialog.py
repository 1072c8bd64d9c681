"""Settings (Ctrl+Comma): speech, appearance, shortcuts, startup and privacy, models.

Every field has a label that is its buddy (Alt+letter jumps to it) and an accessible name. The
Shortcuts tab says plainly whether global shortcuts work, and if not, which commands to bind in
the desktop's own keyboard settings instead.
"""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QKeySequenceEdit, QLabel, QLineEdit,
    QPlainTextEdit, QSpinBox, QTabWidget, QVBoxLayout, QWidget,
)

from desktop.capture.hotkeys import fallback_commands
from desktop.setup.models_panel import ModelsPanel
from desktop.setup.training_page import TrainingSetPage
from desktop.settings import HOTKEY_ACTIONS, TEXT_SCALE_MAX, TEXT_SCALE_MIN, TEXT_SCALE_STEP, Settings
from desktop.speech.speech_router import MODE_NAMES
from desktop.speech.voice import LumenVoice
from desktop.window.widgets import dialog_buttons
from services.translation import Translator

THEME_NAMES = {
    "system": "Follow the system",
    "light": "Light",
    "dark": "Dark",
    "high-contrast": "High contrast, white on black",
    "high-contrast-light": "High contrast, black on white",
}


def fallback_text(reason: str) -> str:
    lines = [reason, "", "Bind these commands in your desktop's keyboard shortcut settings instead:"]
    lines += [f"  {cmd}    ({what})" for cmd, what in fallback_commands()]
    return "\n".join(lines)


def _named(widget: QWidget, name: str, description: str = "") -> QWidget:
    """Name a control and the parts of it that take focus (a spin box's or key editor's field)."""
    for part in [widget, *widget.findChildren(QLineEdit)]:
        part.setAccessibleName(name)
        if description:
            part.setAccessibleDescription(description)
    return widget


def _clear_on_backspace(edit: QKeySequenceEdit) -> None:
    """Backspace or Delete alone clears a shortcut (no global shortcut is a single key)."""
    def changed(seq: QKeySequence) -> None:
        if seq.count() == 1 and seq[0].key() in (Qt.Key.Key_Backspace, Qt.Key.Key_Delete) \
                and seq[0].keyboardModifiers() == Qt.KeyboardModifier.NoModifier:
            edit.clear()

    edit.keySequenceChanged.connect(changed)


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, voice: LumenVoice, translator: Translator,
                 hotkeys_reason: str, parent: QWidget | None = None, *, reader: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Lumen settings")
        self.setAccessibleName("Lumen settings")
        self._settings = settings
        tabs = QTabWidget()
        tabs.setAccessibleName("Settings pages")
        tabs.addTab(self._speech_page(settings, voice, translator, reader), "&Speech")
        tabs.addTab(self._appearance_page(settings), "&Appearance")
        tabs.addTab(self._shortcuts_page(settings, hotkeys_reason), "S&hortcuts")
        tabs.addTab(self._startup_page(settings), "Startup and &privacy")
        self.training_page = TrainingSetPage()  # desktop/setup/training_page.py: corrections kept for training
        tabs.addTab(self.training_page, "&Training set")
        self.models_panel = ModelsPanel(window=parent)  # acts at once; the window follows its default
        tabs.addTab(self.models_panel, "&Models")
        buttons = dialog_buttons(self, QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(buttons)

    def _speech_page(self, s: Settings, voice: LumenVoice, translator: Translator, reader: str) -> QWidget:
        page, form = QWidget(), QFormLayout()
        page.setLayout(form)
        found = f"Screen reader running: {reader}." if reader else "No screen reader is running."
        self.speak_with = _named(QComboBox(), "Speak results with", found)
        for key, name in MODE_NAMES.items():
            self.speak_with.addItem(name, key)
        self.speak_with.setCurrentIndex(max(0, self.speak_with.findData(s.speak_with)))
        form.addRow("Speak results &with:", self.speak_with)
        self.reader_note = QLabel(found)
        self.reader_note.setWordWrap(True)
        form.addRow(self.reader_note)
        self.speak = _named(QCheckBox("Speak &results with Lumen's own voice"), "Speak results",
                            "Turn this off if you prefer your screen reader to read results.")
        self.speak.setChecked(s.speak)
        form.addRow(self.speak)
        if not voice.available and voice.unavailable_reason:
            note = QLabel(voice.unavailable_reason)
            note.setWordWrap(True)
            form.addRow(note)
        self.voice = _named(QComboBox(), "Voice")
        self.voice.addItem("Default voice", "")
        for v in voice.voices():
            self.voice.addItem(f"{v.name} ({v.language})" if v.language else v.name, v.id)
        self.voice.setCurrentIndex(max(0, self.voice.findData(s.voice)))
        form.addRow("&Voice:", self.voice)
        self.translate = _named(QComboBox(), "Translate results to")
        self.translate.addItem("Do not translate", "")
        for language in translator.languages():
            self.translate.addItem(language.name, language.code)
        self.translate.setCurrentIndex(max(0, self.translate.findData(s.translate_to)))
        form.addRow("&Translate results to:", self.translate)
        self.earcons = _named(QCheckBox("Play s&ounds when a capture starts, a result is ready or "
                                        "something fails"), "Play sounds")
        self.earcons.setChecked(s.earcons)
        form.addRow(self.earcons)
        return page

    def _appearance_page(self, s: Settings) -> QWidget:
        page, form = QWidget(), QFormLayout()
        page.setLayout(form)
        self.theme = _named(QComboBox(), "Colours", "High contrast themes reach at least 7 to 1.")
        for key, name in THEME_NAMES.items():
            self.theme.addItem(name, key)
        self.theme.setCurrentIndex(max(0, self.theme.findData(s.theme)))
        form.addRow("&Colours:", self.theme)
        self.text_scale = _named(QSpinBox(), "Text size in percent")
        self.text_scale.setRange(TEXT_SCALE_MIN, TEXT_SCALE_MAX)
        self.text_scale.setSingleStep(TEXT_SCALE_STEP)
        self.text_scale.setSuffix(" %")
        self.text_scale.setValue(s.text_scale)
        form.addRow("Text si&ze:", self.text_scale)
        return page

    def _shortcuts_page(self, s: Settings, reason: str) -> QWidget:
        page, form = QWidget(), QFormLayout()
        page.setLayout(form)
        self.use_hotkeys = _named(QCheckBox("&Use global shortcuts (they work while other "
                                            "programs have focus)"), "Use global shortcuts")
        self.use_hotkeys.setChecked(s.global_hotkeys)
        form.addRow(self.use_hotkeys)
        status = QLabel("Global shortcuts are working." if not reason else reason)
        status.setWordWrap(True)
        status.setObjectName("notice" if reason else "")
        self.hotkey_status = status
        form.addRow(status)
        how = QLabel("In a field below, press the new key combination; Backspace clears it.")
        how.setWordWrap(True)
        form.addRow(how)
        self.hotkey_edits: dict[str, QKeySequenceEdit] = {}
        for action, (_, what) in HOTKEY_ACTIONS.items():
            edit = QKeySequenceEdit(QKeySequence(s.hotkeys.get(action, "")))
            edit.setMaximumSequenceLength(1)
            _named(edit, f"Shortcut: {what}", "Press the new key combination; Backspace clears it.")
            _clear_on_backspace(edit)
            self.hotkey_edits[action] = edit
            form.addRow(f"{what}:", edit)
        if reason:
            commands = QPlainTextEdit(fallback_text(reason))
            commands.setReadOnly(True)
            commands.setTabChangesFocus(True)
            _named(commands, "Commands to bind in your desktop's shortcut settings")
            form.addRow(commands)
        return page

    def _startup_page(self, s: Settings) -> QWidget:
        page, form = QWidget(), QFormLayout()
        page.setLayout(form)
        self.history = _named(QCheckBox("&Keep a history of results on this computer"),
                              "Keep a history of results",
                              "Results and small thumbnails stay on this computer only.")
        self.history.setChecked(s.history)
        self.start_minimised = _named(QCheckBox("Start &minimised to the tray"), "Start minimised to the tray")
        self.start_minimised.setChecked(s.start_minimised)
        self.start_at_login = _named(QCheckBox("Start Lumen when I &log in"), "Start Lumen when I log in")
        self.start_at_login.setChecked(s.start_at_login)
        self.close_to_tray = _named(QCheckBox("Keep running in the tray when the window is &closed"),
                                    "Keep running in the tray when the window is closed")
        self.close_to_tray.setChecked(s.close_to_tray)
        for box in (self.history, self.start_minimised, self.start_at_login, self.close_to_tray):
            form.addRow(box)
        return page

    def edited(self) -> Settings:
        """The settings as edited (call after exec() accepted)."""
        hotkeys = {a: e.keySequence().toString(QKeySequence.SequenceFormat.PortableText)
                   for a, e in self.hotkey_edits.items()}
        return replace(
            self._settings,
            speak=self.speak.isChecked(), speak_with=self.speak_with.currentData(), voice=self.voice.currentData() or "",
            translate_to=self.translate.currentData() or "", earcons=self.earcons.isChecked(),
            theme=self.theme.currentData(), text_scale=self.text_scale.value(),
            global_hotkeys=self.use_hotkeys.isChecked(), hotkeys=hotkeys,
            history=self.history.isChecked(), start_minimised=self.start_minimised.isChecked(),
            start_at_login=self.start_at_login.isChecked(), close_to_tray=self.close_to_tray.isChecked(),
        ).normalised()
