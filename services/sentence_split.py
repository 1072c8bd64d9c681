"""Sentence splitters for argostranslate that never download anything.

argostranslate splits text into sentences before translating. Left to itself it fetches
a MiniSBD model on first use when a package ships none, and it builds Stanza pipelines with
`download_method=DOWNLOAD_RESOURCES`, which fetches resources.json every time. Lumen picks
the splitter from what the package ships instead (`TranslationPackage.splitter`).
Imports argostranslate: only `services.translation` imports this module, lazily.
"""
from __future__ import annotations

import re
from typing import Any

from argostranslate import sbd, settings


class RuleSentencizer(sbd.ISentenceBoundaryDetectionModel):
    """Splits after sentence-final punctuation; enough for short image descriptions."""

    _BOUNDARY = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s+")

    def __init__(self, pkg: Any) -> None:
        self.pkg = pkg

    def split_sentences(self, text: str) -> list[str]:
        parts = [p for p in self._BOUNDARY.split(text.strip()) if p]
        return parts or [text]

    def __str__(self) -> str:
        return "RuleSentencizer"


class OfflineStanzaSentencizer(sbd.StanzaSentencizer):
    """The package's own Stanza tokenizer, loaded without checking for updates online."""

    def lazy_pipeline(self) -> Any:
        if self.stanza_pipeline is None:
            import stanza

            self.stanza_pipeline = stanza.Pipeline(
                lang=self.stanza_lang_code,
                dir=str(self.pkg.package_path / "stanza"),
                processors="tokenize",
                use_gpu=settings.device == "cuda",
                logging_level="WARNING",
                download_method=None,
            )
        return self.stanza_pipeline


def sentencizer_for(pkg: Any, kind: str) -> sbd.ISentenceBoundaryDetectionModel:
    """kind as in TranslationPackage.splitter: "minisbd", "stanza" or "rules"."""
    if kind == "minisbd":
        return sbd.MiniSBDSentencizer(pkg)  # uses the package's minisbd/*.onnx
    if kind == "stanza":
        return OfflineStanzaSentencizer(pkg)
    return RuleSentencizer(pkg)
