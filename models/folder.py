"""A model folder on disk: which family, which ONNX files, and its settings files.

`ModelFolder.open` is the one place that decides whether a folder can run: `check_folder`
(models/folder_check.py) builds on it, and the catalogue, the downloader and the exporter read
the family table (models/families.py) it reads. `ModelFolder.load_parts` is the one loader of
its tokenizer, picture preprocessor and ONNX sessions, which every family's adapter uses;
`loading` turns any failure while they are parsed into one ModelFolderError.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from models.errors import LumenError, ModelFolderError
from models.families import DTYPE_SUFFIX, FAMILIES, Family, family_for_model_type, family_titles
from models.families import first_present, present_files, resolve
from models.manifest import MANIFEST, Manifest, read_manifest

if TYPE_CHECKING:
    from models.preprocess import ImagePreprocessor
    from models.session import OnnxSession, PartSessions, SessionConfig
    from models.tokenizer import TextTokenizer

__all__ = ["DTYPE_SUFFIX", "INSTALL_HINT", "ModelFolder", "ModelParts", "dtypes_present",
           "image_processor_config", "loading"]
P = TypeVar("P")

INSTALL_HINT = "install one with `lumen models install` or export one with `lumen export`"


def read_json(path: Path, hint: str = "reinstall the model") -> dict[str, Any]:
    """A JSON object from `path`, or ModelFolderError naming the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ModelFolderError(f"{path.parent} is missing {path.name}; {hint}") from e
    except (OSError, ValueError) as e:
        raise ModelFolderError(f"{path} cannot be read (it is not valid JSON); {hint}") from e
    if not isinstance(data, dict):
        raise ModelFolderError(f"{path} cannot be read (it is not a JSON object); {hint}")
    return data


def image_processor_config(folder: Path) -> dict[str, Any]:
    """The image processor's settings in either saved form: preprocessor_config.json (published
    and older checkpoints) or processor_config.json's "image_processor" (transformers 5)."""
    if (folder / "preprocessor_config.json").is_file():
        return read_json(folder / "preprocessor_config.json")
    if (folder / "processor_config.json").is_file():
        nested = read_json(folder / "processor_config.json").get("image_processor")
        if not isinstance(nested, dict):
            raise ModelFolderError(
                f"{folder / 'processor_config.json'} has no image_processor settings; reinstall the model"
            )
        return nested
    raise ModelFolderError(f"{folder} is missing preprocessor_config.json or processor_config.json; "
                           "reinstall the model")


def dtypes_present(onnx_dir: Path, family: str) -> list[str]:
    """Every dtype whose complete set of ONNX files is in the folder (`onnx_dir` is the
    folder's onnx/ subfolder, or the folder itself for families stored at the top)."""
    fam = FAMILIES[family]
    root = onnx_dir.parent if fam.onnx_dir and onnx_dir.name == fam.onnx_dir else onnx_dir
    return complete_dtypes(root, fam)


def complete_dtypes(folder: Path, family: Family) -> list[str]:
    return [d for d in family.dtypes if all((folder / f).is_file() for f in family.onnx_files(d))]


def find_family(folder: Path, manifest: Manifest | None = None, wanted: str | None = None,
                hint: str = INSTALL_HINT) -> Family:
    """The folder's family: from lumen.json, else config.json's model_type, else (for families
    without config.json) the family whose graphs are all there."""
    if manifest is not None:
        found: str | None = manifest.family
    elif (folder / "config.json").is_file():
        model_type = str(read_json(folder / "config.json", hint).get("model_type", "")) or "unknown"
        fam = family_for_model_type(model_type)
        found = fam.name if fam else model_type
    else:
        found = next((f.name for f in FAMILIES.values()
                      if not f.needs_config and complete_dtypes(folder, f)), None)
        if found is None:
            raise ModelFolderError(f"{folder} is missing config.json; {hint}")
    if found not in FAMILIES:
        raise ModelFolderError(
            f"{folder} holds a {found!r} model, which Lumen cannot use; choose a "
            f"{family_titles().replace(' and ', ' or ')} model"
        )
    if wanted is not None and wanted != found:
        raise ModelFolderError(f"{folder} holds a {found} model, not {wanted}; {hint}")
    return FAMILIES[found]


def choose_dtype(folder: Path, family: Family, manifest: Manifest | None, wanted: str | None,
                 complete: list[str], hint: str = INSTALL_HINT) -> str:
    """The asked-for dtype if its files are all there; else lumen.json's, else the first complete."""
    if wanted is not None and wanted not in DTYPE_SUFFIX:
        raise ModelFolderError(f"{wanted!r} is not a dtype; choose one of {', '.join(DTYPE_SUFFIX)}")
    if manifest is not None and manifest.dtype not in DTYPE_SUFFIX:
        raise ModelFolderError(f"{folder} lists an unknown dtype {manifest.dtype!r}; {hint}")
    if wanted is not None and wanted in complete:
        return wanted
    preferred = manifest.dtype if manifest is not None else None
    if wanted is not None and preferred is not None and wanted != preferred:
        raise ModelFolderError(f"{folder} holds the {preferred} variant, not {wanted}; {hint}")
    dtype = wanted or preferred or (complete[0] if complete else None)
    if dtype is None:  # name a file of the variant that is closest to complete
        dtype = max(family.dtypes, key=lambda d: sum((folder / f).is_file() for f in family.onnx_files(d)))
    if dtype not in complete:
        missing = next(f for f in family.onnx_files(dtype) if not (folder / f).is_file())
        raise ModelFolderError(f"{folder} is missing {missing}; {hint}")
    return dtype


def image_preprocessor(folder: ModelFolder) -> ImagePreprocessor:
    """The picture preprocessor preprocessor_config.json describes (BLIP, Florence-2, CLIP)."""
    from models.preprocess import ImagePreprocessor

    return ImagePreprocessor.from_config(folder.preprocessor_config)


@dataclass(frozen=True)
class ModelFolder:
    path: Path
    family: str
    dtype: str
    config: dict[str, Any] = field(repr=False)
    generation_config: dict[str, Any] = field(repr=False)
    preprocessor_config: dict[str, Any] = field(repr=False)
    manifest: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        if self.manifest and self.manifest.get("name"):
            return str(self.manifest["name"])
        return self.path.name

    @property
    def spec(self) -> Family:
        return FAMILIES[self.family]

    def onnx_file(self, part: str) -> Path:
        spec = self.spec
        if part not in spec.parts:
            raise KeyError(f"{self.family} has no part {part!r}")
        return self.path / spec.onnx_files(self.dtype)[spec.parts.index(part)]

    def text_config(self) -> dict[str, Any]:
        """config.json's text_config (or the top level, for configs without one)."""
        text = self.config.get("text_config")
        return text if isinstance(text, dict) else self.config

    def text_setting(self, *names: str) -> Any:
        """The first of `names` that config.json's text settings hold; ModelFolderError naming
        the file when none is there (never a guessed default)."""
        text = self.text_config()
        for name in names:
            if text.get(name) is not None:
                return text[name]
        raise ModelFolderError(
            f"config.json in {self.path} has no {' or '.join(names)} for the text model; "
            "re-export or reinstall the model"
        )

    def token_id(self, name: str) -> int | None:
        """A special token id (`decoder_start_token_id`, `eos_token_id`, ...) as transformers'
        generate finds it: generation_config.json, then config.json's text settings and top level."""
        for source in (self.generation_config, self.text_config(), self.config):
            value = source.get(name)
            if value is not None:
                return value
        return None

    def load_parts(self, config: SessionConfig,
                   preprocessor: Callable[[ModelFolder], P] = image_preprocessor) -> ModelParts[P]:
        """The folder's tokenizer, its picture preprocessor (`preprocessor(self)`; by default
        the one preprocessor_config.json describes) and a session for each of the family's ONNX
        parts, in the family table's order."""
        # Imported here: listing or checking folders must not load tokenizers or ONNX Runtime.
        from models.session import open_parts
        from models.tokenizer import TextTokenizer

        tokenizer = TextTokenizer.from_folder(self.path)
        preprocess = preprocessor(self)
        sessions = open_parts({part: self.onnx_file(part) for part in self.spec.parts}, config)
        return ModelParts(tokenizer, preprocess, sessions)

    def decoder_start_id(self) -> int:
        start = self.token_id("decoder_start_token_id")
        if start is None:
            start = self.token_id("bos_token_id")
        if start is None or isinstance(start, list):
            raise ModelFolderError(
                f"neither generation_config.json nor config.json in {self.path} names the "
                "decoder_start_token_id; re-export or reinstall the model"
            )
        return int(start)

    @classmethod
    def open(cls, path: Path | str, dtype: str | None = None, *, family: str | None = None,
             hint: str = INSTALL_HINT) -> ModelFolder:
        """Check the folder is complete before anything is loaded; pick the dtype to run."""
        path = Path(path).expanduser()
        if not path.is_dir():
            raise ModelFolderError(f"model folder {path} does not exist; {hint}")
        manifest = read_manifest(path)
        spec = find_family(path, manifest, family, hint)
        _, missing = present_files(spec.required_files, lambda name: (path / name).is_file())
        if missing:
            raise ModelFolderError(f"{path} is missing {missing[0]}; {hint}")
        chosen = choose_dtype(path, spec, manifest, dtype, complete_dtypes(path, spec), hint)
        has = (lambda name: (path / name).is_file())
        opened = cls(
            path=path, family=spec.name, dtype=chosen,
            config=read_json(path / "config.json", hint) if has("config.json") else {},
            generation_config=(read_json(path / "generation_config.json", hint)
                               if has("generation_config.json") else {}),
            preprocessor_config=(image_processor_config(path)
                                 if first_present("preprocessor_config.json|processor_config.json", has)
                                 else {}),
            manifest=read_json(path / MANIFEST, hint) if has(MANIFEST) else None,
        )
        if spec.validator:
            resolve(spec.validator)(opened)
        return opened


@dataclass(frozen=True)
class ModelParts(Generic[P]):
    """What `ModelFolder.load_parts` opened: every family's tokenizer, preprocessor, sessions."""

    tokenizer: TextTokenizer
    preprocess: P
    sessions: PartSessions

    def __getitem__(self, part: str) -> OnnxSession:
        return self.sessions[part]

    @property
    def provider(self) -> str:
        return self.sessions.provider

    @property
    def warning(self) -> str | None:
        return self.sessions.warning


@contextmanager
def loading(folder: ModelFolder) -> Iterator[None]:
    """Around a model's loading: a malformed file can fail anywhere in the loaders, and the
    user gets one sentence naming the folder instead of a traceback."""
    try:
        yield
    except LumenError:
        raise
    except Exception as e:
        raise ModelFolderError(f"the model in {folder.path} cannot be loaded ({e}); reinstall it") from e
