"""How far a batch is: counts, a bar on a terminal, plain periodic lines otherwise."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Callable, TextIO


@dataclass
class Counts:
    """One run's figures. `total` is what this run has to describe (pictures already in the
    output are `already`, files that are not pictures `skipped`)."""

    total: int = 0
    described: int = 0
    failed: int = 0
    skipped: int = 0
    already: int = 0
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None

    @property
    def done(self) -> int:
        return self.described + self.failed

    @property
    def seconds(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    @property
    def rate(self) -> float:
        """Pictures a second so far."""
        return self.done / self.seconds if self.seconds > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        return (self.total - self.done) / self.rate if self.rate > 0 else None

    def summary(self) -> str:
        return (f"{self.described} described, {self.failed} failed, {self.skipped} skipped (not pictures), "
                f"{self.already} already done; {self.seconds:.1f} s, {self.rate:.2f} pictures/s")


ProgressCallback = Callable[[Counts], None]


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class LineProgress:
    """A plain line every `every` seconds (logs, pipes, CI): `batch: 120/1000 ...`."""

    def __init__(self, stream: TextIO, every: float = 10.0) -> None:
        self.stream, self.every = stream, every
        self._last = time.monotonic()

    def __call__(self, counts: Counts) -> None:
        now = time.monotonic()
        if now - self._last < self.every and counts.done < counts.total:
            return
        self._last = now
        print(f"batch: {counts.done}/{counts.total} done, {counts.failed} failed, "
              f"{counts.rate:.2f} pictures/s, ETA {_clock(counts.eta_s)}", file=self.stream, flush=True)

    def close(self) -> None:
        pass


class BarProgress:
    """tqdm's bar: done of total, pictures/s, ETA, failures so far."""

    def __init__(self, stream: TextIO) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=0, unit="picture", file=stream, dynamic_ncols=True, smoothing=0.1)

    def __call__(self, counts: Counts) -> None:
        if self._bar.total != counts.total:
            self._bar.total = counts.total
        self._bar.set_postfix_str(f"{counts.failed} failed", refresh=False)
        self._bar.update(counts.done - self._bar.n)

    def write(self, text: str) -> None:
        self._bar.write(" ".join(text.split()), file=self._bar.fp)

    def close(self) -> None:
        self._bar.close()


def console_progress(stream: TextIO = sys.stderr, every: float = 10.0) -> LineProgress | BarProgress:
    """A bar on a terminal (when tqdm is installed), plain lines otherwise."""
    if stream.isatty():
        try:
            return BarProgress(stream)
        except ImportError:
            pass
    return LineProgress(stream, every)
