"""Florence-2-large's architecture, written from Florence-2-base's config folder.

There is no model hub here, so the large model's speed is measured on random weights built from
its published sizes (DaViT 256-512-1024-2048 with 8-16-32-64 heads; BART-large: d_model 1024,
12 + 12 layers, 16 heads, FFN 4096; projection 1024). The tokenizer and image processor are the
same files as the base model's.

    python -m export.benchmark.large_config ../shared/florence2-base /tmp/florence2-large
    lumen bench --random-weights /tmp/florence2-large --dtypes fp16
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

VISION = {"dim_embed": [256, 512, 1024, 2048], "num_heads": [8, 16, 32, 64],
          "num_groups": [8, 16, 32, 64], "depths": [1, 1, 9, 1], "projection_dim": 1024}
TEXT = {"d_model": 1024, "encoder_layers": 12, "decoder_layers": 12, "num_hidden_layers": 12,
        "encoder_attention_heads": 16, "decoder_attention_heads": 16,
        "encoder_ffn_dim": 4096, "decoder_ffn_dim": 4096}


def write_large_config(base: Path, out: Path) -> Path:
    """Copy `base` to `out` with the large sizes in config.json; returns `out`."""
    out.mkdir(parents=True, exist_ok=True)
    for item in base.iterdir():
        if item.is_file():
            shutil.copyfile(item, out / item.name)
    config = json.loads((base / "config.json").read_text())
    config["vision_config"].update(VISION)
    config["text_config"].update(TEXT)
    config["projection_dim"] = 1024
    config["_name_or_path"] = "./Florence-2-large-ft (random weights)"
    (out / "config.json").write_text(json.dumps(config, indent=2))
    return out


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m export.benchmark.large_config BASE_CONFIG_DIR OUT_DIR")
    print(write_large_config(Path(sys.argv[1]), Path(sys.argv[2])))
