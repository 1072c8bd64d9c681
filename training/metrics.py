"""Caption metrics as the COCO caption evaluation computes them, plus WER. No torch; offline.

BLEU-1..4, METEOR, ROUGE-L and CIDEr come from pycocoevalcap, the reference code of the COCO
caption evaluation, run the way its COCOEvalCap.evaluate runs them: PTB-tokenize references and
candidates (Stanford's tokenizer, Java), then each scorer on the tokenized text. SPICE is left out:
it downloads Stanford CoreNLP at run time. METEOR runs the bundled meteor-1.5.jar (Java).
WER is jiwer's (corpus-level: all word edits over all reference words) on the same PTB-tokenized
text, against each picture's first reference; jiwer is a maintained, tested implementation, so
we do not write our own edit distance.
"""
from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping, Sequence

from models.errors import LumenError
from models.exit_status import ExitStatus

NAMES = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr", "WER")


class MetricsError(LumenError):
    exit_code = ExitStatus.TRAINING


def _need_java() -> None:
    import shutil

    if shutil.which("java") is None:
        raise MetricsError("the caption metrics (METEOR and the PTB tokenizer) need Java: install "
                           "a Java runtime (Debian/Ubuntu: apt-get install default-jre-headless).")


def tokenize(texts: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """PTB-tokenized, lower-cased, punctuation removed: what every COCO scorer reads."""
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    with _quiet_stderr():  # the Java tokenizer reports its speed there
        return PTBTokenizer().tokenize({k: [{"caption": t} for t in v] for k, v in texts.items()})


@contextlib.contextmanager
def _quiet_stderr():
    import os
    import sys

    try:
        fd = sys.stderr.fileno()
    except (AttributeError, ValueError, io.UnsupportedOperation):  # captured: nothing to hide
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def caption_scores(references: Mapping[str, Sequence[str]], predictions: Mapping[str, str]) -> dict[str, float]:
    """Corpus scores for `predictions` (key -> caption) against `references` (key -> captions)."""
    from jiwer import wer
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge

    keys = [k for k in references if k in predictions]
    if not keys:
        raise MetricsError("no picture has both a reference and a prediction to score.")
    if any(not references[k] for k in keys):
        raise MetricsError("a picture has no reference caption.")
    _need_java()
    with contextlib.redirect_stdout(io.StringIO()):  # Bleu prints its counts
        gts = tokenize({k: list(references[k]) for k in keys})
        res = tokenize({k: [predictions[k]] for k in keys})
        bleu, _ = Bleu(4).compute_score(gts, res)
        meteor_scorer = Meteor()
        try:
            meteor, _ = meteor_scorer.compute_score(gts, res)
        finally:
            _close(meteor_scorer)
        rouge, _ = Rouge().compute_score(gts, res)
        cider, _ = Cider().compute_score(gts, res)
    refs = [gts[k][0] for k in keys]
    hyps = [res[k][0] for k in keys]
    scores = {f"BLEU-{n + 1}": float(b) for n, b in enumerate(bleu)}
    scores.update({"METEOR": float(meteor), "ROUGE-L": float(rouge), "CIDEr": float(cider),
                   "WER": float(wer(refs, hyps)) if any(r.strip() for r in refs) else 0.0})
    return scores


def _close(meteor) -> None:
    """End METEOR's Java process (pycocoevalcap only does so when the object is collected)."""
    proc = getattr(meteor, "meteor_p", None)
    if proc is None:
        return
    with meteor.lock:
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            with contextlib.suppress(Exception):
                stream.close()
        proc.kill()
        proc.wait()


def clip_score(similarities: Sequence[float]) -> float:
    """CLIPScore (Hessel et al., 2021): mean of 2.5 * max(cosine(image, caption), 0)."""
    return float(sum(2.5 * max(s, 0.0) for s in similarities) / len(similarities)) if similarities else 0.0
