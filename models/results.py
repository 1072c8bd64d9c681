"""Dataclasses at the boundary between the engine and its callers (CLI, GUI, bench)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

TASKS = ("caption", "ocr", "objects")
# Not a model task: decide the picture's kind first, then read, name it blank, or caption it
# (models/text_first.py). Only Lumen's own callers (window, CLI) ask for it.
AUTO = "auto"
DETAILS = ("brief", "detailed", "more")

# A description whose mean token probability is under this is flagged as uncertain.
UNCERTAIN_BELOW = 0.64
# Each alternative is one more sampled decode: a cap keeps a typo from running for minutes.
MAX_ALTERNATIVES = 20


@dataclass(frozen=True)
class DescribeOptions:
    """What to ask of the model. None means: take the value from generation_config.json."""

    task: str = "caption"
    detail: str = "brief"
    max_tokens: int | None = None
    beams: int | None = None
    alternatives: int = 0
    seed: int | None = None
    top_p: float = 0.9
    temperature: float = 1.0

    def __post_init__(self) -> None:
        if self.task not in (*TASKS, AUTO):
            raise ValueError(f"task must be one of {', '.join(TASKS)} or {AUTO}, not {self.task!r}")
        if self.detail not in DETAILS:
            raise ValueError(f"detail must be one of {', '.join(DETAILS)}, not {self.detail!r}")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        if self.beams is not None and self.beams < 1:
            raise ValueError("beams must be at least 1")
        if not 0 <= self.alternatives <= MAX_ALTERNATIVES:
            raise ValueError(f"alternatives must be between 0 and {MAX_ALTERNATIVES}")
        if self.seed is not None and self.seed < 0:
            raise ValueError("seed cannot be negative")  # numpy's generators refuse it mid-run
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError("top_p must be in (0, 1]")
        if self.temperature <= 0.0:
            raise ValueError("temperature must be positive")


@dataclass(frozen=True)
class DetectedObject:
    """One object found by the objects task; box is (x1, y1, x2, y2) in image pixels."""

    label: str
    box: tuple[float, float, float, float]


@dataclass
class Caption:
    """One image's result."""

    caption: str
    token_ids: list[int]
    confidence: float
    task: str = "caption"
    detail: str = "brief"
    alternatives: list[str] = field(default_factory=list)
    objects: list[DetectedObject] = field(default_factory=list)
    model: str = ""
    provider: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    # --task auto: blank, text or photo (models/picture_kind.py); None when not decided.
    kind: str | None = None
    # Text read by PP-OCR: {"text", "box": [x0, y0, x1, y1], "confidence"} in reading order.
    lines: list[dict[str, Any]] = field(default_factory=list)

    @property
    def uncertain(self) -> bool:
        return self.confidence < UNCERTAIN_BELOW

    def to_json(self, image: str) -> dict[str, Any]:
        """The `lumen describe --json` object: a contract, only ever extended."""
        data = asdict(self)
        data["objects"] = [{"label": o.label, "box": list(o.box)} for o in self.objects]
        data["uncertain"] = self.uncertain
        data["confidence"] = round(self.confidence, 4)
        data["timings_ms"] = {k: round(v, 1) for k, v in self.timings_ms.items()}
        return {"image": image, **data}
