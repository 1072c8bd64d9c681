"""Which installed models `lumen serve` runs: flags first, then the seed service's environment
variables, then the installed defaults.

The first seed service was configured with `caption_model_name` (default `blip_caption`),
`caption_model_type_name` (`base_coco` or `large_coco`) and `total_captions_number`; those names
are mapped to Lumen's installed models, and a name that is not installed stops the server at
start with a message that says how to install it.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from models.errors import INSTALL_A_MODEL, ModelFolderError, UsageError

ENV_NAME, ENV_TYPE, ENV_TOTAL = "caption_model_name", "caption_model_type_name", "total_captions_number"
DEFAULT_CAPTIONS = 3
MAX_CAPTIONS = 21  # 1 beam caption + DescribeOptions' 20 sampled alternatives
# (caption_model_name, caption_model_type_name) -> Lumen catalogue name and where it comes from.
SEED_MODELS = {
    ("blip_caption", "base_coco"): ("blip-base", "Salesforce/blip-image-captioning-base"),
    ("blip_caption", "large_coco"): ("blip-large", "Salesforce/blip-image-captioning-large"),
}


@dataclass(frozen=True)
class ServeModels:
    caption: Path
    tags: Path | None  # None: no CLIP installed; answers carry empty tags
    captions: int  # total sentences: 1 beam caption + captions - 1 sampled
    ask: Path | None = None  # SmolVLM for POST /ask; None: that route answers 501


def total_captions(flag: int | None, env: Mapping[str, str]) -> int:
    if flag is not None:
        return flag
    raw = env.get(ENV_TOTAL)
    if raw is None or not raw.strip():
        return DEFAULT_CAPTIONS
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"{ENV_TOTAL}={raw!r} is not a whole number; set it to 1-{MAX_CAPTIONS}") from None
    if not 1 <= value <= MAX_CAPTIONS:
        raise UsageError(f"{ENV_TOTAL}={value} is out of range; set it to 1-{MAX_CAPTIONS}")
    return value


def _registry():
    from models.registry import Registry

    return Registry()


def _installed_of(base: str, family: str | None = None) -> list:
    """Installed models called `base` or `base-<dtype>` (how `lumen models install` names them)."""
    return [m for m in _registry().installed()
            if (m.name == base or m.name.startswith(f"{base}-")) and m.problem is None
            and (family is None or m.family == family)]


def caption_model_from_env(env: Mapping[str, str]) -> Path | None:
    """The folder the seed variables name, or None when they are not set."""
    name, kind = env.get(ENV_NAME, "").strip(), env.get(ENV_TYPE, "").strip()
    if not name and not kind:
        return None
    name = name or "blip_caption"
    if (name, kind or "base_coco") in SEED_MODELS:
        base, source = SEED_MODELS[(name, kind or "base_coco")]
        found = _installed_of(base, "blip")
        if not found:
            raise ModelFolderError(
                f"{ENV_NAME}={name} {ENV_TYPE}={kind or 'base_coco'} means Lumen's {base}, which is not "
                f"installed; install it with `lumen models install {base} --export` "
                f"(or `lumen export {source} DIR` and pass --model DIR)")
        return found[0].path
    if name == "blip_caption":
        raise UsageError(f"{ENV_TYPE}={kind!r} is not one Lumen knows; use base_coco or large_coco")
    registry = _registry()
    if not registry.exists(name):
        raise UsageError(f"{ENV_NAME}={name!r} is not an installed model; see `lumen models list`")
    return registry.path_of(name)


def default_caption_model() -> Path | None:
    """The default installed model when it describes; else the first installed describer."""
    registry = _registry()
    models = [m for m in registry.installed() if m.problem is None and m.family != "clip"]
    default = registry.default_name()
    chosen = next((m for m in models if m.name == default), models[0] if models else None)
    return chosen.path if chosen else None


def choose(model: str | None, tags_model: str | None, captions: int | None,
           env: Mapping[str, str] | None = None, ask_model: str | None = None) -> ServeModels:
    """Raises ModelFolderError (exit status 3) with what to install when a model is missing, and
    UsageError (2) for a seed variable whose value cannot be used."""
    env = os.environ if env is None else env
    total = total_captions(captions, env)
    folder = Path(model) if model else caption_model_from_env(env) or default_caption_model()
    if folder is None:
        raise ModelFolderError(f"no description model is installed; {INSTALL_A_MODEL} or pass --model DIR")
    from models.clip import installed_clip

    tags = Path(tags_model) if tags_model else installed_clip()
    if ask_model:
        ask: Path | None = Path(ask_model)
    else:
        from models.asker import installed_ask_model

        ask = installed_ask_model()
    return ServeModels(folder, tags, total, ask)


def learning_model(named: str | None, training_dir: Path) -> tuple[Path | None, bool]:
    """The model POST /learning-model answers with at start, and whether it was trained here:
    the one `--learning-model` names (a folder or an installed name), else the newest installed
    model trained from `training_dir` (origin.json, written by `lumen train`), else None (the
    route answers as POST / does until a model is trained)."""
    import json

    registry = _registry()
    if named:
        if Path(named).expanduser().is_dir():
            return Path(named).expanduser(), False
        if not registry.exists(named):
            raise UsageError(f"--learning-model {named!r} is neither a model folder nor an installed model")
        return registry.path_of(named), False
    wanted = str(Path(training_dir).resolve())
    trained = []
    for m in registry.installed():
        try:
            origin = json.loads((m.path / "origin.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if m.problem is None and isinstance(origin, dict) and origin.get("data") == wanted:
            trained.append((str(origin.get("created", "")), m.path))
    return (max(trained)[1], True) if trained else (None, False)
