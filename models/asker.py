"""`Asker`: questions about a picture answered by a SmolVLM folder (no Qt, no torch).

    asker = Asker.load(folder)
    chat = asker.conversation("photo.jpg")
    chat.ask("What colour is the car?").answer
    chat.ask("Is anyone in it?")  # earlier turns are in the prompt; the picture is not re-encoded

The picture's encoding and the conversation's key/value cache are kept in the shared
`PictureCache`, so a later question on the same picture (a new conversation included) never
runs the vision encoder again while the picture is cached.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from PIL import Image

from models.captioner import default_cache_dir
from models.causal_decoder import KVState
from models.folder import ModelFolder, loading
from models.generation import GenerationSettings, generate
from models.image_io import load_image
from models.picture_cache import PictureCache, picture_key, shared_cache
from models.session import SessionConfig
from models.smolvlm import EncodedPicture, SmolVLM

DEFAULT_ANSWER_TOKENS = 128  # when generation_config.json sets no length
ASK_MODEL = "smolvlm-256m-instruct"  # what the hints offer to install
ASK_DTYPE = "int8"


def install_hint() -> str:
    """How to get a question-answering model, with its download size."""
    from models.catalogue import find
    from models.fsutil import human_size

    size = human_size(find(ASK_MODEL).approx_bytes(ASK_DTYPE))
    return f"install one with `lumen models install {ASK_MODEL} --dtype {ASK_DTYPE}` (about {size})"


def installed_ask_model(root: Path | None = None) -> Path | None:
    """The installed SmolVLM folder: the default model when it is one, else the first whole one."""
    from models.registry import Registry

    registry = Registry(root)
    usable = [m for m in registry.installed() if m.family == "smolvlm" and m.problem is None]
    usable.sort(key=lambda m: not m.is_default)
    return usable[0].path if usable else None


@dataclass
class Answer:
    """One question's result; `to_json` is the `lumen ask --json` object (a contract)."""

    question: str
    answer: str
    token_ids: list[int]
    confidence: float
    model: str = ""
    provider: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_json(self, image: str) -> dict[str, Any]:
        data = asdict(self)
        data["confidence"] = round(self.confidence, 4)
        data["timings_ms"] = {k: round(v, 1) for k, v in self.timings_ms.items()}
        return {"image": image, **data}


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0


class Asker:
    """One loaded SmolVLM. Not thread-safe: keep it on one worker."""

    def __init__(self, folder: ModelFolder, model: SmolVLM, load_ms: float, one_tile: bool,
                 cache: PictureCache) -> None:
        self.folder, self.model, self.load_ms, self.one_tile, self.cache = folder, model, load_ms, one_tile, cache

    @classmethod
    def load(cls, folder: Path | str, device: str = "auto", *, dtype: str | None = None,
             threads: int | None = None, cache_dir: Path | None = None, one_tile: bool = False,
             cache: PictureCache | None = None, spin: bool = True) -> Asker:
        t = time.perf_counter()
        opened = ModelFolder.open(folder, dtype, family="smolvlm", hint=install_hint())
        with loading(opened):
            model = SmolVLM(opened, SessionConfig(device, threads, cache_dir or default_cache_dir(), spin))
        return cls(opened, model, _ms(t), one_tile, cache or shared_cache())

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def provider(self) -> str:
        return self.model.provider

    @property
    def model_id(self) -> str:
        return f"{self.folder.path}|{self.folder.dtype}|{'one tile' if self.one_tile else 'tiles'}"

    def features_key(self, picture: str) -> tuple:
        """The picture's encoding in the shared cache: the key Captioner uses for the same
        folder, so describing with SmolVLM and then asking encodes the picture once."""
        what = "image_features one tile" if self.one_tile else "image_features"
        return (picture, str(self.folder.path), self.folder.dtype, what)

    def conversation(self, image: str | Path | bytes | Image.Image) -> Conversation:
        timings: dict[str, float] = {}
        t = time.perf_counter()
        rgb = load_image(image)
        key = picture_key(rgb)
        picture = self.model.picture(rgb, self.one_tile)
        timings["preprocess"] = _ms(t)
        t = time.perf_counter()
        encoded, cached = self.cache.get_or_compute(self.features_key(key), lambda: self.model.encode(picture),
                                                    lambda e: e.nbytes)
        timings["vision"] = 0.0 if cached else _ms(t)
        return Conversation(self, key, encoded, timings)

    def settings(self, max_tokens: int | None, seed: int | None) -> GenerationSettings:
        gen = self.folder.generation_config
        length = max_tokens
        if length is None and gen.get("max_new_tokens") is None:
            length = DEFAULT_ANSWER_TOKENS
        settings = GenerationSettings.from_config(gen, self.folder.config, max_new_tokens=length)
        # A seed asks for a sampled answer; the folder's temperature/top-k/top-p still apply.
        return settings.replace(do_sample=True if seed is not None else None, num_beams=1, num_return_sequences=1)


class Conversation:
    """Questions and answers about one picture, in order."""

    def __init__(self, asker: Asker, key: str, encoded: EncodedPicture, timings: dict[str, float]) -> None:
        self.asker, self.key, self.encoded = asker, key, encoded
        self.turns: list[tuple[str, str]] = []
        self._first_timings = timings
        self.reused_tokens = 0

    def restart(self) -> Conversation:
        """A new conversation on the same encoded picture (no earlier turns)."""
        return Conversation(self.asker, self.key, self.encoded, {"preprocess": 0.0, "vision": 0.0})

    def ask(self, question: str, *, max_tokens: int | None = None, seed: int | None = None,
            on_text: Callable[[str], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> Answer:
        question = " ".join(question.split())
        if not question:
            raise ValueError("the question is empty")
        asker, model = self.asker, self.asker.model
        timings = {"load": asker.load_ms, **self._first_timings}
        self._first_timings = {"preprocess": 0.0, "vision": 0.0}  # later questions reuse the picture
        t = time.perf_counter()
        prefix = model.prompt_ids(self.encoded, [*self.turns, (question, None)])
        state_key = (self.key, asker.model_id, "conversation")
        reuse = asker.cache.get(state_key)
        decoder = model.decoder(self.encoded, reuse if isinstance(reuse, KVState) else None)
        timings["prompt"] = _ms(t)
        start = len(prefix)
        last = [""]

        def stream(ids: list[int]) -> None:
            text = model.answer_text(ids[start:]).rstrip("\ufffd")
            if text != last[0]:
                last[0] = text
                on_text(text)  # type: ignore[misc]

        t = time.perf_counter()
        out = generate(decoder, prefix, asker.settings(max_tokens, seed),
                       on_step=stream if on_text is not None else None, should_stop=should_stop, seed=seed)
        timings["decode"] = _ms(t)
        self.reused_tokens = decoder.reused  # prompt tokens the cache spared (bench, tests)
        state = decoder.state(out.sequences[0])
        asker.cache.put(state_key, state, state.nbytes)
        text = model.answer_text(out.generated[0])
        if on_text is not None and text != last[0]:
            on_text(text)
        self.turns.append((question, text))
        return Answer(question, text, out.generated[0], out.confidence, asker.name, asker.provider, timings)
