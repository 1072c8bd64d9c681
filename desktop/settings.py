"""The user's preferences, kept with QSettings (registry, plist or ini file per platform).

`LUMEN_CONFIG_DIR` puts them in an ini file inside that folder instead, so tests and portable
installs never touch the user's real settings.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from PySide6.QtCore import QSettings

from models.results import DETAILS

SPEAK_WITH = ("auto", "screen-reader", "voice", "both")  # see desktop/speech/speech_router.py
THEMES = ("system", "light", "dark", "high-contrast", "high-contrast-light")
TEXT_SCALE_MIN, TEXT_SCALE_MAX, TEXT_SCALE_STEP = 100, 300, 25

# Global shortcut actions, in menu order, with their defaults (Qt's portable key text).
# Ctrl+Alt+Shift: Ctrl+Alt+letter is taken on desktops (GNOME, Xfce and KDE: Ctrl+Alt+T opens a
# terminal; Xfce: Ctrl+Alt+D shows the desktop; NVDA: Ctrl+Alt+N starts it; JAWS and NVDA:
# Ctrl+Alt+arrows in tables), and Shift+Ctrl+Alt+R records a screencast in GNOME, hence A for
# the region (area). The checks behind these choices are listed in README.md (Keyboard).
HOTKEY_ACTIONS: dict[str, tuple[str, str]] = {
    "screen": ("Ctrl+Alt+Shift+D", "Describe the whole screen"),
    "window": ("Ctrl+Alt+Shift+W", "Describe the active window"),
    "region": ("Ctrl+Alt+Shift+A", "Describe a region of the screen"),
    "text": ("Ctrl+Alt+Shift+T", "Read the text on screen"),
    "stop": ("Ctrl+Alt+Shift+X", "Stop speaking"),
}


def default_hotkeys() -> dict[str, str]:
    return {action: keys for action, (keys, _) in HOTKEY_ACTIONS.items()}


@dataclass
class Settings:
    """Every preference, with its default. Unknown or malformed stored values fall back."""

    detail: str = "brief"
    speak: bool = True
    speak_with: str = "auto"
    voice: str = ""
    translate_to: str = ""
    earcons: bool = False
    history: bool = False
    theme: str = "system"
    text_scale: int = 150
    start_minimised: bool = False
    start_at_login: bool = False
    close_to_tray: bool = False
    global_hotkeys: bool = True
    hotkeys: dict[str, str] = field(default_factory=default_hotkeys)

    def normalised(self) -> Settings:
        """A copy with every value inside its allowed range."""
        s = Settings(**{f.name: getattr(self, f.name) for f in fields(self)})
        if s.detail not in DETAILS:
            s.detail = "brief"
        if s.speak_with not in SPEAK_WITH:
            s.speak_with = "auto"
        if s.theme not in THEMES:
            s.theme = "system"
        step = TEXT_SCALE_STEP
        s.text_scale = min(TEXT_SCALE_MAX, max(TEXT_SCALE_MIN, round(s.text_scale / step) * step))
        s.hotkeys = {**default_hotkeys(), **{k: v for k, v in s.hotkeys.items() if k in HOTKEY_ACTIONS}}
        return s


def open_qsettings() -> QSettings:
    folder = os.environ.get("LUMEN_CONFIG_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        return QSettings(str(Path(folder) / "lumen.ini"), QSettings.Format.IniFormat)
    return QSettings("Lumen", "Lumen")


def _to_bool(value: object, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return default


def load_settings(store: QSettings | None = None) -> Settings:
    store = store or open_qsettings()
    defaults = Settings()
    values: dict[str, object] = {}
    for f in fields(Settings):
        if f.name == "hotkeys":
            continue
        default = getattr(defaults, f.name)
        raw = store.value(f.name, default)
        if isinstance(default, bool):
            values[f.name] = _to_bool(raw, default)
        elif isinstance(default, int):
            try:
                values[f.name] = int(raw)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                values[f.name] = default
        else:
            values[f.name] = str(raw) if raw is not None else default
    hotkeys = {}
    for action, keys in default_hotkeys().items():
        hotkeys[action] = str(store.value(f"hotkeys/{action}", keys) or "")
    return Settings(**values, hotkeys=hotkeys).normalised()  # type: ignore[arg-type]


def save_settings(settings: Settings, store: QSettings | None = None) -> None:
    store = store or open_qsettings()
    for f in fields(Settings):
        value = getattr(settings, f.name)
        if f.name == "hotkeys":
            for action, keys in value.items():
                store.setValue(f"hotkeys/{action}", keys)
        else:
            store.setValue(f.name, value)
    store.sync()
