"""`lumen evaluate MODEL... --data DIR`: BLEU-1..4, METEOR, ROUGE-L, CIDEr (COCO caption
evaluation), WER, CLIPScore (when a CLIP model is installed), mean confidence and seconds per
picture, side by side, on every picture of DIR, or with --held-out on the share `lumen train`
holds out."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from desktop.cli.common import whole_number
from models.errors import UsageError, require_extra


def share(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0 < number <= 1:
        raise argparse.ArgumentTypeError("must be above 0 and at most 1")
    return number


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("models", nargs="*", metavar="MODEL", help="installed model names or model folders")
    parser.add_argument("--data", type=Path, required=True, metavar="DIR",
                        help="dataset folder as for `lumen train`")
    parser.add_argument("--held-out", action="store_true",
                        help="score only the share `lumen train` holds out of DIR (default: every picture)")
    parser.add_argument("--val-split", type=share, metavar="F",
                        help="with --held-out (implied): the share `lumen train --val-split F` held out (default 0.1)")
    parser.add_argument("--predictions", type=Path, metavar="FILE",
                        help="also score captions made elsewhere (JSONL file_name,text or CSV image,caption)")
    parser.add_argument("--samples", type=whole_number(0), default=3, metavar="N",
                        help="sample captions to show (default 3)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")


def _table(results, samples: list[tuple[str, str]]) -> str:
    from training.metrics import NAMES

    names = [r.name for r in results]
    width = max(12, *(len(n) for n in names))
    rows = [f"{'':<20}" + "".join(f"{n:>{width + 2}}" for n in names)]

    def row(label: str, values) -> None:
        rows.append(f"{label:<20}" + "".join(f"{v:>{width + 2}}" for v in values))

    for metric in NAMES:
        row(metric, [f"{r.metrics[metric]:.3f}" for r in results])
    row("CLIPScore", ["-" if r.clip_score is None else f"{r.clip_score:.3f}" for r in results])
    row("mean confidence", ["-" if r.confidence is None else f"{r.confidence:.3f}" for r in results])
    row("seconds/picture", ["-" if r.seconds_per_picture is None else f"{r.seconds_per_picture:.3f}"
                            for r in results])
    for key, reference in samples:
        rows.append(f"\n{key}\n  reference: {reference}")
        for r in results:
            rows.append(f"  {r.name}: {r.captions.get(key, '-')}")
    notes = sorted({n for r in results for n in r.notes})
    return "\n".join(rows + [f"note: {n}" for n in notes])


def run(args: argparse.Namespace) -> None:
    require_extra("train", "pycocoevalcap", "jiwer", what="the caption metrics")
    if not args.models and args.predictions is None:
        raise UsageError("name at least one MODEL (an installed name or a folder), or --predictions FILE")
    from training.evaluate import evaluate, key_of, remember, scored_set

    log = (lambda line: print(line, file=sys.stderr, flush=True)) if args.json else \
        (lambda line: print(line, flush=True))
    held_out = args.held_out or args.val_split is not None
    val_split = (0.1 if args.val_split is None else args.val_split) if held_out else None
    scored = scored_set(val_split)
    results, pairs, references = evaluate(args.models, args.data, predictions=args.predictions,
                                          val_split=val_split, device=args.device, log=log)
    remember(results, len(pairs), args.data, scored)
    samples = [(key_of(p, args.data), " | ".join(references[key_of(p, args.data)]))
               for p in pairs[:args.samples]]
    if args.json:
        print(json.dumps({
            "data": str(args.data), "pictures": len(pairs), "set": scored, "val_split": val_split,
            "models": [r.to_json() for r in results],
            "samples": [{"picture": k, "reference": ref,
                         "captions": {r.name: r.captions.get(k) for r in results}} for k, ref in samples],
            "notes": sorted({n for r in results for n in r.notes}),
        }, indent=2))
    else:
        print(f"{len(pairs)} pictures scored: " + (
            f"the share `lumen train --val-split {val_split:g}` holds out of {args.data}" if held_out
            else f"every picture of {args.data}"))
        print(_table(results, samples))
