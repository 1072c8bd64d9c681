"""`lumen batch --write-xmp`: captions in XMP sidecars read back by exiv2; pictures untouched;
an existing sidecar keeps its other fields."""
from __future__ import annotations

import hashlib
from pathlib import Path

from services.batch.describer import BatchOptions
from services.batch.pipeline import BatchRequest, run_batch
from services.batch.xmp import EMPTY, sidecar_path
from tests.test_batch import noise, rows_of


def test_sidecars_hold_the_caption_and_keep_other_fields(tiny_florence2_onnx: Path, tmp_path: Path) -> None:
    import pyexiv2

    pics = tmp_path / "pics"
    pics.mkdir()
    new, kept = noise(pics / "new.jpg", 1, "JPEG"), noise(pics / "kept.png", 2)
    before = {p: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in (new, kept)}
    sidecar_path(kept).write_text(EMPTY, encoding="utf-8")
    existing = pyexiv2.Image(str(sidecar_path(kept)))
    existing.modify_xmp({"Xmp.dc.rights": "© the family", "Xmp.dc.subject": ["grandma"]})
    existing.close()

    out = tmp_path / "out.jsonl"
    options = BatchOptions(model=str(tiny_florence2_onnx), max_tokens=6)
    result = run_batch(BatchRequest([str(pics)], out, options, write_xmp=True))
    assert result.exit_code == 0 and result.counts.described == 2
    for row in rows_of(out):
        path = Path(row["image"])
        assert (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns) == before[path]
        sidecar = pyexiv2.Image(str(sidecar_path(path)))
        xmp = sidecar.read_xmp()
        sidecar.close()
        assert xmp["Xmp.dc.description"] == {'lang="x-default"': row["caption"]}
        assert xmp["Xmp.xmp.CreatorTool"].startswith("Lumen ")
        assert xmp["Xmp.lumen.model"] == row["model"]
        if path == kept:
            assert xmp["Xmp.dc.rights"] == {'lang="x-default"': "© the family"}
            assert xmp["Xmp.dc.subject"] == ["grandma"]
    assert sorted(p.name for p in pics.iterdir()) == ["kept.png", "kept.xmp", "new.jpg", "new.xmp"]
