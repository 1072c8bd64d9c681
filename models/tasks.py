"""What to ask each model family, and how to read its answer.

Florence-2: Lumen's (task, detail) becomes one of Florence's task tokens and its prompt text,
and the generated text is post-processed exactly as transformers' `Florence2Processor`
(`post_process_generation`) does for those tasks. BLIP has no tasks: it captions, optionally
after a text prefix, and its caption includes that prefix (as transformers' decode gives it).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from models.results import DETAILS, TASKS, DetectedObject
from models.tokenizer import TextTokenizer

__all__ = [
    "FLORENCE_PROMPTS", "FlorenceAnswer", "FlorenceTask", "blip_caption",
    "dequantize_box", "florence_answer", "florence_objects", "florence_post_process",
    "florence_task", "florence_text", "object_summary", "plural", "count_phrase", "article",
]

# Florence2Processor.task_prompts_without_inputs, for the tasks Lumen offers.
FLORENCE_PROMPTS = {
    "<CAPTION>": "What does the image describe?",
    "<DETAILED_CAPTION>": "Describe in detail what is shown in the image.",
    "<MORE_DETAILED_CAPTION>": "Describe with a paragraph what is shown in the image.",
    "<OCR>": "What is the text in the image?",
    "<OD>": "Locate the objects with category name in the image.",
}
_CAPTION_TOKENS = {
    "brief": "<CAPTION>", "detailed": "<DETAILED_CAPTION>", "more": "<MORE_DETAILED_CAPTION>",
}
_OBJECTS = "<OD>"

# Florence-2's coordinate quantizer: 1000 bins on each axis.
QUANTIZE_BINS = (1000, 1000)
# Bins past this cannot come from a <loc_N> token; float32 would no longer hold them exactly.
_MAX_BIN = 2**24

# Florence2PostProcessor.parse_description_with_bboxes_from_text_and_spans, unchanged.
_PHRASE = re.compile(r"([^<]+(?:<loc_\d+>){4,})")
_LABEL = re.compile(r"^\s*(.*?)(?=<od>|</od>|<box>|</box>|<bbox>|</bbox>|<loc_)")
_BOX = re.compile(r"<loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)>")


@dataclass(frozen=True)
class FlorenceTask:
    """One Florence-2 task: its token (e.g. "<CAPTION>") and the prompt the model reads."""

    token: str
    prompt: str

    @property
    def finds_objects(self) -> bool:
        return self.token == _OBJECTS


@dataclass(frozen=True)
class FlorenceAnswer:
    """A post-processed answer: the text to show and speak, and the objects (task objects)."""

    text: str
    objects: list[DetectedObject] = field(default_factory=list)


def florence_task(task: str = "caption", detail: str = "brief") -> FlorenceTask:
    """Map Lumen's (task, detail) to Florence's task; detail only changes captions."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, not {task!r}")
    if detail not in DETAILS:
        raise ValueError(f"detail must be one of {', '.join(DETAILS)}, not {detail!r}")
    token = {"caption": _CAPTION_TOKENS[detail], "ocr": "<OCR>", "objects": _OBJECTS}[task]
    return FlorenceTask(token, FLORENCE_PROMPTS[token])


def florence_text(text: str) -> str:
    """The "pure_text" answer (captions, OCR): Florence removes only <s> and </s>, then strips."""
    return text.replace("<s>", "").replace("</s>", "").strip()


def dequantize_box(
    bins: Sequence[int], image_size: tuple[int, int]
) -> tuple[float, float, float, float]:
    """Bin indices (x1, y1, x2, y2) to pixels: the bin centre, in float32 and truncated to an
    integer, as Florence's coordinate quantizer computes it with torch."""
    width, height = image_size
    per_bin = np.array(
        [width / QUANTIZE_BINS[0], height / QUANTIZE_BINS[1]] * 2, dtype=np.float32
    )
    centre = np.asarray(bins, dtype=np.float32) + np.float32(0.5)
    x1, y1, x2, y2 = np.trunc(centre * per_bin).tolist()
    return (x1, y1, x2, y2)


def florence_objects(text: str, image_size: tuple[int, int]) -> list[DetectedObject]:
    """The "description_with_bboxes" answer (<OD>): "label<loc_x1><loc_y1><loc_x2><loc_y2>..."
    as objects with boxes in image pixels; a label with several boxes gives several objects.
    image_size is (width, height). Bins past 2**24, which no <loc_N> token gives, are dropped
    (Florence would fail or lose precision on them)."""
    text = text.replace("<s>", "").replace("</s>", "").replace("<pad>", "")
    objects: list[DetectedObject] = []
    for phrase_text in _PHRASE.findall(text):
        phrase_text = phrase_text.replace("<ground>", "", 1).replace("<obj>", "", 1)
        match = _LABEL.search(phrase_text)
        if not match:
            continue
        # Florence keeps only the ASCII characters of a label (after stripping it).
        label = match.group().strip().encode("ascii", "ignore").decode("ascii")
        for box in _BOX.finditer(phrase_text):
            bins = [int(box.group(j)) for j in range(1, 5)]
            if max(bins) <= _MAX_BIN:
                objects.append(DetectedObject(label, dequantize_box(bins, image_size)))
    return objects


def florence_post_process(
    text: str, task: FlorenceTask, image_size: tuple[int, int]
) -> FlorenceAnswer:
    """Read a Florence answer decoded with skip_special_tokens=False.

    Captions and OCR give their text; objects give the objects and a spoken summary of them.
    """
    if task.finds_objects:
        objects = florence_objects(text, image_size)
        return FlorenceAnswer(object_summary(objects), objects)
    return FlorenceAnswer(florence_text(text))


def florence_answer(
    tokenizer: TextTokenizer, ids: Iterable[int], task: FlorenceTask, image_size: tuple[int, int]
) -> FlorenceAnswer:
    """Decode generated ids as Florence's examples do (special tokens kept), then post-process."""
    return florence_post_process(tokenizer.decode(ids, skip_special_tokens=False), task, image_size)


def blip_caption(tokenizer: TextTokenizer, ids: Iterable[int]) -> str:
    """The caption of a whole BLIP sequence (prompt ids, then generated ids), as
    `processor.decode(out[0], skip_special_tokens=True)` gives it: the prompt text included."""
    return tokenizer.decode(ids, skip_special_tokens=True)


# Spoken summary of the objects task.
_IRREGULAR = {
    "person": "people", "man": "men", "woman": "women", "child": "children", "mouse": "mice",
    "goose": "geese", "foot": "feet", "tooth": "teeth", "ox": "oxen", "louse": "lice",
    "cactus": "cacti", "die": "dice",
}
_SAME_PLURAL = {
    "sheep", "deer", "fish", "moose", "bison", "aircraft", "spacecraft", "salmon", "trout",
    "shrimp", "species", "series", "swine", "squid", "cod",
}
# Nouns counted in pairs ("a pair of glasses", "2 pairs of scissors").
_PAIRS = {
    "glasses", "sunglasses", "eyeglasses", "goggles", "scissors", "jeans", "trousers", "pants",
    "shorts", "skis", "binoculars", "headphones", "earphones", "tongs", "pliers", "tights",
    "pyjamas", "pajamas", "shoes", "boots", "socks", "gloves", "sneakers", "sandals", "chopsticks",
}
# Mass and group nouns Florence uses as labels, counted in units ("2 items of clothing").
_MASS = {
    "clothing": "item", "footwear": "pair", "furniture": "piece", "luggage": "piece",
    "baggage": "piece", "jewelry": "piece", "jewellery": "piece", "equipment": "piece",
    "tableware": "piece", "kitchenware": "item", "cookware": "item", "stationery": "item",
    "people": "group", "police": "group",
}
_F_TO_VES = {
    "knife": "knives", "leaf": "leaves", "wolf": "wolves", "shelf": "shelves", "loaf": "loaves",
    "calf": "calves", "half": "halves", "life": "lives", "wife": "wives", "scarf": "scarves",
    "thief": "thieves", "elf": "elves",
}
_O_TO_OES = {"potato", "tomato", "hero", "echo", "torpedo", "volcano", "mosquito", "mango"}
_MAN_NOT_MEN = {"human", "german", "shaman", "caiman", "talisman", "ottoman", "walkman"}
# Vowel letters that sound like a consonant ("a unicorn") and silent h ("an hour").
_A_BEFORE = ("uni", "use", "usu", "uke", "ute", "uro", "eu", "ewe", "one", "once", "ufo", "ura")
_AN_BEFORE = ("hour", "honest", "honor", "honour", "heir", "herb")


def _match_case(word: str, like: str) -> str:
    return word[:1].upper() + word[1:] if like[:1].isupper() else word


def plural(noun: str) -> str:
    """The plural of a (possibly multi-word) label: only the last word changes."""
    head, _, last = noun.rpartition(" ")
    low = last.lower()
    if low in _IRREGULAR:
        word = _match_case(_IRREGULAR[low], last)
    elif low in _SAME_PLURAL or low in _PAIRS or low in _MASS or not any(c.isalpha() for c in low):
        word = last
    elif low in _F_TO_VES:
        word = _match_case(_F_TO_VES[low], last)
    elif low.endswith("man") and low not in _MAN_NOT_MEN:  # policeman, snowman
        word = last[:-2] + "en"
    elif low.endswith(("s", "x", "z", "ch", "sh")) or low in _O_TO_OES:
        word = last + "es"
    elif low.endswith("y") and len(low) > 1 and low[-2] not in "aeiou":
        word = last[:-1] + "ies"
    else:
        word = last + "s"
    return f"{head} {word}" if head else word


def article(noun: str) -> str:
    """"a" or "an", by how the noun is spoken."""
    low = noun.lower()
    if low.startswith(_AN_BEFORE):
        return "an"
    if low.startswith(_A_BEFORE):
        return "a"
    return "an" if low[:1] in ("a", "e", "i", "o", "u") else "a"


def count_phrase(label: str, count: int) -> str:
    """"a dog", "3 dogs", "a pair of glasses", "2 items of clothing"."""
    last = label.rpartition(" ")[2].lower()
    unit = "pair" if last in _PAIRS else _MASS.get(last)
    if unit:
        return f"{article(unit)} {unit} of {label}" if count == 1 else f"{count} {unit}s of {label}"
    return f"{article(label)} {label}" if count == 1 else f"{count} {plural(label)}"


def object_summary(objects: Iterable[DetectedObject]) -> str:
    """A sentence to speak, e.g. "3 people, 2 cars and a dog.": most frequent first, ties in
    the order found; "No objects found." when there are none."""
    counts = Counter(" ".join(o.label.split()).lower() or "object" for o in objects)
    if not counts:
        return "No objects found."
    ranked = sorted(counts.items(), key=lambda item: -item[1])  # stable: ties keep first-seen order
    phrases = [count_phrase(label, n) for label, n in ranked]
    text = phrases[0] if len(phrases) == 1 else f"{', '.join(phrases[:-1])} and {phrases[-1]}"
    return text[:1].upper() + text[1:] + "."
