"""Every status a `lumen` command can end with: README's "Exit statuses" table, as one enum.

Commands raise our exceptions (models/errors.py `LumenError` and its subclasses, each carrying
one of these); desktop/cli/__init__.py alone turns an exception into a status. tests/test_exit_statuses.py
checks this enum and the README table against each other, both ways.
"""
from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    FAILED = 1  # something else failed, or a bug in Lumen ("please report this")
    USAGE = 2  # something given on the command line cannot be used (option, value, name, picture)
    NO_MODEL = 3  # no usable model: missing, incomplete or damaged folder
    MODEL_FAILED = 4  # the model failed while running
    EXPORT = 5  # exporting a model failed
    SPEECH = 6  # speech could not be produced or written
    TRANSLATION = 7  # translation is not installed for the language asked
    TRAINING = 8  # training could not start or go on
    CAPTURE = 9  # the screen could not be captured
    NO_DISPLAY = 10  # no display to open the window on or to capture
    SOME_FAILED = 11  # a batch: some pictures were described, others failed
    NOT_INSTALLED = 12  # an optional part of Lumen (an extra: export, train, serve, translate) is missing
    INTERRUPTED = 130  # Ctrl+C, or cancelled
    BROKEN_PIPE = 141  # the reader of the output went away (`| head -1`)

    @classmethod
    def most_serious(cls, statuses: Iterable[int]) -> ExitStatus:
        """The status of a run that met all of `statuses` (OK when none): the first in SEVERITY."""
        met = {cls(s) for s in statuses}
        return next((s for s in SEVERITY if s in met), cls.OK)

    @classmethod
    def of_batch(cls, described: int, failures: Iterable[int]) -> ExitStatus:
        """A batch of pictures (`lumen describe a.png b.png`): the most serious status met, where a
        batch with both described and failed pictures has also met SOME_FAILED. So one unreadable
        picture among good ones gives SOME_FAILED, all unreadable give USAGE, and a failure that is
        more serious than a partial batch (the model failed, no model) is never hidden by it."""
        failures = list(failures)
        partial = [cls.SOME_FAILED] if described and failures else []
        return cls.most_serious([*failures, *partial])


# "Most serious" first: a run that was stopped, then a bug, then what breaks every picture (the
# model, the set-up), then what one command's own step lacks, then a partial batch, then one bad
# input. A batch reports the first of these it met (ExitStatus.most_serious).
SEVERITY: tuple[ExitStatus, ...] = (
    ExitStatus.INTERRUPTED, ExitStatus.BROKEN_PIPE, ExitStatus.FAILED,
    ExitStatus.NOT_INSTALLED, ExitStatus.NO_MODEL, ExitStatus.MODEL_FAILED, ExitStatus.NO_DISPLAY,
    ExitStatus.CAPTURE, ExitStatus.EXPORT, ExitStatus.TRAINING, ExitStatus.SPEECH,
    ExitStatus.TRANSLATION, ExitStatus.SOME_FAILED, ExitStatus.USAGE, ExitStatus.OK,
)
