"""Speaking a description sentence by sentence while the model is still writing it.

The engine reports the text the answer is sure to start with (`Captioner.describe(on_settled=)`)
as it grows. `SentenceFeed` turns that into whole sentences, each handed on once: a sentence is
whole when sentence-final punctuation is followed by a space and more settled text (so "Dr." in
the middle of a word run is the only false cut, which costs a short pause, not a wrong word).
`finish(final)` gives what is left to say. services.sentence_split cannot serve here: it imports
argostranslate, which is optional. No Qt here.
"""
from __future__ import annotations

import re

# Sentence-final punctuation (Latin and CJK), optional closing quotes/brackets, then space
# followed by something: only then is the sentence known to be over.
_BOUNDARY = re.compile(r"[.!?\u2026\u3002\uff01\uff1f][\"'\u201d\u2019)\]]*\s+(?=\S)")
# For text read from a picture, a line break ends a piece too (a screen's menus, buttons and
# headings have no full stops), also at the very end: such text is settled a whole line at a time.
_LINE_BOUNDARY = re.compile(_BOUNDARY.pattern + r"|\s*\n(?:\s*(?=\S)|\s*$)")


class SentenceFeed:
    """Whole sentences out of a growing settled text; every character is handed out once."""

    def __init__(self, lines: bool = False) -> None:
        self._said = 0  # characters of the settled text already handed out
        self._text = ""
        self._boundary = _LINE_BOUNDARY if lines else _BOUNDARY

    @property
    def said(self) -> str:
        """What has been handed out so far."""
        return self._text[: self._said]

    def settled(self, text: str) -> list[str]:
        """New whole sentences in `text` (the settled text so far, which only grows)."""
        if not text.startswith(self._text[: self._said]):
            return []  # not an extension of what was said: leave the rest to finish()
        self._text = text
        out = []
        for m in self._boundary.finditer(text, self._said):
            sentence = text[self._said: m.end()].strip()
            self._said = m.end()
            if sentence:
                out.append(sentence)
        return out

    def finish(self, final: str) -> str:
        """What is left to say of the final text (all of it when nothing was said yet, or when
        the final text does not begin with what was said)."""
        said = self._text[: self._said]
        self._said, self._text = len(final), final
        if said and _squash(final).startswith(_squash(said)):
            return _rest(final, said)
        return final.strip()  # better said twice than lost


def _squash(text: str) -> str:
    return " ".join(text.split())


def _rest(final: str, said: str) -> str:
    """`final` without its leading `said`, compared word by word (spacing may differ)."""
    words = len(said.split())
    return " ".join(final.split()[words:])
