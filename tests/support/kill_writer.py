"""A process that writes one kind of Lumen's files in a loop, to be killed with SIGKILL.

    python -m tests.support.kill_writer KIND ROOT [START]

Each item goes through the same code the window, the CLI or the API server uses; after an item
is committed the process prints its number (from START) and flushes, so the killer knows which
items were complete before the kill. KIND: history, training, settings, checkpoint, import
(ROOT/pack.zip must exist), install (argument 3: the hub endpoint; prints nothing, runs once).
"""
from __future__ import annotations

import io
import os
import sys
from pathlib import Path

HISTORY_LIMIT = 5  # small, so the kills also land inside trims


def picture(n: int) -> bytes:
    """A different small PNG for every n."""
    from PIL import Image

    img = Image.new("RGB", (64, 48), (n % 251, (n * 7) % 253, (n * 13) % 255))
    img.putpixel((n % 64, (n // 64) % 48), (255 - n % 251, 0, 0))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def _history(root: Path, n: int) -> None:
    from desktop.results.history import HistoryStore

    HistoryStore(root, limit=HISTORY_LIMIT).add(
        source="screen", task="caption", detail="brief", text=f"item {n}", uncertain=False,
        image=picture(n))


def _training(root: Path, n: int) -> None:
    from services.training_set import TrainingSet

    TrainingSet(root).add(picture(n), f"item {n}", source="api")


def _settings(root: Path, n: int) -> None:
    from desktop.settings import load_settings, save_settings

    os.environ["LUMEN_CONFIG_DIR"] = str(root)
    settings = load_settings()
    settings.voice = f"item {n}"
    settings.text_scale = 100 + 25 * (n % 9)
    save_settings(settings)


def _checkpoint(root: Path, n: int) -> None:
    from training import checkpoints

    def write_model(folder: Path) -> None:  # stands in for save_pretrained: a weights file
        (folder / "model.safetensors").write_bytes(bytes([n % 256]) * (1 << 20))
        (folder / "config.json").write_text(f'{{"item": {n}}}')

    state = checkpoints.RunState(identity={"run": "kill"}, epoch=n, best_epoch=n, best_val=1.0 / n)
    checkpoints.save(root, state, write_model, None)


def _import(root: Path, n: int) -> None:
    from models.pack import import_model
    from models.registry import Registry

    import_model(root / "pack.zip", name=f"m{n}", registry=Registry(root / "models"),
                 make_default=False)


WRITERS = {"history": _history, "training": _training, "settings": _settings,
           "checkpoint": _checkpoint, "import": _import}


def _install(root: Path, endpoint: str) -> None:
    import huggingface_hub.constants

    from models import catalogue
    from models.download import install, plan_install
    from models.registry import Registry

    huggingface_hub.constants.DOWNLOAD_CHUNK_SIZE = 16 * 1024  # many writes, many kill points
    entry = catalogue.find("florence-2-base-ft")
    install(plan_install(entry, "int8", endpoint=endpoint), registry=Registry(root))


def main(argv: list[str]) -> None:
    kind, root = argv[0], Path(argv[1])
    if kind == "install":
        _install(root, argv[2])
        return
    n = int(argv[2]) if len(argv) > 2 else 1
    write = WRITERS[kind]
    while True:
        write(root, n)
        print(n, flush=True)
        n += 1


if __name__ == "__main__":
    main(sys.argv[1:])
