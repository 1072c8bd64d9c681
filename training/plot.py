"""The loss curve of a run as a PNG (matplotlib's Agg backend: no display needed)."""
from __future__ import annotations

import math
from pathlib import Path


def loss_curve(history: list[dict[str, float]], out: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    epochs = [row["epoch"] for row in history]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    trained = [row for row in history if not math.isnan(row["train_loss"])]
    ax.plot([row["epoch"] for row in trained], [row["train_loss"] for row in trained], marker="o",
            label="training loss (mean over the epoch)")
    val = [row["val_loss"] for row in history]
    if not all(math.isnan(v) for v in val):
        ax.plot(epochs, val, marker="s", label="validation loss")
        best = min((v, e) for v, e in zip(val, epochs) if not math.isnan(v))
        ax.axvline(best[1], color="grey", linestyle=":", label=f"best (epoch {best[1]})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
