"""Offline translation of descriptions with argostranslate, imported only when translating.

    installed_languages()                 # [Language("de", "German"), ...]: English -> these
    translate("A dog on a sofa.", "de")   # offline; "fr" -> "de" pivots through English

Listing packages reads their metadata.json files only: importing argostranslate costs seconds
and hundreds of MB (it pulls stanza, spaCy and torch), so the window and `lumen describe`
without `--lang` never do it. Packages live in `packages_dir()`; `services.argos_install`
installs them. Sentence splitting is chosen by Lumen from what each package ships
(`services.sentence_split`), so translating never downloads anything.
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.errors import MissingExtraError
from services.errors import TranslationError

ENGLISH = "en"
PACKAGES_ENV = "ARGOS_PACKAGES_DIR"  # argostranslate's own variable, honoured here too


@dataclass(frozen=True)
class Language:
    code: str
    name: str


@dataclass(frozen=True)
class TranslationPackage:
    """An installed package folder: metadata.json, model/ (CTranslate2), a tokenizer."""

    path: Path
    from_code: str
    from_name: str
    to_code: str
    to_name: str
    version: str = ""

    @property
    def pair(self) -> str:
        return f"{self.from_code}-{self.to_code}"

    @property
    def splitter(self) -> str:
        """How sentences are split: "minisbd" (ONNX model in the package), "stanza" (the
        package's Stanza model, loaded offline) or "rules" (punctuation)."""
        sbd = self.path / "minisbd"
        if sbd.is_dir() and any(p.suffix == ".onnx" for p in sbd.iterdir()):
            return "minisbd"
        if (self.path / "stanza" / "resources.json").is_file():
            return "stanza"
        return "rules"

    @classmethod
    def from_folder(cls, path: Path) -> TranslationPackage:
        """Read and check a package folder; raises TranslationError naming what is missing."""
        meta_file = path / "metadata.json"
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TranslationError(
                f"{path.name} is not a translation package ({meta_file.name} is missing or "
                "broken): reinstall it."
            ) from exc
        if not isinstance(meta, dict) or meta.get("type", "translate") != "translate":
            raise TranslationError(f"{path.name} is not a translation package: reinstall it.")
        if not meta.get("from_code") or not meta.get("to_code"):
            raise TranslationError(
                f"{meta_file} names no from_code/to_code: reinstall the package.")
        if not (path / "model" / "model.bin").is_file():
            raise TranslationError(f"{path.name} has no model/model.bin: reinstall the package.")
        if not ((path / "sentencepiece.model").is_file() or (path / "bpe.model").is_file()):
            raise TranslationError(f"{path.name} has no tokenizer model: reinstall the package.")
        return cls(
            path=path,
            from_code=str(meta["from_code"]),
            from_name=str(meta.get("from_name") or meta["from_code"]),
            to_code=str(meta["to_code"]),
            to_name=str(meta.get("to_name") or meta["to_code"]),
            version=str(meta.get("package_version", "")),
        )


def packages_dir() -> Path:
    """Where packages are installed: $ARGOS_PACKAGES_DIR, else Lumen's data folder."""
    override = os.environ.get(PACKAGES_ENV)
    if override:
        return Path(override)
    data = os.environ.get("LUMEN_DATA_DIR")
    if data:
        return Path(data) / "translation"
    from platformdirs import user_data_dir

    return Path(user_data_dir("Lumen", appauthor=False)) / "translation"


def _version_key(pkg: TranslationPackage) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in pkg.version.replace("_", ".").split("."))


def installed_packages(directory: Path | None = None) -> list[TranslationPackage]:
    """Valid packages in `directory`; for a pair installed twice, the newest version only."""
    root = Path(directory) if directory else packages_dir()
    if not root.is_dir():
        return []
    best: dict[tuple[str, str], TranslationPackage] = {}
    for folder in sorted(root.iterdir()):
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        try:
            pkg = TranslationPackage.from_folder(folder)
        except TranslationError:
            continue  # half-installed or foreign folders are ignored, not fatal
        key = (pkg.from_code, pkg.to_code)
        if key not in best or _version_key(pkg) > _version_key(best[key]):
            best[key] = pkg
    return list(best.values())


def installed_languages(directory: Path | None = None) -> list[Language]:
    """Languages English descriptions can be translated into, sorted by name."""
    found = {p.to_code: Language(p.to_code, p.to_name)
             for p in installed_packages(directory) if p.from_code == ENGLISH}
    return sorted(found.values(), key=lambda lang: lang.name.lower())


def translation_route(to_code: str, from_code: str = ENGLISH,
                      directory: Path | None = None) -> list[TranslationPackage]:
    """The packages that take `from_code` to `to_code`: direct, else through English."""
    if to_code == from_code:
        return []
    by_pair = {(p.from_code, p.to_code): p for p in installed_packages(directory)}
    if (from_code, to_code) in by_pair:
        return [by_pair[from_code, to_code]]
    first, second = by_pair.get((from_code, ENGLISH)), by_pair.get((ENGLISH, to_code))
    if ENGLISH not in (from_code, to_code) and first and second:
        return [first, second]
    if ENGLISH in (from_code, to_code):
        missing = [f"{from_code}-{to_code}"]
    else:
        missing = [pair for pair, have in ((f"{from_code}-{ENGLISH}", first),
                                           (f"{ENGLISH}-{to_code}", second)) if not have]
    raise TranslationError(
        f"No translation from {from_code} to {to_code} is installed: install it with "
        + " and ".join(f"`lumen models install-translation {pair}`" for pair in missing) + ".")


def _import_argos() -> tuple[Any, Any]:
    """argostranslate's package and translate modules, set up never to fetch anything."""
    try:
        from argostranslate import settings
    except ImportError as exc:
        raise MissingExtraError("Translation needs argostranslate", "translate") from exc
    except OSError as exc:  # it creates folders in the home directory on import
        raise TranslationError(f"argostranslate could not start ({exc}).") from exc
    # Lumen picks each package's sentence splitter itself and never uses a remote provider:
    # these settings keep argostranslate from fetching a spaCy model at import time.
    settings.chunk_type = settings.ChunkType.ARGOSTRANSLATE
    settings.model_provider = settings.ModelProvider.OPENNMT
    from argostranslate import package, translate

    return package, translate


class Translator:
    """Translates with the packages in one folder. Thread-safe; loads models on first use."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory else packages_dir()
        self._lock = threading.Lock()
        self._loaded: dict[Path, Any] = {}

    def languages(self) -> list[Language]:
        return installed_languages(self.directory)

    def translate(self, text: str, to_code: str, from_code: str = ENGLISH) -> str:
        """`text` in `to_code`; line breaks are kept. Raises TranslationError."""
        route = translation_route(to_code, from_code, self.directory)
        if not route or not text.strip():
            return text
        with self._lock:
            steps = [self._load(pkg) for pkg in route]
            lines = text.split("\n")
            for step in steps:
                lines = [self._run(step, line) if line.strip() else line for line in lines]
        return "\n".join(lines)

    def _run(self, step: Any, line: str) -> str:
        try:
            return str(step.translate(line))
        except Exception as exc:  # CTranslate2, sentencepiece or splitter failures
            raise TranslationError(
                f"Translating with {step} failed ({exc}): reinstall the package.") from exc

    def _load(self, pkg: TranslationPackage) -> Any:
        if pkg.path not in self._loaded:
            package, translate = _import_argos()
            from services.sentence_split import sentencizer_for

            try:
                argos_pkg = package.Package(pkg.path)
                translation = translate.PackageTranslation(
                    translate.Language(pkg.from_code, pkg.from_name),
                    translate.Language(pkg.to_code, pkg.to_name), argos_pkg)
            except Exception as exc:
                raise TranslationError(
                    f"The {pkg.pair} package cannot be loaded ({exc}): reinstall it.") from exc
            translation.sentencizer = sentencizer_for(argos_pkg, pkg.splitter)
            self._loaded[pkg.path] = translation
        return self._loaded[pkg.path]


_translators: dict[Path, Translator] = {}
_translators_lock = threading.Lock()


def translator(directory: Path | None = None) -> Translator:
    """The shared Translator for a folder (default: `packages_dir()`)."""
    key = Path(directory) if directory else packages_dir()
    with _translators_lock:
        if key not in _translators:
            _translators[key] = Translator(key)
        return _translators[key]


def forget(directory: Path | None = None) -> None:
    """Drop loaded models for a folder, after packages there were installed or removed."""
    key = Path(directory) if directory else packages_dir()
    with _translators_lock:
        _translators.pop(key, None)


def translate(text: str, to_code: str, from_code: str = ENGLISH) -> str:
    """Translate with the packages in `packages_dir()`. Raises TranslationError."""
    return translator().translate(text, to_code, from_code)


def translate_result(caption: str, task: str, lang: str) -> tuple[str, str]:
    """(text, language) of a result asked for in `lang` (`--lang`): a description is
    translated; text read from the picture (task "ocr") is kept as read, in its own language."""
    if task == "ocr":
        return caption, lang
    return translate(caption, lang), lang
