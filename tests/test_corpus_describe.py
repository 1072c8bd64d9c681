"""Every broken or odd image in Pillow's test corpus gives a description or a one-line error."""
from __future__ import annotations

from pathlib import Path

from models.captioner import Captioner
from models.errors import ImageError
from models.results import DescribeOptions


def test_every_corpus_file_is_described_or_refused(shared_dir: Path, tiny_florence2_onnx: Path) -> None:
    corpus = shared_dir / "corpus" / "pillow"
    files = sorted(p for p in corpus.iterdir() if p.is_file())
    assert files, f"{corpus} is empty: the corpus ships in ../shared beside the checkout"
    captioner = Captioner.load(tiny_florence2_onnx, device="cpu", dtype="int8", cache_dir=None)
    options = DescribeOptions(beams=1, max_tokens=3)
    described, refused = 0, 0
    for path in files:
        try:
            result = captioner.describe(path, options)
        except ImageError as e:
            message = str(e)
            assert message and "\n" not in message, f"{path.name}: {message!r}"
            refused += 1
        else:
            assert result.token_ids[0] == 2, path.name
            described += 1
    assert described + refused == len(files) > 300
    assert described > 150, f"only {described} of {len(files)} images were described"
