"""`Captioner`: a model folder in, descriptions out. The engine's front door (no Qt, no torch)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image

from models.adapter import Adapter, Prepared
from models.errors import ModelFolderError
from models.folder import ModelFolder, loading
from models.generation import GenerationSettings, generate
from models.image_io import load_image
from models.memory import release_free_memory
from models.picture_cache import PictureCache, picture_key, shared_cache
from models.results import Caption, DescribeOptions
from models.session import SessionConfig

# Used only when generation_config.json sets no length: enough for each kind of answer.
DEFAULT_NEW_TOKENS = {"brief": 64, "detailed": 160, "more": 320, "ocr": 512, "objects": 512}


def _load_adapter(folder: ModelFolder, config: SessionConfig) -> Adapter:
    if folder.family == "clip":
        raise ModelFolderError(f"{folder.path} is a CLIP model: it gives keywords (lumen describe --tags), "
                               "not descriptions; choose a Florence-2 or BLIP model")
    # Florence-2, BLIP and SmolVLM (which describes by prompt): the family table names the class.
    return folder.spec.load_adapter()(folder, config)


# Variants whose vision encoder gives each picture the same features alone or in a batch. The
# int8 and q4 variants quantize activations at run time with one scale over the whole tensor,
# so a batch changes every picture's features (full-size int8: other tokens, lumen bench --batch).
BATCH_EXACT_DTYPES = ("fp32", "fp16")


class Captioner:
    """Describes images with one loaded model. Not thread-safe: keep it on one worker."""

    def __init__(self, folder: ModelFolder, adapter: Adapter, load_ms: float,
                 cache: PictureCache | None = None) -> None:
        self.folder, self.adapter, self.load_ms = folder, adapter, load_ms
        self.cache = cache if cache is not None else shared_cache()

    @classmethod
    def load(cls, folder: Path | str, device: str = "auto", *, dtype: str | None = None,
             threads: int | None = None, cache_dir: Path | None = None, spin: bool = True) -> Captioner:
        t = time.perf_counter()
        opened = ModelFolder.open(folder, dtype)
        if cache_dir is None:
            cache_dir = default_cache_dir()
        with loading(opened):
            adapter = _load_adapter(opened, SessionConfig(device, threads, cache_dir, spin))
        release_free_memory()  # the parsed model files: ~95 MB for Florence-2-base int8
        return cls(opened, adapter, (time.perf_counter() - t) * 1000.0)

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def family(self) -> str:
        return self.folder.family

    @property
    def provider(self) -> str:
        return self.adapter.provider

    @property
    def warning(self) -> str | None:
        return self.adapter.warning

    def settings(self, options: DescribeOptions) -> GenerationSettings:
        gen = self.folder.generation_config
        overrides: dict = {"num_beams": options.beams}
        if options.max_tokens is not None:
            overrides["max_new_tokens"] = options.max_tokens
        elif gen.get("max_length") is None and gen.get("max_new_tokens") is None:
            key = options.detail if options.task == "caption" else options.task
            overrides["max_new_tokens"] = DEFAULT_NEW_TOKENS[key]
        overrides.update(self.adapter.generation_overrides())
        try:
            settings = GenerationSettings.from_config(gen, self.folder.config, **overrides)
        except (TypeError, ValueError) as e:
            raise ModelFolderError(
                f"The generation settings in {self.folder.path} are invalid ({e}); re-export the model."
            ) from e
        # Never ask for more positions than the decoder has (learned position tables end).
        text = self.folder.config.get("text_config") or self.folder.config
        positions = text.get("max_position_embeddings") or self.folder.config.get("max_position_embeddings")
        if positions and settings.total_max_length(1) > positions:
            settings = settings.replace(max_new_tokens=int(positions) - 1, max_length=int(positions))
        return settings

    def _features_key(self, rgb: Image.Image) -> tuple:
        return (picture_key(rgb), str(self.folder.path), self.folder.dtype, "image_features")

    @staticmethod
    def _prompt_key(features_key: tuple, options: DescribeOptions) -> tuple:
        return (*features_key[:3], "encoded_prompt", options.task, options.detail)

    def _prepare(self, rgb: Image.Image, options: DescribeOptions, timings: dict[str, float],
                 t: float) -> Prepared:
        """Encode `rgb`, reusing its encoded image when this model saw the same pixels before
        ("describe again" at another detail level, read text, list objects): the vision encoder
        is most of the cost of a describe, and the cache (models/picture_cache.py) is shared.
        A prompt encoded ahead (`prepare_ahead`) skips the text encoder as well."""
        encode = getattr(self.adapter, "encode", None)
        if encode is None:  # a family without a reusable encoded image
            pixels = self.adapter.pixels(rgb)
            timings["preprocess"] = (time.perf_counter() - t) * 1000.0
            return self.adapter.prepare(pixels, rgb.size, options, timings)
        key = self._features_key(rgb)
        ahead = self.cache.get(self._prompt_key(key, options))
        features = self.cache.get(key)
        if features is None and ahead is None:
            pixels = self.adapter.pixels(rgb)
            timings["preprocess"] = (time.perf_counter() - t) * 1000.0
            features = encode(pixels, timings)
            self.cache.put(key, features, features.nbytes)
        else:
            timings["preprocess"] = (time.perf_counter() - t) * 1000.0
            timings["vision"] = 0.0
        if ahead is not None:
            timings["encoder"] = 0.0
        elif hasattr(self.adapter, "encode_prompt"):  # kept too: going back to this level is free
            ahead = self._encode_prompt(key, features, options, timings)
        if ahead is None:  # a family whose prompt encoding is not kept (SmolVLM)
            return self.adapter.prepare(None, rgb.size, options, timings, features=features)
        return self.adapter.prepare(None, rgb.size, options, timings, features=features, encoded=ahead)

    def encode_together(self, images: list[Image.Image]) -> int:
        """Run the vision encoder once over several decoded pictures and keep each picture's
        image features, exactly as `describe` keeps them: describing these pictures next skips
        their vision encoder (`lumen batch --batch-size`). Returns how many were encoded: 0 for
        a family without a reusable encoded image or a variant whose features depend on the
        batch (not in BATCH_EXACT_DTYPES: each picture is then encoded alone). The cache must hold them all until then."""
        encode = getattr(self.adapter, "encode", None)
        if encode is None or self.folder.dtype not in BATCH_EXACT_DTYPES:
            return 0
        todo = [(key, rgb) for key, rgb in ((self._features_key(rgb), rgb) for rgb in images)
                if self.cache.get(key) is None]
        if not todo:
            return 0
        features = encode(np.concatenate([self.adapter.pixels(rgb) for _, rgb in todo]), {})
        for (key, _), one in zip(todo, features):
            kept = np.ascontiguousarray(one[None])  # its own memory: the batch can be freed
            self.cache.put(key, kept, kept.nbytes)
        return len(todo)

    def prepare_ahead(self, image: str | Path | bytes | Image.Image, options: list[DescribeOptions],
                      should_stop: Callable[[], bool] | None = None) -> int:
        """Run the text encoder now for other ways of describing a picture whose image is
        already encoded (the window does it for the other detail levels while the first
        description is being spoken): describing again then starts decoding at once. Returns
        how many prompts were encoded; none for a family without a text encoder to reuse, or
        a picture not encoded (or no longer cached)."""
        if not hasattr(self.adapter, "encode_prompt"):
            return 0
        key = self._features_key(load_image(image))
        features = self.cache.get(key)
        done = 0
        for option in options:
            if features is None or (should_stop is not None and should_stop()):
                break
            if self.cache.get(self._prompt_key(key, option)) is None:
                self._encode_prompt(key, features, option, {})
                done += 1
        if done:
            release_free_memory()  # the text encoder's freed activations, as after a describe
        return done

    def _encode_prompt(self, features_key: tuple, features: Any, options: DescribeOptions,
                       timings: dict[str, float]) -> tuple:
        """The adapter's text-encoder output for `options`, kept in the cache with the picture."""
        encoded = self.adapter.encode_prompt(features, options, timings)
        self.cache.put(self._prompt_key(features_key, options), encoded, sum(a.nbytes for a in encoded))
        return encoded

    def describe(
        self,
        image: str | Path | bytes | Image.Image,
        options: DescribeOptions = DescribeOptions(),
        *,
        on_text: Callable[[str], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        on_settled: Callable[[str], None] | None = None,
    ) -> Caption:
        """`on_text` hears the best text so far (it may still change); `on_settled` the text
        the answer is sure to start with, whenever it grows (speech starts on it)."""
        timings = {"load": self.load_ms}
        t = time.perf_counter()
        rgb = load_image(image)
        prepared = self._prepare(rgb, options, timings, t)
        settings = self.settings(options)
        last = [""]

        def stream(ids: list[int]) -> None:
            text = prepared.partial_text(ids)
            if text != last[0]:  # on_text hears only real changes
                last[0] = text
                on_text(text)

        said = [""]

        def settle(ids: list[int]) -> None:
            text = prepared.partial_text(ids)
            if len(text) > len(said[0]) and text.startswith(said[0]):
                said[0] = text
                on_settled(text)

        t = time.perf_counter()
        out = generate(prepared.decoder, prepared.prefix, settings,
                       on_step=stream if on_text is not None else None, should_stop=should_stop,
                       on_settled=settle if on_settled is not None else None)
        timings["decode"] = (time.perf_counter() - t) * 1000.0
        text, objects = prepared.answer(out.sequences[0])
        if on_text is not None and text != last[0]:
            on_text(text)  # the held-back tail, or the objects summary
        alternatives: list[str] = []
        if options.alternatives:
            sampling = settings.replace(do_sample=True, num_beams=1, top_p=options.top_p,
                                        temperature=options.temperature,
                                        num_return_sequences=options.alternatives)
            t = time.perf_counter()
            alt = generate(prepared.decoder, prepared.prefix, sampling, should_stop=should_stop,
                           seed=options.seed)
            timings["alternatives"] = (time.perf_counter() - t) * 1000.0
            alternatives = [prepared.answer(seq)[0] for seq in alt.sequences]
        # What the runs gave back (arena shrinkage, models/session.py) glibc still holds: return
        # it. Florence-2-base int8, at rest after a describe: 866 MB -> 620 MB (shrink) -> 467 MB.
        release_free_memory()
        return Caption(
            caption=text, token_ids=out.sequences[0], confidence=out.confidence, task=options.task,
            detail=options.detail, alternatives=alternatives, objects=objects, model=self.name,
            provider=self.provider, timings_ms=timings,
        )


def default_cache_dir() -> Path | None:
    """Where optimised graphs are kept between starts (None if no user cache dir exists)."""
    try:
        from platformdirs import user_cache_path

        return user_cache_path("lumen", appauthor=False) / "ort"
    except Exception:
        return None
