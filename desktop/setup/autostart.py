"""Start Lumen at login: an XDG autostart entry (Linux), a Run key (Windows), a LaunchAgent (macOS)."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

APP_ID = "org.lumen.Lumen"


def launch_command() -> list[str]:
    """How to start this Lumen: the `lumen` script beside this Python, else `python -m`."""
    script = Path(sys.executable).with_name("lumen.exe" if sys.platform == "win32" else "lumen")
    if script.is_file():
        return [str(script)]
    found = shutil.which("lumen")
    return [found] if found else [sys.executable, "-m", "desktop.cli"]


def _xdg_entry() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "autostart" / "lumen.desktop"


def _launch_agent() -> Path:
    return Path.home() / "Library" / "LaunchAgents" / f"{APP_ID}.plist"


def is_enabled() -> bool:
    if sys.platform == "win32":
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, _RUN_KEY) as key:
                winreg.QueryValueEx(key, "Lumen")
            return True
        except OSError:
            return False
    return (_launch_agent() if sys.platform == "darwin" else _xdg_entry()).is_file()


_RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"


def set_enabled(enabled: bool) -> None:
    """Add or remove the login entry; raises OSError when the system refuses."""
    cmd = launch_command()
    if sys.platform == "win32":
        import subprocess
        import winreg

        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, _RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
            if enabled:
                winreg.SetValueEx(key, "Lumen", 0, winreg.REG_SZ, subprocess.list2cmdline(cmd))
            else:
                try:
                    winreg.DeleteValue(key, "Lumen")
                except FileNotFoundError:
                    pass
        return
    path = _launch_agent() if sys.platform == "darwin" else _xdg_entry()
    if not enabled:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if sys.platform == "darwin":
        args = "".join(f"<string>{_xml(a)}</string>" for a in cmd)
        path.write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" '
            '"http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
            f'<plist version="1.0"><dict><key>Label</key><string>{APP_ID}</string>'
            f"<key>ProgramArguments</key><array>{args}</array>"
            "<key>RunAtLoad</key><true/></dict></plist>\n",
            encoding="utf-8",
        )
    else:
        path.write_text(
            "[Desktop Entry]\nType=Application\nName=Lumen\n"
            "Comment=Describes images aloud, offline\n"
            f"Exec={' '.join(_exec_quote(a) for a in cmd)}\n"
            "Terminal=false\nX-GNOME-Autostart-enabled=true\n",
            encoding="utf-8",
        )


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _exec_quote(arg: str) -> str:
    """Quoting per the Desktop Entry spec: double quotes, with " ` $ \\ escaped."""
    if arg and not any(c in arg for c in ' \t\n"\'\\><~|&;$*?#()`'):
        return arg
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return f'"{escaped}"'
