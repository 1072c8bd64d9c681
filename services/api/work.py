"""What the engine worker does for each route: decode the picture, describe it, score keywords,
store a training pair. Runs only on the worker thread (services/api/engine.py)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from models.errors import ModelFolderError
from models.image_io import load_image
from models.keywords import tag_fields
from models.results import DescribeOptions
from services.api.engine import StopCheck
from services.api.model_choice import ServeModels
from services.api.payload import MAX_PIXELS


@dataclass
class Loaded:
    captioner: Any  # models.captioner.Captioner
    clip: Any | None  # models.clip.Clip
    captions: int
    warning: str | None  # said once at start: why tags are empty
    ask_folder: Path | None = None
    device: str = "auto"
    threads: int | None = None
    asker: Any = None  # models.asker.Asker, loaded on the first POST /ask


def load(choice: ServeModels, device: str = "auto", threads: int | None = None) -> Loaded:
    from models.captioner import Captioner
    from models.folder import ModelFolder

    if ModelFolder.open(choice.caption).family == "clip":
        raise ModelFolderError(f"{choice.caption} is a CLIP model, which gives keywords, not descriptions; "
                               "pass it as --tags-model and a description model as --model")
    captioner = Captioner.load(choice.caption, device=device, threads=threads)
    clip, warning = None, None
    if choice.tags is not None:
        from models.clip import Clip

        clip = Clip.load(choice.tags, device=device, threads=threads)
    else:
        warning = ("no CLIP model is installed, so answers carry no tags; install one with "
                   "`lumen models install clip-vit-base-patch32` or pass --tags-model DIR")
    return Loaded(captioner, clip, choice.captions, warning, choice.ask, device, threads)


def picture(data: bytes) -> Image.Image:
    """Bytes from a request -> RGB picture, or ImageError (answered 400)."""
    return load_image(data, max_pixels=MAX_PIXELS)


def seed_answer(models: Loaded, data: bytes, stop: StopCheck) -> dict[str, Any]:
    """The seed services' JSON: tags, the best caption, every English sentence; plus Lumen's
    confidence, uncertain and model."""
    image = picture(data)
    options = DescribeOptions(alternatives=models.captions - 1)
    caption = models.captioner.describe(image, options, should_stop=stop)
    fields = tag_fields(models.clip, image, [caption.caption, *caption.alternatives])
    return {
        "tags": fields["tags"], "captions": [caption.caption], "english_captions": fields["english_captions"],
        "confidence": round(caption.confidence, 4), "uncertain": caption.uncertain, "model": caption.model,
    }


def describe_answer(models: Loaded, data: bytes, options: DescribeOptions, lang: str | None,
                    tags: bool, stop: StopCheck) -> dict[str, Any]:
    """`lumen describe --json`'s object for one picture (its "image" is "request")."""
    image = picture(data)
    caption = models.captioner.describe(image, options, should_stop=stop)
    answer = caption.to_json("request")
    if tags:
        answer.update(tag_fields(models.clip, image, [caption.caption, *caption.alternatives]))
    if lang and lang != "en":
        from services.translation import translate

        answer.update(language=lang, text=translate(caption.caption, lang))
    return answer


def store_pair(root: Path | None, data: bytes, text: str) -> dict[str, Any]:
    """Add a picture + caption to the local training set; returns its size."""
    from services.training_set import TrainingSet

    picture(data)  # refuse pictures over the server's limit before the set decodes it again
    training = TrainingSet(root)
    example = training.add(data, text, source="api")
    return {"stored": example.file_name, "size": len(training)}


NO_ASK_MODEL = "no question-answering (SmolVLM) model is installed"


def ask_answer(models: Loaded, data: bytes, question: str, max_tokens: int | None, seed: int | None,
               stop: StopCheck) -> dict[str, Any]:
    """`lumen ask --json`'s object for one question (its "image" is "request")."""
    from models.asker import Asker

    image = picture(data)
    if models.asker is None:  # loaded on first use: most servers are never asked a question
        models.asker = Asker.load(models.ask_folder, models.device, threads=models.threads)
    answer = models.asker.conversation(image).ask(question, max_tokens=max_tokens, seed=seed, should_stop=stop)
    return answer.to_json("request")
