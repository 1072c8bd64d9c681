"""Every command of the window, once: menu text, shortcut and what it does.

Menus list each action with its shortcut, the keyboard help (F1) is generated from the same
table, and buttons reuse these actions, so the three never disagree. What each action does is a
bound method the window hands to `build_actions`, checked when the window is built: a missing or
unknown one fails at start-up, not when its key is pressed.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QAbstractButton, QMainWindow, QMenu, QRadioButton

from desktop.settings import Settings
from models.results import DETAILS


@dataclass(frozen=True)
class Spec:
    key: str
    text: str
    shortcuts: tuple[str, ...] = ()
    tip: str = ""
    checkable: bool = False


S = Spec
MENUS: dict[str, list[Spec | None]] = {  # None is a separator
    "&File": [
        S("open", "&Open picture…", ("Ctrl+O",), "Choose pictures or a document (PDF) to describe"),
        S("paste", "&Paste picture", ("Ctrl+V",), "Describe the picture or file you copied"),
        # Ctrl+Shift+O: Open, with Shift for a whole folder; unused by the window (not yet checked against
        # every screen reader's key map, as Ctrl+Shift+A was).
        S("folder", "Describe a &folder…", ("Ctrl+Shift+O",),
          "Describe every picture in a folder into lumen-descriptions.jsonl there; Esc stops"),
        None,
        S("save", "&Save description as text…", ("Ctrl+S",),
          "Save the description in a text file"),
        None,
        S("settings", "Se&ttings…", ("Ctrl+,",),
          "Speech, appearance, shortcuts, startup and history"),
        S("model_setup", "Set up &model…", (), "Install or choose the description model"),
        None,
        S("quit", "&Quit", ("Ctrl+Q",), "Close Lumen"),
    ],
    "&Edit": [
        S("copy", "&Copy description", ("Ctrl+C",),
          "Copy the description (or the selected part)"),
        S("paste", ""),  # the File menu's action, listed here too
        # F2: "edit this item" elsewhere too; no screen reader or desktop binds it alone (desktop/results/correction.py).
        S("correct", "Co&rrect this description…", ("F2",),
          "Edit the description; your correction and the picture go to your training set"),
    ],
    "&Describe": [
        S("screen", "Describe the whole &screen", (), "Capture the screen under the pointer"),
        S("window", "Describe the active &window", (), "Capture the window that has focus"),
        S("region", "Describe a &region…", (),
          "Choose part of the screen with arrows or the mouse"),
        S("text", "Read the &text on screen", (), "Capture the screen and read its text aloud"),
        None,
        S("again", "Describe &again", ("F5",),
          "Describe the same picture again, at the chosen detail"),
        S("read_text", "Read te&xt in picture", ("Ctrl+T",), "Read the text in the current picture"),
        S("objects", "&List objects", ("Ctrl+L",), "Count the objects in the current picture"),
        # Ctrl+Shift+A: no screen reader (NVDA, JAWS, Narrator, Orca, VoiceOver) or desktop (Windows,
        # GNOME, KDE, macOS) binds it; see README "Ask about the picture".
        S("ask", "As&k about the picture…", ("Ctrl+Shift+A",),
          "Ask a question about the current picture"),
        None,
        # Documents (desktop/window/documents_controller.py): Page Down / Page Up as in any reader of pages.
        S("next_page", "&Next page", ("PgDown",), "Read the next page of the document"),
        S("previous_page", "&Previous page", ("PgUp",),
          "Read the previous page of the document"),
        S("read_on", "Read to the &end", ("Ctrl+E",),
          "Read the document page after page until Esc"),
        None,
        S("brief", "&Brief", ("1",), "Short descriptions", checkable=True),
        S("detailed", "&Detailed", ("2",), "Longer descriptions", checkable=True),
        S("more", "&More detailed", ("3",), "The longest descriptions", checkable=True),
        None,
        S("stop", "St&op", ("Esc",), "Stop speaking and stop describing"),
    ],
    "&Speech": [
        S("stop_speaking", "&Stop speaking", (), "Silence Lumen's voice"),
        S("repeat", "&Repeat", ("Ctrl+R",), "Say the last result again"),
        S("speak", "Speak results with &Lumen's voice", ("Ctrl+Shift+S",),
          "Turn off to leave results to your screen reader", checkable=True),
    ],
    "&View": [
        S("history", "&History", ("Ctrl+H",), "Show past results"),
        None,
        S("larger", "&Larger text", ("Ctrl++", "Ctrl+="), "Make all text larger"),
        S("smaller", "&Smaller text", ("Ctrl+-",), "Make all text smaller"),
        S("reset_text", "&Normal text size", ("Ctrl+0",), "Text at 150%"),
        S("contrast", "High &contrast", ("Ctrl+Shift+H",), "White on black, yellow focus",
          checkable=True),
    ],
    "&Help": [
        S("keys", "&Keyboard shortcuts", ("F1",), "List every command and its keys"),
        S("about", "&About Lumen", ()),
    ],
}

# Capture actions take their keys from the configurable global shortcuts.
HOTKEY_ACTIONS = {"screen": "screen", "window": "window", "region": "region", "text": "text",
                  "stop_speaking": "stop"}


def build_actions(window: QMainWindow, settings: Settings, slots: dict[str, Callable[..., object]],
                  set_detail: Callable[[str], None]) -> dict[str, QAction]:
    """Create every action and the menu bar; returns the actions by key.

    `slots` maps each action's key to what it does (a checkable one's gets its new state);
    the detail levels call `set_detail`."""
    keys = {spec.key for specs in MENUS.values() for spec in specs if spec is not None}
    missing = sorted(keys - set(DETAILS) - slots.keys())
    unknown = sorted(slots.keys() - keys)
    if missing or unknown:
        raise ValueError(f"actions without a slot: {missing}; slots without an action: {unknown}")
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
            if spec.key in DETAILS:
                detail_group.addAction(action)
                action.triggered.connect(lambda _=False, d=spec.key: set_detail(d))
            elif spec.checkable:
                action.toggled.connect(slots[spec.key])
            else:
                action.triggered.connect(lambda _=False, slot=slots[spec.key]: slot())
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


def keys_of(action: QAction) -> str:
    """The action's shortcuts as the menus show them ("Ctrl+O", "Ctrl++ or Ctrl+="), or ""."""
    return " or ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())


def name_of(action: QAction) -> str:
    return action.text().replace("&", "")


def show_keys(keyed: list[tuple[QAbstractButton, str, str]], actions: dict[str, QAction]) -> None:
    """Buttons and detail levels (button, action key, description) say their action's real keys,
    kept current when the user changes a shortcut (the action's `changed` signal)."""
    for button, key, description in keyed:
        action = actions[key]

        def show(button: QAbstractButton = button, action: QAction = action, description: str = description) -> None:
            keys = keys_of(action)
            if isinstance(button, QRadioButton):  # a detail level: "Brief (1)", named "Brief"
                button.setText(f"{name_of(action)} ({keys})" if keys else name_of(action))
                button.setAccessibleName(name_of(action))
                button.setAccessibleDescription(f"Press {keys} anywhere in the window." if keys else "")
            else:
                button.setAccessibleDescription(f"{description} ({keys})." if keys else f"{description}.")

        show()
        action.changed.connect(show)


def shortcut_list(actions: dict[str, QAction]) -> str:
    """One line per command, "Describe the whole screen: Ctrl+Alt+D", menu by menu."""
    lines = []
    for title, specs in MENUS.items():
        lines.append(title.replace("&", "") + " menu")
        for spec in specs:
            if spec is None or not spec.text:
                continue
            action = actions[spec.key]
            lines.append(f"  {name_of(action)}: {keys_of(action) or 'no shortcut'}")
        lines.append("")
    return "\n".join(lines).strip()
