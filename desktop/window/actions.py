"""Every command of the window, once: menu text, shortcut and what it does.

Menus list each action with its shortcut, the keyboard help (F1) is generated from the same
table, and buttons reuse these actions, so the three never disagree.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from desktop.settings import Settings


@dataclass(frozen=True)
class Spec:
    key: str
    text: str
    shortcuts: tuple[str, ...] = ()
    slot: str = ""  # method of the window or of one of its controllers ("history.toggle"); "" by hand
    tip: str = ""
    checkable: bool = False


S = Spec
MENUS: dict[str, list[Spec | None]] = {  # None is a separator
    "&File": [
        S("open", "&Open picture…", ("Ctrl+O",), "open_dialog", "Choose pictures or a document (PDF) to describe"),
        S("paste", "&Paste picture", ("Ctrl+V",), "paste", "Describe the picture or file you copied"),
        None,
        S("save", "&Save description as text…", ("Ctrl+S",), "save_description",
          "Save the description in a text file"),
        None,
        S("settings", "Se&ttings…", ("Ctrl+,",), "show_settings",
          "Speech, appearance, shortcuts, startup and history"),
        S("model_setup", "Set up &model…", (), "run_model_setup", "Install or choose the description model"),
        None,
        S("quit", "&Quit", ("Ctrl+Q",), "quit", "Close Lumen"),
    ],
    "&Edit": [
        S("copy", "&Copy description", ("Ctrl+C",), "copy_description",
          "Copy the description (or the selected part)"),
        S("paste", ""),  # the File menu's action, listed here too
        # F2: "edit this item" elsewhere too; no screen reader or desktop binds it alone (desktop/results/correction.py).
        S("correct", "Co&rrect this description…", ("F2",), "correction.open",
          "Edit the description; your correction and the picture go to your training set"),
    ],
    "&Describe": [
        S("screen", "Describe the whole &screen", (), "capture_screen", "Capture the screen under the pointer"),
        S("window", "Describe the active &window", (), "capture_window", "Capture the window that has focus"),
        S("region", "Describe a &region…", (), "capture_region",
          "Choose part of the screen with arrows or the mouse"),
        S("text", "Read the &text on screen", (), "capture_text", "Capture the screen and read its text aloud"),
        None,
        S("again", "Describe &again", ("F5",), "describe_again",
          "Describe the same picture again, at the chosen detail"),
        S("read_text", "Read te&xt in picture", ("Ctrl+T",), "read_text", "Read the text in the current picture"),
        S("objects", "&List objects", ("Ctrl+L",), "list_objects", "Count the objects in the current picture"),
        # Ctrl+Shift+A: no screen reader (NVDA, JAWS, Narrator, Orca, VoiceOver) or desktop (Windows,
        # GNOME, KDE, macOS) binds it; see README "Ask about the picture".
        S("ask", "As&k about the picture…", ("Ctrl+Shift+A",), "ask_flow.open",
          "Ask a question about the current picture"),
        None,
        # Documents (desktop/window/documents.py): Page Down / Page Up as in any reader of pages.
        S("next_page", "&Next page", ("PgDown",), "documents.next_page", "Read the next page of the document"),
        S("previous_page", "&Previous page", ("PgUp",), "documents.previous_page",
          "Read the previous page of the document"),
        S("read_on", "Read to the &end", ("Ctrl+E",), "documents.read_to_end",
          "Read the document page after page until Esc"),
        None,
        S("brief", "&Brief", ("1",), "", "Short descriptions", checkable=True),
        S("detailed", "&Detailed", ("2",), "", "Longer descriptions", checkable=True),
        S("more", "&More detailed", ("3",), "", "The longest descriptions", checkable=True),
        None,
        S("stop", "St&op", ("Esc",), "speech_commands.stop", "Stop speaking and stop describing"),
    ],
    "&Speech": [
        S("stop_speaking", "&Stop speaking", (), "speech_commands.stop_speaking", "Silence Lumen's voice"),
        S("repeat", "&Repeat", ("Ctrl+R",), "speech_commands.repeat", "Say the last result again"),
        S("speak", "Speak results with &Lumen's voice", ("Ctrl+Shift+S",), "speech_commands.toggle",
          "Turn off to leave results to your screen reader", checkable=True),
    ],
    "&View": [
        S("history", "&History", ("Ctrl+H",), "history.toggle", "Show past results"),
        None,
        S("larger", "&Larger text", ("Ctrl++", "Ctrl+="), "appearance.larger_text", "Make all text larger"),
        S("smaller", "&Smaller text", ("Ctrl+-",), "appearance.smaller_text", "Make all text smaller"),
        S("reset_text", "&Normal text size", ("Ctrl+0",), "appearance.reset_text", "Text at 150%"),
        S("contrast", "High &contrast", ("Ctrl+Shift+H",), "appearance.toggle_contrast", "White on black, yellow focus",
          checkable=True),
    ],
    "&Help": [
        S("keys", "&Keyboard shortcuts", ("F1",), "show_shortcuts", "List every command and its keys"),
        S("about", "&About Lumen", (), "show_about"),
    ],
}

DETAIL_KEYS = {"brief": "brief", "detailed": "detailed", "more": "more"}
# Capture actions take their keys from the configurable global shortcuts.
HOTKEY_ACTIONS = {"screen": "screen", "window": "window", "region": "region", "text": "text",
                  "stop_speaking": "stop"}


def _resolve(window: QMainWindow, path: str) -> Callable[..., object]:
    target: object = window
    for name in path.split("."):
        target = getattr(target, name)
    return target  # type: ignore[return-value]


def build_actions(window: QMainWindow, settings: Settings) -> dict[str, QAction]:
    """Create every action and the menu bar; returns the actions by key."""
    actions: dict[str, QAction] = {}
    detail_group = QActionGroup(window)
    for title, specs in MENUS.items():
        menu: QMenu = window.menuBar().addMenu(title)
        for spec in specs:
            if spec is None:
                menu.addSeparator()
                continue
            if spec.key in actions:  # already made in another menu
                menu.addAction(actions[spec.key])
                continue
            action = QAction(spec.text, window)
            action.setObjectName(f"action_{spec.key}")
            action.setShortcuts([QKeySequence(s) for s in spec.shortcuts])
            action.setStatusTip(spec.tip)
            action.setToolTip(spec.tip or spec.text.replace("&", ""))
            action.setCheckable(spec.checkable)
            if spec.slot:
                slot = _resolve(window, spec.slot)
                if spec.checkable:
                    action.toggled.connect(slot)
                else:
                    action.triggered.connect(lambda _=False, slot=slot: slot())
            if spec.key in DETAIL_KEYS:
                detail_group.addAction(action)
                action.triggered.connect(lambda _=False, d=spec.key: window.set_detail(d))
            menu.addAction(action)
            actions[spec.key] = action
    window.addActions(list(actions.values()))
    apply_hotkeys(actions, settings)
    return actions


def apply_hotkeys(actions: dict[str, QAction], settings: Settings) -> None:
    """Show (and bind inside the window) the configured capture shortcuts."""
    for key, hotkey in HOTKEY_ACTIONS.items():
        keys = settings.hotkeys.get(hotkey, "")
        actions[key].setShortcut(QKeySequence(keys) if keys else QKeySequence())


def shortcut_list(actions: dict[str, QAction]) -> str:
    """One line per command, "Describe the whole screen: Ctrl+Alt+D", menu by menu."""
    lines = []
    for title, specs in MENUS.items():
        lines.append(title.replace("&", "") + " menu")
        for spec in specs:
            if spec is None or not spec.text:
                continue
            action = actions[spec.key]
            keys = " or ".join(
                s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts()
            )
            lines.append(f"  {action.text().replace('&', '')}: {keys or 'no shortcut'}")
        lines.append("")
    return "\n".join(lines).strip()
