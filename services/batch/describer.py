"""One picture in, one `lumen describe --json` object out: what each batch worker runs.

It runs the same calls as `lumen describe` (desktop/cli/describe_cmd.py and reading.py) with
the same options: `Captioner.describe` for captions and objects, `TextFirst` for `--task auto`
and PP-OCR's `--task ocr`, CLIP keywords for `--tags`, and the translation `--lang` asks for.
So a batch's caption equals `lumen describe --json`'s for the same picture, whatever engine ran
it. A picture that cannot be read or described gives `{"image", "error"}`; the batch goes on.
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from PIL import Image

from models.errors import LumenError, ModelFolderError, unexpected
from models.exit_status import ExitStatus
from models.results import DescribeOptions
from services.batch.journal import MTIME, SIZE
from services.batch.sources import Picture

log = logging.getLogger(__name__)

# Features of pictures seen once are never asked for again: keep the cache small.
BATCH_CACHE_BYTES = 16 << 20


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class BatchOptions:
    """`lumen describe`'s options for a batch (plain values: Ray sends them to its workers).
    `model` is the resolved model folder; None only when no description model is needed."""

    model: str | None = None
    device: str = "auto"
    dtype: str | None = None
    threads: int | None = None
    task: str = "caption"  # caption, ocr, objects or auto
    document_task: str = "auto"  # the task for a document's pages (lumen describe: auto unless --task)
    detail: str = "brief"
    max_tokens: int | None = None
    beams: int | None = None
    alternatives: int = 0
    seed: int | None = None
    ocr_engine: str = "ppocr"
    tags: bool = False
    tags_model: str | None = None
    lang: str | None = None
    batch_size: int = 1  # pictures per vision-encoder call (Captioner.encode_together)

    @property
    def reads_first(self) -> bool:
        """PP-OCR runs (desktop/cli/describe_reading.py's `handles`)."""
        return self.task == "auto" or (self.task == "ocr" and self.ocr_engine == "ppocr")

    def describe_options(self) -> DescribeOptions:
        task = "caption" if self.task == "auto" else self.task
        return DescribeOptions(task=task, detail=self.detail, max_tokens=self.max_tokens,
                               beams=self.beams, alternatives=self.alternatives, seed=self.seed)


def error_row(picture: Picture, error: BaseException) -> dict[str, Any]:
    message = (" ".join(str(error).split()) or type(error).__name__) if isinstance(error, LumenError) \
        else unexpected(error)
    return {"image": picture.image, "error": message, SIZE: picture.size, MTIME: picture.mtime_ns}


def status_of(error: Exception) -> int:
    """A LumenError's own status; a bug of ours (logged with its traceback) gives FAILED. Either
    way the picture's line is an error line: the batch goes on, and a resumed one tries it again."""
    if isinstance(error, LumenError):
        return error.exit_code
    log.debug("unexpected error", exc_info=error)
    return ExitStatus.FAILED


def exit_code_of(row: dict[str, Any]) -> int:
    return int(row.get("exit_code", 2))


class Describer:
    """The models of one worker, loaded once. Not thread-safe: one per worker."""

    def __init__(self, options: BatchOptions, warn: Callable[[str], None] = _warn) -> None:
        self.options = options
        self._warn = warn
        self._describe_options = options.describe_options()
        self.captioner = self._first = self._tagger = self._pages_first = None
        if options.lang and options.lang != "en":
            from services.translation import translation_route

            translation_route(options.lang)  # not installed: fails before any picture
        if options.reads_first:
            from models.captioner import default_cache_dir
            from models.session import SessionConfig
            from models.text_first import TextFirst

            self._first = TextFirst(SessionConfig(options.device, options.threads, default_cache_dir()))
            self._first.reader  # noqa: B018 - opened now: a missing model fails before any picture
            if options.task == "auto" and options.model:
                self.captioner = self._load_captioner()
        else:
            if not options.model:
                raise ModelFolderError("no model is installed; install one with `lumen models install "
                                       "florence-2-base-ft` or pass --model DIR")
            self.captioner = self._load_captioner()
            if options.tags:
                self._tagger = self._load_tagger()

    def _load_captioner(self):  # noqa: ANN202
        from models.captioner import Captioner
        from models.picture_cache import PictureCache

        o = self.options
        captioner = Captioner.load(Path(o.model), device=o.device, dtype=o.dtype, threads=o.threads)
        # Holds a whole batch's encoded pictures until each is described.
        captioner.cache = PictureCache(BATCH_CACHE_BYTES * max(2, o.batch_size))
        if captioner.warning:
            self._warn(captioner.warning)
        return captioner

    def _load_tagger(self):  # noqa: ANN202
        """The CLIP model, or None (tags come out empty) after one warning, as describe does."""
        from models.clip import Clip, installed_clip

        o = self.options
        folder = Path(o.tags_model) if o.tags_model else installed_clip()
        if folder is None:
            self._warn("--tags needs a CLIP model: install one with `lumen models install "
                       "clip-vit-base-patch32` or pass --tags-model DIR; describing without tags")
            return None
        try:
            return Clip.load(folder, device=o.device, dtype=None, threads=o.threads)
        except LumenError as e:
            self._warn(f"{e}; describing without tags")
            return None

    def encode_together(self, pictures: list[Image.Image]) -> None:
        """Encode several decoded pictures in one vision-encoder call before they are described
        one by one (captions only: `--task auto` decides each picture's kind first)."""
        if self._first is None and self.captioner is not None and len(pictures) > 1:
            try:
                self.captioner.encode_together(pictures)
            except Exception as e:  # noqa: BLE001 - each picture is then encoded (and its error
                log.debug("encoding together failed: %s", e)  # reported) on its own

    def describe_document(self, picture: Picture) -> list[dict[str, Any]]:
        """A PDF's (or multi-page TIFF's) lines, one per page in page order, as `lumen describe
        FILE.pdf --json` gives them; a page that fails gives its error line, a document that
        cannot be opened one error line without `page`."""
        from models.documents import PageReader, iter_pages

        reader = PageReader(self._text_first(), self.captioner)
        options = DescribeOptions(task=self.options.document_task, detail=self.options.detail,
                                  max_tokens=self.options.max_tokens, beams=self.options.beams,
                                  alternatives=self.options.alternatives, seed=self.options.seed)
        file_key = {SIZE: picture.size, MTIME: picture.mtime_ns}
        rows: list[dict[str, Any]] = []
        try:
            for page in iter_pages(picture.image):
                try:
                    result = reader.read(page, options)
                    data = self._translated(result.caption, result.to_json(picture.image))
                    rows.append({**data, **file_key})
                except Exception as e:  # noqa: BLE001 - even a bug of ours costs this page only
                    rows.append({**error_row(picture, e), "page": page.number, "pages": page.pages,
                                 "exit_code": status_of(e)})
        except Exception as e:  # noqa: BLE001 - a document that cannot be opened, or a bug of ours
            rows.append({**error_row(picture, e), "exit_code": status_of(e)})
        return rows

    def _text_first(self):  # noqa: ANN202
        if self._first is None:
            from models.captioner import default_cache_dir
            from models.session import SessionConfig
            from models.text_first import TextFirst

            self._pages_first = self._pages_first or TextFirst(
                SessionConfig(self.options.device, self.options.threads, default_cache_dir()))
            return self._pages_first
        return self._first

    def forget(self) -> None:
        """Drop the encoded pictures kept for describing: a batch never sees a picture twice,
        so nothing is kept from one group of pictures to the next (memory stays flat)."""
        if self.captioner is not None:
            self.captioner.cache.clear()

    @property
    def provider(self) -> str:
        if self.captioner is not None:
            return self.captioner.provider
        return self._first.reader.provider if self._first is not None else ""

    def describe(self, picture: Picture, rgb: Image.Image | None = None) -> dict[str, Any]:
        """The picture's line; `rgb` is the picture already decoded (read ahead), or None."""
        try:
            data = self._describe(picture, rgb)
        except Exception as e:  # noqa: BLE001 - even a bug of ours costs this picture only
            return {**error_row(picture, e), "exit_code": status_of(e)}
        return {**data, SIZE: picture.size, MTIME: picture.mtime_ns}

    def _describe(self, picture: Picture, rgb: Image.Image | None) -> dict[str, Any]:
        source = rgb if rgb is not None else Path(picture.image)
        options = self._describe_options
        if self._first is not None:
            if self.options.task == "ocr":
                caption = self._first.read(source)
            else:
                caption = self._first.describe(source, options, self.captioner)
            return self._translated(caption, caption.to_json(picture.image))
        caption = self.captioner.describe(source, options)
        data = caption.to_json(picture.image)
        if self.options.tags:
            data = self._tags(source, caption, data)
        return self._translated(caption, data)

    def _tags(self, source: Path | Image.Image, caption, data: dict[str, Any]) -> dict[str, Any]:  # noqa: ANN001
        from models.image_io import load_image
        from models.keywords import tag_fields

        try:
            picture = load_image(source) if self._tagger is not None else None
            return {**data, **tag_fields(self._tagger, picture, [caption.caption, *caption.alternatives])}
        except LumenError as e:
            self._warn(f"{data['image']}: tags: {e}")
            return data

    def _translated(self, caption, data: dict[str, Any]) -> dict[str, Any]:  # noqa: ANN001
        if not self.options.lang:
            return data
        from services.translation import translate_result

        text, language = translate_result(caption.caption, caption.task, self.options.lang)
        return {**data, "language": language, "text": text}
