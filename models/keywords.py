"""Keywords for a picture: content words of its captions, scored by CLIP zero-shot.

As the captioning services Lumen grew from did it: the beam caption (the most accurate) and a
few sampled captions (variety) give candidate words; CLIP scores each candidate against the
picture with a prompt ("a photo of a {word}"), softmaxed over the candidates, best first.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:
    from models.clip import Clip

PROMPT = "a photo of a {}"
DECIMALS = 4  # probabilities are rounded for JSON; the order is decided before rounding
MAX_CANDIDATES = 40  # a runaway sampled caption cannot make CLIP score hundreds of prompts

# English function words and caption boilerplate. Written out here because NLTK's list is a
# corpus download (no network at run time) and no runtime dependency of ours ships one.
STOP_WORDS = frozenset("""
a about above across after again against all almost along also although always am among an and
another any anyone anything are around as at away back be because been before behind being below
beneath beside besides between beyond both but by can could did do does doing done down during
each either else enough even ever every few for from front further had has have having he her here
hers herself him himself his how however i if in inside into is it its itself just least less like
many may me might more most much must my myself near neither next no none nor not nothing now of
off on once one only onto or other others our ours ourselves out outside over own per perhaps
quite rather same several she should since so some something such than that the their theirs them
themselves then there these they this those though through throughout thus to together too toward
towards two three under underneath until up upon us very via was we well were what when where
whether which while who whom whose why will with within without would yet you your yours yourself
very really there's it's that's top bottom left right middle side
image picture photo photograph pic shot view close closeup up showing shows shown show depicting
looking seen stand standing sitting sits sit made make
""".split())

_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")
# inflect folds nouns only; these endings are singular words it would cut (bus -> bu, tennis -> tenni).
_KEEP_ENDINGS = ("ss", "us", "is", "ous", "ics")


@dataclass(frozen=True)
class Keyword:
    word: str
    score: float

    def to_json(self) -> list:
        """[word, score]: the pair the seed services' clients read."""
        return [self.word, round(self.score, DECIMALS)]


_inflect_lock = threading.Lock()


@lru_cache(maxsize=1)
def _inflect_engine():
    """inflect's engine, imported with typeguard's @typechecked made a no-op: inflect 7 wraps its
    API in it, and typeguard re-parses inflect's whole source for each wrapped function at import
    (10 s here instead of 0.3 s). Only those runtime argument-type checks are skipped; we pass str."""
    try:
        import typeguard

        real = typeguard.typechecked
        typeguard.typechecked = lambda target=None, **_: target if target is not None else (lambda f: f)
        try:
            import inflect
        finally:
            typeguard.typechecked = real
        return inflect.engine()
    except Exception as e:  # e.g. a build without it: words are then kept as written
        logging.getLogger(__name__).warning("plurals are not folded (inflect unavailable: %s)", e)
        return None


def _inflect():
    with _inflect_lock:  # the keywords worker and the GUI's History search may both ask first
        return _inflect_engine()


def singular(word: str) -> str:
    """A plural noun folded to its singular ("dogs" -> "dog", "people" -> "person")."""
    engine = _inflect()
    if engine is None or len(word) < 4 or word.endswith(_KEEP_ENDINGS):
        return word
    folded = engine.singular_noun(word)
    return folded if isinstance(folded, str) and folded else word


def candidates(captions: Iterable[str], limit: int = MAX_CANDIDATES) -> list[str]:
    """Content words of `captions` in order of first appearance: no stop words, no numbers,
    plurals folded to singular, each word once."""
    seen: dict[str, None] = {}
    for caption in captions:
        for word in _WORD.findall(caption.lower()):
            if word in STOP_WORDS or len(word) < 3:
                continue
            word = singular(word)
            if word not in STOP_WORDS and word not in seen:
                seen[word] = None
                if len(seen) >= limit:
                    return list(seen)
    return list(seen)


def score_keywords(clip: Clip, image: Image.Image, words: Sequence[str],
                   template: str = PROMPT) -> list[Keyword]:
    """CLIP zero-shot over `words`: softmax probabilities, best first."""
    return [Keyword(s.label, s.probability) for s in clip.zero_shot(image, list(words), template)]


def keywords(clip: Clip, image: Image.Image, captions: Iterable[str], template: str = PROMPT) -> list[Keyword]:
    return score_keywords(clip, image, candidates(captions), template)


def tag_fields(clip: Clip | None, image: Image.Image, captions: Sequence[str]) -> dict:
    """The `tags` and `english_captions` a JSON answer gains (the seed services' shapes);
    without a CLIP model the tags are empty and the captions still come."""
    english = [c for c in captions if c.strip()]
    tags = keywords(clip, image, english) if clip is not None else []
    return {"tags": [k.to_json() for k in tags], "english_captions": english}


def matches(text: str, query: str) -> bool:
    """Whether every word of `query` is a word of `text`, plurals folded ("dogs" finds "dog"):
    how History is searched by keyword, since keywords are the captions' own words."""
    wanted = {singular(w) for w in _WORD.findall(query.lower())}
    if not wanted:
        return True
    have = {singular(w) for w in _WORD.findall(text.lower())}
    return wanted <= have
