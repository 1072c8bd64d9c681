"""Install argostranslate packages so that translating works offline afterwards.

    install_translation_package("translate-en_de.argosmodel")   # from a file (air-gapped)
    install_translation_package("en-de")                        # from the Argos index

A package that ships no sentence-splitter model gets its MiniSBD model during installation
(copied from a local cache, else downloaded), because argostranslate would otherwise fetch it
on first use. Without one, Lumen splits on punctuation, still offline. Nothing here imports
argostranslate. Command line (also `lumen models install-translation ...`):
`python -m services.argos_install SOURCE [--dir DIR] [--offline]`.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath
from typing import Callable

from services import translation
from services.errors import TranslationError
from services.translation import TranslationPackage, installed_packages, packages_dir

log = logging.getLogger(__name__)

DEFAULT_INDEX = "https://raw.githubusercontent.com/argosopentech/argospm-index/main/"
MINISBD_RELEASES = "https://github.com/LibreTranslate/MiniSBD/releases/download/v0.0.1/"
# argostranslate's own mapping (argostranslate.sbd.MiniSBDSentencizer) for codes MiniSBD lacks.
MINISBD_ALIASES = {"zt": "zh-hant", "zh": "zh-hans", "pb": "pt", "az": "tr", "bn": "hi",
                   "eo": "en", "ms": "en", "tl": "en"}
PAIR = re.compile(r"^([a-z]{2,3})[-_]([a-z]{2,3})$")
FETCH_TIMEOUT_S = 30

Fetch = Callable[[str, Path], None]


def fetch_url(url: str, dest: Path) -> None:
    """Download `url` to `dest` (written under a temporary name, then renamed)."""
    tmp = dest.with_name(dest.name + ".part")
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as response, open(tmp, "wb") as f:
        shutil.copyfileobj(response, f)
    os.replace(tmp, dest)


def install_translation_package(
    source: str | Path,
    directory: Path | None = None,
    *,
    fetch: Fetch = fetch_url,
    fetch_splitter: bool = True,
    index_url: str | None = None,
    splitter_url: str = MINISBD_RELEASES,
) -> TranslationPackage:
    """Install from a .argosmodel file, or from the Argos index for a pair like "en-ru".

    Replaces any installed package for the same language pair. Raises TranslationError.
    """
    root = Path(directory) if directory else packages_dir()
    root.mkdir(parents=True, exist_ok=True)
    text = str(source)
    match = PAIR.match(text.lower())
    if match and not Path(text).exists():
        with tempfile.TemporaryDirectory(dir=root, prefix=".download-") as tmp:
            archive = _download_pair(match[1], match[2], Path(tmp), fetch,
                                     index_url or _default_index())
            pkg = _install_archive(archive, root)
    else:
        path = Path(text)
        if not path.is_file():
            raise TranslationError(
                f"{path} does not exist: give a .argosmodel file or a language pair such as en-ru.")
        pkg = _install_archive(path, root)
    if fetch_splitter:
        ensure_sentence_splitter(pkg, fetch, splitter_url)
    translation.forget(root)
    return TranslationPackage.from_folder(pkg.path)


def _default_index() -> str:
    base = os.environ.get("ARGOS_PACKAGE_INDEX") or DEFAULT_INDEX
    return base.rstrip("/") + "/index.json"


def _download_pair(from_code: str, to_code: str, tmp: Path, fetch: Fetch, index_url: str) -> Path:
    index_file = tmp / "index.json"
    try:
        fetch(index_url, index_file)
        index = json.loads(index_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TranslationError(
            f"Could not read the Argos package index ({exc}): check the network connection, "
            "or install a downloaded .argosmodel file instead.") from exc
    offers = [m for m in index if isinstance(m, dict) and m.get("type", "translate") == "translate"
              and m.get("from_code") == from_code and m.get("to_code") == to_code]
    if not offers:
        hint = ("" if "en" in (from_code, to_code)
                else f" Install {from_code}-en and en-{to_code}: Lumen translates through English.")
        raise TranslationError(f"The Argos index has no {from_code}-{to_code} package.{hint}")
    offer = max(offers, key=lambda m: [int(p) if p.isdigit() else 0
                                      for p in str(m.get("package_version", "0")).split(".")])
    archive = tmp / f"translate-{from_code}_{to_code}.argosmodel"
    errors = []
    for link in offer.get("links") or []:
        try:
            fetch(link, archive)
            return archive
        except OSError as exc:
            errors.append(str(exc))
    raise TranslationError(
        f"Could not download the {from_code}-{to_code} package ({'; '.join(errors) or 'no link'}):"
        " check the network connection, or install a downloaded .argosmodel file instead.")


def _safe_members(archive: zipfile.ZipFile, name: str) -> str:
    """The package's single top-level folder; refuses paths that would leave it."""
    tops = set()
    for member in archive.namelist():
        parts = PurePosixPath(member.replace("\\", "/")).parts
        if not parts or member.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
            raise TranslationError(f"{name} contains an unsafe path ({member}): it was not installed.")
        tops.add(parts[0])
    if len(tops) != 1:
        raise TranslationError(
            f"{name} is not an Argos Translate package (expected one top folder): not installed.")
    top = tops.pop()
    if f"{top}/metadata.json" not in archive.namelist():
        raise TranslationError(f"{name} has no {top}/metadata.json: it is not an Argos package.")
    return top


def _install_archive(path: Path, root: Path) -> TranslationPackage:
    if not zipfile.is_zipfile(path):
        raise TranslationError(f"{path.name} is not an Argos Translate package (a .argosmodel zip).")
    staging = Path(tempfile.mkdtemp(dir=root, prefix=".installing-"))
    try:
        with zipfile.ZipFile(path) as archive:
            top = _safe_members(archive, path.name)
            archive.extractall(staging)
        pkg = TranslationPackage.from_folder(staging / top)
        for old in installed_packages(root):
            if (old.from_code, old.to_code) == (pkg.from_code, pkg.to_code):
                shutil.rmtree(old.path)
        final = root / top
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging / top, final)
    except (OSError, zipfile.BadZipFile) as exc:
        raise TranslationError(f"Could not install {path.name} ({exc}).") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return TranslationPackage.from_folder(final)


def minisbd_model_name(code: str) -> str | None:
    """The MiniSBD model file for a language code, or None when MiniSBD has none."""
    try:
        from minisbd.models import MODELS
    except ImportError:
        return None
    return MODELS.get(code) or MODELS.get(MINISBD_ALIASES.get(code, ""))


def _cached_minisbd(filename: str) -> Path | None:
    """A copy argostranslate or MiniSBD already downloaded, if any."""
    home = Path.home()
    data = Path(os.environ.get("XDG_DATA_HOME", home / ".local" / "share"))
    for folder in (data / "argos-translate" / "minisbd", home / ".cache" / "minisbd"):
        candidate = folder / filename
        if candidate.is_file() and candidate.stat().st_size > 0:
            return candidate
    return None


def ensure_sentence_splitter(pkg: TranslationPackage, fetch: Fetch = fetch_url,
                             base_url: str = MINISBD_RELEASES) -> str:
    """Give `pkg` a local sentence-splitter model when it ships none; returns the splitter
    kind (see TranslationPackage.splitter). Failing to fetch one is not an error."""
    if pkg.splitter != "rules":
        return pkg.splitter
    filename = minisbd_model_name(pkg.from_code)
    if filename is None:
        return pkg.splitter
    target = pkg.path / "minisbd" / filename
    target.parent.mkdir(exist_ok=True)
    cached = _cached_minisbd(filename)
    try:
        if cached is not None:
            shutil.copyfile(cached, target)
        else:
            fetch(base_url + filename, target)
    except OSError as exc:
        log.warning("no sentence-splitter model for %s (%s): splitting on punctuation",
                    pkg.from_code, exc)
        shutil.rmtree(target.parent, ignore_errors=True)
    return pkg.splitter


def run(argv: list[str] | None = None, prog: str = "python -m services.argos_install") -> None:
    """Parse `argv` and install the package it names; raises TranslationError (what
    `lumen models install-translation` runs: desktop/cli.py maps the error to its status)."""
    parser = argparse.ArgumentParser(prog=prog,
                                     description="Install an Argos Translate package for Lumen.")
    parser.add_argument("source", help="a .argosmodel file, or a language pair such as en-ru")
    parser.add_argument("--dir", type=Path, help="packages folder (default: Lumen's)")
    parser.add_argument("--offline", action="store_true",
                        help="do not download a sentence-splitter model the package lacks")
    args = parser.parse_args(argv)
    pkg = install_translation_package(args.source, args.dir, fetch_splitter=not args.offline)
    print(f"installed {pkg.from_name} -> {pkg.to_name} ({pkg.pair}, sentence splitter: "
          f"{pkg.splitter}) in {pkg.path}")


def main(argv: list[str] | None = None) -> int:
    """`python -m services.argos_install`: run(), its error as one line and its status."""
    try:
        run(argv)
    except TranslationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
