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
from services.api.learning import Learning
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
    first: Any = None  # models.text_first.TextFirst (PP-OCR), opened on the first document or auto


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


def seed_answer(models: Loaded, data: bytes, stop: StopCheck, captioner: Any = None) -> dict[str, Any]:
    """The seed services' JSON: tags, the best caption, every English sentence; plus Lumen's
    confidence, uncertain and model. `captioner`: another than the server's own."""
    image = picture(data)
    options = DescribeOptions(alternatives=models.captions - 1)
    caption = (captioner or models.captioner).describe(image, options, should_stop=stop)
    fields = tag_fields(models.clip, image, [caption.caption, *caption.alternatives])
    return {
        "tags": fields["tags"], "captions": [caption.caption], "english_captions": fields["english_captions"],
        "confidence": round(caption.confidence, 4), "uncertain": caption.uncertain, "model": caption.model,
    }


def learning_answer(models: Loaded, learning: Learning, data: bytes, stop: StopCheck) -> dict[str, Any]:
    """POST /learning-model: the seed answer from the newest model trained here (or the one named
    by --learning-model), else from the server's own; "learning_model" says which."""
    from models.captioner import Captioner

    captioner = learning.loaded(lambda folder: Captioner.load(folder, device=models.device, threads=models.threads))
    status = learning.status()
    answer = seed_answer(models, data, stop, captioner)
    answer["learning_model"] = {"path": status.model if captioner else None, "trained_here": status.trained_here,
                                "same_as_post_root": captioner is None}
    return answer


# A request's document is read while its client waits: more pages than this are asked for in parts.
MAX_DOCUMENT_PAGES = 100


def _first(models: Loaded):  # noqa: ANN202 - TextFirst
    from models.captioner import default_cache_dir
    from models.session import SessionConfig
    from models.text_first import TextFirst

    if models.first is None:
        models.first = TextFirst(SessionConfig(models.device, models.threads, default_cache_dir()))
    return models.first


def describe_answer(models: Loaded, data: bytes, options: DescribeOptions, lang: str | None,
                    tags: bool, stop: StopCheck) -> dict[str, Any]:
    """`lumen describe --json`'s object for one picture (its "image" is "request")."""
    image = picture(data)
    if options.task == "auto":
        caption = _first(models).describe(image, options, models.captioner, should_stop=stop)
    else:
        caption = models.captioner.describe(image, options, should_stop=stop)
    answer = caption.to_json("request")
    if tags:
        answer.update(tag_fields(models.clip, image, [caption.caption, *caption.alternatives]))
    if lang and lang != "en":
        answer.update(_in_language(caption.caption, caption.task, lang))
    return answer


def _in_language(caption: str, task: str, lang: str) -> dict[str, str]:
    """"language" and "text" as `lumen describe --lang` gives them: text read stays as read."""
    from services.translation import translate_result

    text, language = translate_result(caption, task, lang)
    return {"language": language, "text": text}


def document_answer(models: Loaded, data: bytes, options: DescribeOptions, pages: str | None,
                    password: str | None, lang: str | None, stop: StopCheck) -> dict[str, Any]:
    """{"pages": [`lumen describe --json`'s object for each page, in page order]} for a PDF or
    a multi-page TIFF (each "image" is "request"); raises DocumentError (answered 400)."""
    from models.documents import Document, PageReader
    from models.errors import CancelledError, DocumentError

    with Document(data, password=password) as document:
        numbers = document.select(pages)
        if len(numbers) > MAX_DOCUMENT_PAGES:
            raise DocumentError(f"The document has {document.pages} pages and {len(numbers)} were asked for: "
                                f"ask for at most {MAX_DOCUMENT_PAGES} at a time, e.g. pages 1-{MAX_DOCUMENT_PAGES}.")
        reader = PageReader(_first(models), models.captioner)
        answers = []
        for number in numbers:
            if stop():
                raise CancelledError("the client went away")
            result = reader.read(document.page(number), options, should_stop=stop)
            answer = result.to_json("request")
            if lang and lang != "en":
                answer.update(_in_language(result.caption.caption, result.caption.task, lang))
            answers.append(answer)
    return {"pages": answers}


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
