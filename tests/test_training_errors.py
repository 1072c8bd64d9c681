"""How `lumen train` and `lumen distill` end when they fail: one rule (training.api), one sentence."""
from __future__ import annotations

import pytest

from models.errors import CancelledError, ModelFolderError
from training.api import ends_as_lumen_errors
from training.families import TrainingError


def _run(exc: BaseException):
    @ends_as_lumen_errors("distillation")
    def distill(teacher_src: str, data: str, name: str | None = None) -> None:
        raise exc

    return distill


@pytest.mark.parametrize("exc", [OSError("disk full"), ValueError("bad shape"), RuntimeError("CUDA out of memory")])
def test_library_failures_become_one_training_error(exc: BaseException) -> None:
    with pytest.raises(TrainingError) as caught:
        _run(exc)("teacher", "data")
    assert str(caught.value) == f"distillation failed: {exc}" and caught.value.exit_code == 8


def test_ctrl_c_keeps_checkpoints_and_names_the_run_to_resume() -> None:
    with pytest.raises(CancelledError) as caught:
        _run(KeyboardInterrupt())("teacher", "data", name="small")
    assert str(caught.value) == ("interrupted; the checkpoints of finished epochs are kept: run the same "
                                 "command again to resume 'small'")
    assert caught.value.exit_code == 130
    with pytest.raises(CancelledError, match="to resume$"):
        _run(KeyboardInterrupt())("teacher", "data")


def test_our_own_errors_and_other_bugs_pass_unchanged() -> None:
    own = ModelFolderError("no such folder; give another")
    with pytest.raises(ModelFolderError) as caught:
        _run(own)("teacher", "data")
    assert caught.value is own
    with pytest.raises(KeyError):
        _run(KeyError("a bug"))("teacher", "data")
