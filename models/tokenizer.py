"""The model folder's text tokenizer, read with the `tokenizers` library (no transformers).

Encoding and decoding give what transformers' tokenizer gives for the same folder:
`tokenizer(text)["input_ids"]` and `tokenizer.decode(ids, skip_special_tokens=...)`.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from tokenizers import AddedToken, Tokenizer

from models.errors import ModelFolderError

TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILES = ("tokenizer_config.json", "special_tokens_map.json", "config.json")
_NAMED = (
    "bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token",
)


def _reinstall(folder: Path, name: str, problem: str) -> ModelFolderError:
    return ModelFolderError(f"The file {name} in {folder} {problem}; reinstall the model.")


def _read_json(folder: Path, name: str) -> dict[str, Any]:
    """An optional JSON file of the folder: {} when absent, our error when unreadable."""
    path = folder / name
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise _reinstall(folder, name, f"cannot be read ({e})") from e
    if not isinstance(data, dict):
        raise _reinstall(folder, name, "is not a JSON object")
    return data


def _token_text(value: Any) -> str | None:
    """A special token as written in tokenizer_config.json: a string or an AddedToken dict."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return value["content"]
    return None


# transformers' `clean_up_tokenization`, in its order: drop the spaces WordPiece puts before
# punctuation and inside English contractions.
_CLEAN_UPS = (
    (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
    (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
)


def stable_prefix(text: str) -> str:
    """The part of a growing clean-up decode that later tokens cannot change: a tail that could
    still start a clean-up pattern (" '" before "s", " n" before "'t") is held back."""
    cut = 0
    for old, _ in _CLEAN_UPS:
        for k in range(1, len(old)):
            if k > cut and text.endswith(old[:k]):
                cut = k
    return text[: len(text) - cut]


def clean_up_tokenization(text: str) -> str:
    for old, new in _CLEAN_UPS:
        text = text.replace(old, new)
    return text


@dataclass(frozen=True)
class SpecialTokens:
    """The named special tokens of a folder; `extra` are the other tokens marked special."""

    bos: str | None
    eos: str | None
    pad: str | None
    unk: str | None
    extra: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_files(
        cls, tokenizer: Tokenizer, tok_cfg: dict[str, Any], tok_map: dict[str, Any],
        model_cfg: dict[str, Any],
    ) -> SpecialTokens:
        """Tokenizer files first (tokenizer_config.json, then special_tokens_map.json), then
        the ids in config.json; BLIP names no eos token, so its sep token ends a caption."""

        def named(key: str) -> str | None:
            for cfg in (tok_cfg, tok_map):
                if (text := _token_text(cfg.get(key))) is not None:
                    return text
            return None

        def from_config(*keys: str) -> str | None:
            for cfg in (model_cfg.get("text_config") or {}, model_cfg):
                for key in keys:
                    if isinstance(cfg.get(key), int):
                        return tokenizer.id_to_token(cfg[key])
            return None

        extra: list[str] = [t for key in _NAMED if (t := named(key)) is not None]
        for cfg in (tok_cfg, tok_map):
            for value in cfg.get("additional_special_tokens") or []:
                if (text := _token_text(value)) is not None:
                    extra.append(text)
        return cls(
            bos=named("bos_token") or from_config("bos_token_id") or named("cls_token"),
            eos=(named("eos_token") or named("sep_token")
                 or from_config("sep_token_id", "eos_token_id")),
            pad=named("pad_token") or from_config("pad_token_id"),
            unk=named("unk_token"),
            extra=tuple(dict.fromkeys(extra)),
        )


class TextTokenizer:
    """Text to token ids and back, with the model folder's special tokens.

    Build it with `TextTokenizer.from_folder(folder)`. `encode` adds the special tokens of the
    folder's post-processor (as `tokenizer(text)` does in transformers); `decode` applies the
    folder's `clean_up_tokenization_spaces` setting the way transformers 5 does (never for BPE).
    """

    def __init__(
        self, tokenizer: Tokenizer, special: SpecialTokens, clean_up_spaces: bool = False,
        folder: Path | None = None,
    ) -> None:
        self._tokenizer = tokenizer
        self.special = special
        self.clean_up_spaces = clean_up_spaces
        self.folder = folder

    @classmethod
    def from_folder(cls, folder: Path) -> TextTokenizer:
        """Read tokenizer.json and the special tokens of a folder (raises ModelFolderError)."""
        folder = Path(folder)
        path = folder / TOKENIZER_FILE
        if not path.is_file():
            raise _reinstall(folder, TOKENIZER_FILE, "is missing")
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as e:  # the Rust side raises plain Exception for any parse error
            raise _reinstall(folder, TOKENIZER_FILE, f"cannot be read ({e})") from e
        tokenizer.no_padding()
        tokenizer.no_truncation()
        tok_cfg, tok_map, model_cfg = (_read_json(folder, name) for name in CONFIG_FILES)
        special = SpecialTokens.from_files(tokenizer, tok_cfg, tok_map, model_cfg)
        named = (special.bos, special.eos, special.pad, special.unk, *special.extra)
        _mark_special(tokenizer, named)
        clean_up = bool(tok_cfg.get("clean_up_tokenization_spaces", False))
        if type(tokenizer.model).__name__ == "BPE":
            # transformers 5 skips this clean-up for BPE: it eats real spaces before punctuation
            force = "clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output"
            clean_up = clean_up and bool(tok_cfg.get(force))
        return cls(tokenizer, special, clean_up, folder)

    # Special token ids, looked up once.
    @cached_property
    def bos_id(self) -> int | None:
        return self.token_to_id(self.special.bos)

    @cached_property
    def eos_id(self) -> int | None:
        return self.token_to_id(self.special.eos)

    @cached_property
    def pad_id(self) -> int | None:
        return self.token_to_id(self.special.pad)

    @cached_property
    def unk_id(self) -> int | None:
        return self.token_to_id(self.special.unk)

    @cached_property
    def special_ids(self) -> frozenset[int]:
        """Ids that `decode(..., skip_special_tokens=True)` leaves out."""
        added = self._tokenizer.get_added_tokens_decoder()
        return frozenset(i for i, token in added.items() if token.special)

    @property
    def vocab_size(self) -> int:
        return self._tokenizer.get_vocab_size(with_added_tokens=True)

    def token_to_id(self, token: str | None) -> int | None:
        return None if token is None else self._tokenizer.token_to_id(token)

    def id_to_token(self, token_id: int) -> str | None:
        return self._tokenizer.id_to_token(token_id)

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        return self._tokenizer.encode(text, add_special_tokens=add_special_tokens).ids

    def decode(
        self, ids: Iterable[int], skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
    ) -> str:
        """transformers' `tokenizer.decode`; clean-up None means: as the folder says."""
        text = self._tokenizer.decode(list(ids), skip_special_tokens=skip_special_tokens)
        clean_up = clean_up_tokenization_spaces
        if clean_up is None:
            clean_up = self.clean_up_spaces
        return clean_up_tokenization(text) if clean_up else text


def _mark_special(tokenizer: Tokenizer, tokens: Iterable[str | None]) -> None:
    """Register the named special tokens as special, as transformers does on load, so that
    skip_special_tokens drops them; tokens already special keep their own flags."""
    added = {t.content: t for t in tokenizer.get_added_tokens_decoder().values()}
    todo: list[AddedToken] = []
    for text in dict.fromkeys(t for t in tokens if t):
        known = added.get(text)
        if known is None:
            todo.append(AddedToken(text, special=True, normalized=False))
        elif not known.special:
            todo.append(AddedToken(
                text, single_word=known.single_word, lstrip=known.lstrip, rstrip=known.rstrip,
                normalized=known.normalized, special=True,
            ))
    if todo:
        tokenizer.add_special_tokens(todo)
