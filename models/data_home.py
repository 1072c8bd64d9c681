"""Lumen's one per-user data folder (models, history, translation, training set).

Earlier versions kept models under the lowercase `lumen` folder and everything else under
`Lumen` (two folders on Linux, e.g. ~/.local/share/lumen and ~/.local/share/Lumen). The first
call moves what the old folder holds into the new one, entry by entry, never overwriting: an
entry present in both stays where it is (and is logged), so nothing is lost.
"""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

APP_NAME = "Lumen"
OLD_NAME = "lumen"
_migrated: set[Path] = set()


def _merge(old: Path, new: Path) -> None:
    new.mkdir(parents=True, exist_ok=True)
    for entry in sorted(old.iterdir()):
        target = new / entry.name
        if not target.exists():
            shutil.move(str(entry), str(target))
        elif entry.is_dir() and target.is_dir():
            _merge(entry, target)
        else:
            log.warning("kept %s: %s already exists", entry, target)
    try:
        old.rmdir()  # only when everything moved
    except OSError:
        pass


def migrate(old: Path, new: Path) -> None:
    """Move old's contents into new (see the module's docstring); safe to call again."""
    if not old.is_dir():
        return
    if new.exists() and os.path.samefile(old, new):  # case-insensitive file systems
        return
    try:
        _merge(old, new)
    except OSError as e:  # a read-only or busy folder must not stop the app
        log.warning("could not move %s to %s: %s", old, new, e)


def user_data_root() -> Path:
    import platformdirs

    root = platformdirs.user_data_path(APP_NAME, appauthor=False)
    if root not in _migrated:
        _migrated.add(root)
        migrate(platformdirs.user_data_path(OLD_NAME, appauthor=False), root)
    return root
