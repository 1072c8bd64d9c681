"""Run Lumen as a machine without some optional packages would: a sitecustomize.py on
PYTHONPATH makes `importlib.util.find_spec(name)` answer None and `import name` fail with
ModuleNotFoundError for the top-level packages named in LUMEN_TEST_HIDE (comma-separated).
What a missing extra gives, without a second environment."""
from __future__ import annotations

from pathlib import Path

SITECUSTOMIZE = '''
import importlib.abc, importlib.util, os, sys

_HIDDEN = {n for n in os.environ.get("LUMEN_TEST_HIDE", "").split(",") if n}


class _Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in _HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _Hide())
_real_find_spec = importlib.util.find_spec


def _find_spec(name, package=None):
    if name.split(".")[0] in _HIDDEN:
        return None
    return _real_find_spec(name, package)


importlib.util.find_spec = _find_spec
'''


def hiding_site_dir(tmp: Path) -> Path:
    """A folder to put first on PYTHONPATH; set LUMEN_TEST_HIDE to the packages to hide."""
    folder = tmp / "hide-packages-site"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return folder
