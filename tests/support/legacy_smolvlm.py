"""SmolVLM as onnx-community published it: the folder saved by the transformers of its day.

The published SmolVLM folders were written by transformers 4.4x's Idefics3 classes: a flat
processor_config.json, chat_template.json, preprocessor_config.json, model_type idefics3 and a
tokenizer_config.json with additional_special_tokens. transformers 5 only reads that form, so
this module saves it with transformers 4.48.3 itself, installed once into its own virtual
environment under the test cache (pip, from the package registry), and run as a subprocess.

    python tests/support/legacy_smolvlm.py SOURCE OUT   (inside that environment)

SOURCE is our export of the tiny SmolVLM; OUT gets its ONNX files and everything else saved by
the old library's save_pretrained.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

LEGACY = "transformers==4.48.3"
# Read from the source folder and saved again by the old library; the rest is copied as it is.
SAVED_AGAIN = ("config.json", "processor_config.json", "preprocessor_config.json", "chat_template.jinja",
               "tokenizer_config.json", "tokenizer.json", "special_tokens_map.json")


def build_environment(out: Path) -> None:
    """A virtual environment with the old transformers (no torch: saving needs none)."""
    subprocess.run([sys.executable, "-m", "venv", str(out)], check=True, timeout=300)
    done = subprocess.run([str(out / "bin" / "python"), "-m", "pip", "install", "-q", LEGACY, "pillow"],
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"pip could not install {LEGACY}: {done.stderr.strip()[-400:]}")


def save_published_form(environment: Path, source: Path, out: Path) -> Path:
    """Run this file's main() under the old transformers."""
    done = subprocess.run([str(environment / "bin" / "python"), __file__, str(source), str(out)],
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"{LEGACY} could not save the published form: {done.stderr.strip()[-800:]}")
    return out


def main(source: Path, out: Path) -> None:
    from transformers import Idefics3Config, Idefics3ImageProcessor, PreTrainedTokenizerFast
    # The package's own export stands in a torch check; the module itself needs no torch.
    from transformers.models.idefics3.processing_idefics3 import Idefics3Processor

    shutil.copytree(source, out, ignore=shutil.ignore_patterns(*SAVED_AGAIN))
    nested = json.loads((source / "processor_config.json").read_text())
    image = {k: v for k, v in nested["image_processor"].items() if k != "image_processor_type"}
    tokens = json.loads((source / "tokenizer_config.json").read_text())
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_file=str(source / "tokenizer.json"),
        **{k: tokens[k] for k in ("bos_token", "eos_token", "pad_token", "unk_token") if k in tokens})
    processor = Idefics3Processor(Idefics3ImageProcessor(**image), tokenizer, image_seq_len=nested["image_seq_len"],
                                  chat_template=(source / "chat_template.jinja").read_text())
    processor.save_pretrained(out)
    config = json.loads((source / "config.json").read_text())
    config.pop("model_type", None)
    Idefics3Config(**config).save_pretrained(out)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
