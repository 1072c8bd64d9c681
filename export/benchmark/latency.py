"""`lumen bench --latency`: from the global shortcut to the first word heard, in the real app.

The window runs on a private X server (latency_session.py) with the model folder's chosen
dtype; decoding is held to exactly N new tokens (as the speed bench does: random weights would
stop anywhere), which stands for a first sentence of N tokens. Each round:

1. a new picture put on the screen under the window (desktop/window/bench_backdrop.py), then the
   describe-the-screen shortcut (Ctrl+Alt+Shift+D) pressed with xdotool (the global shortcut, heard by pynput like any key);
2. "2", then "1" pressed in the window: the same picture described again at another detail
   level (the redescribe case);
then the shortcut on screens of prose (the text is read aloud from its first lines: the fixed
words "A page of text:" first, then the screen's own text, each timed), and `lumen capture
--screen` from a fresh process (the second trigger).
Each is timed from just before xdotool (or the command) starts to the first non-silent sample
of Lumen's voice handed to the audio player (the player start plus the leading silence of the
synthesised audio) and to the moment the text is handed to the screen reader route. Stages come
from the trace the app writes (services/latency_trace.py). Medians over the presses.
"""
from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from export.benchmark.latency_session import AppSession, LatencyError, XServer, missing_tools
from export.benchmark.process_memory import peak_rss_mb, reset_peak, rss_mb
from models.folder import DTYPE_SUFFIX, ModelFolder
from models.text_first import TEXT_INTRO

# Lumen's default "describe the screen" shortcut, set explicitly (Qt's text, then xdotool's).
SHORTCUT = ("Ctrl+Alt+Shift+D", "ctrl+alt+shift+d")
# "classify": the capture shortcuts' check of the picture's kind (blank, text, photo) first.
STAGES = ("shortcut", "capture", "dispatch", "classify", "preprocess", "vision", "encoder",
          "first_sentence_decoded", "speech_synthesis", "playback_start")


@dataclass(frozen=True)
class LatencyOptions:
    model: Path
    dtype: str | None = None  # None: the folder's own choice
    tokens: int = 20
    presses: int = 5
    capture_commands: int = 2
    text_presses: int = 2  # the shortcut on a screen of text: read aloud from its first lines
    timeout_s: float = 180.0
    ready_timeout_s: float = 600.0
    screen: tuple[int, int] = (1280, 900)  # the virtual display, and so the captured screens


@dataclass
class LatencyResult:
    data: dict[str, Any]
    table: str


def bench_folder(model: Path, dtype: str | None, tokens: int, dest: Path) -> str:
    """A view of `model` (links, no copies) that decodes exactly `tokens` tokens with one dtype.

    Returns the dtype it holds."""
    opened = ModelFolder.open(model, dtype)
    dest.mkdir(parents=True)
    for item in model.iterdir():
        if item.name not in ("onnx", "generation_config.json", "lumen.json"):
            (dest / item.name).symlink_to(item.resolve())
    (dest / "onnx").mkdir()
    for f in (model / "onnx").iterdir():
        if f.is_file() and _dtype_of(f.name) == opened.dtype:
            (dest / "onnx" / f.name).symlink_to(f.resolve())
    gen_path = model / "generation_config.json"
    gen = json.loads(gen_path.read_text()) if gen_path.is_file() else {}
    gen.pop("max_length", None)
    gen.update(min_new_tokens=tokens, max_new_tokens=tokens)
    (dest / "generation_config.json").write_text(json.dumps(gen, indent=2))
    manifest = model / "lumen.json"
    if manifest.is_file():
        data = json.loads(manifest.read_text())
        data["dtype"] = opened.dtype
        (dest / "lumen.json").write_text(json.dumps(data, indent=2))
    ModelFolder.open(dest)  # the view must be a complete folder by itself
    return opened.dtype


def _dtype_of(name: str) -> str:
    """The dtype an onnx/ file belongs to, by its suffix ("vision_encoder_int8.onnx": int8;
    an external data file "x.onnx_data" goes with "x.onnx")."""
    stem = name.split(".onnx")[0]
    by_length = sorted(DTYPE_SUFFIX.items(), key=lambda kv: len(kv[1]), reverse=True)
    return next(d for d, suffix in by_length if stem.endswith(suffix))


def _first(events: list[dict[str, Any]], name: str, after: float = 0.0, **match: Any) -> dict[str, Any] | None:
    return next((e for e in events if e["event"] == name and e["t"] >= after
                 and all(e.get(k) == v for k, v in match.items())), None)


def _complete(events: list[dict[str, Any]]) -> bool:
    said = _first(events, "screen_reader", first=True)
    return bool(said and _first(events, "speech_play", said["t"]) and _first(events, "describe_done"))


def _own_text(event: dict[str, Any]) -> bool:
    """The event carries the screen's own text, not only the fixed "A page of text:"."""
    return bool(event.get("text", "").strip().removeprefix(TEXT_INTRO).strip())


def _first_own_text(events: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((e for e in events if e["event"] == name and _own_text(e)), None)


def _text_complete(events: list[dict[str, Any]]) -> bool:
    """A screen of text: also until the screen's own first words are played."""
    return _complete(events) and _first_own_text(events, "speech_play") is not None


def stages_of(t0: float, events: list[dict[str, Any]]) -> dict[str, float]:
    """One trigger's figures (seconds) from the trace events that followed it."""
    hotkey = _first(events, "hotkey")
    captured = _first(events, "captured")
    start = _first(events, "describe_start")
    done = _first(events, "describe_done")
    said = _first(events, "screen_reader", first=True)
    if start is None or done is None or said is None:
        raise LatencyError(f"incomplete trace: {[e['event'] for e in events]}")
    play = _first(events, "speech_play", said["t"])
    timings = {k: v / 1000.0 for k, v in done.get("timings_ms", {}).items()}
    encoded = sum(timings.get(k, 0.0) for k in ("classify", "preprocess", "vision", "encoder"))
    out = {
        "to_screen_reader_s": said["t"] - t0,
        "to_speech_s": play["t"] + play.get("leading_silence_s", 0.0) - t0 if play else float("nan"),
        "dispatch": start["t"] - (captured or hotkey or {"t": t0})["t"],
        "classify": timings.get("classify", 0.0),
        "preprocess": timings.get("preprocess", 0.0),
        "vision": timings.get("vision", 0.0),
        "encoder": timings.get("encoder", 0.0),
        "first_sentence_decoded": said["t"] - start["t"] - encoded,
        "speech_synthesis": play["t"] - said["t"] if play else float("nan"),
        "playback_start": play.get("leading_silence_s", 0.0) if play else float("nan"),
    }
    if "cpu_s" in done:
        # CPU time of the thread that ran the describe: its share of the work (the window's
        # models use every core, so this is not an idle-machine estimate of the wall time).
        out["describe_cpu_s"] = done["cpu_s"]
    # A screen of text: its own first word, after "A page of text:" (played first, in full).
    own_said, own_play = _first_own_text(events, "screen_reader"), _first_own_text(events, "speech_play")
    if own_said is not None and said.get("text", "").strip().startswith(TEXT_INTRO):
        out["to_text_screen_reader_s"] = own_said["t"] - t0
        if own_play is not None:
            out["to_text_speech_s"] = own_play["t"] + own_play.get("leading_silence_s", 0.0) - t0
    if hotkey is not None:
        out["shortcut"] = hotkey["t"] - t0
    if captured is not None:
        out["capture"] = captured["t"] - (hotkey["t"] if hotkey else t0)
    return out


def _medians(runs: list[dict[str, float]]) -> dict[str, float]:
    keys = [k for k in ("to_speech_s", "to_screen_reader_s", "to_text_speech_s", "to_text_screen_reader_s",
                        *STAGES, "describe_cpu_s") if any(k in r for r in runs)]
    return {k: statistics.median(r[k] for r in runs if k in r) for k in keys}


def run_latency(options: LatencyOptions, log: Callable[[str], Any] = print) -> LatencyResult:
    missing = missing_tools()
    if missing:
        raise LatencyError(f"the latency bench needs {', '.join(missing)}: "
                           "sudo apt-get install xvfb xdotool x11-utils alsa-utils")
    with tempfile.TemporaryDirectory(prefix="lumen-latency-") as tmp:
        work = Path(tmp)
        dtype = bench_folder(options.model, options.dtype, options.tokens, work / "model")
        server = XServer(f"{options.screen[0]}x{options.screen[1]}x24")
        try:
            return _run(options, dtype, work, server.display, log)
        finally:
            server.close()


def _run(options: LatencyOptions, dtype: str, work: Path, display: str, log: Callable[[str], Any]) -> LatencyResult:
    settings = {"speak": "true", "speak_with": "both", "detail": "brief", "history": "false",
                "earcons": "false", "global_hotkeys": "true"}
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    log(f"starting the window on {display} ({dtype}, {options.tokens} tokens per description)")
    app = AppSession(work / "model", display, work / "app", settings, {"screen": SHORTCUT[0]}, log)
    runs: dict[str, list[dict[str, float]]] = {"shortcut": [], "redescribe": [], "text_screen": [],
                                               "capture_command": []}
    try:
        status = app.wait_ready(options.ready_timeout_s)
        ready_s = time.monotonic() - app.started_at
        warm = next((e for e in app.events() if e["event"] == "warm_up"), {})
        time.sleep(1.0)  # let the voice finish its own warm-up and "Lumen is ready."
        start_peak = peak_rss_mb(app.proc.pid)
        peak_reset = reset_peak(app.proc.pid)
        # At rest, model loaded and warmed, nothing described yet.
        rest_rss, rest_private = rss_mb(app.proc.pid), rss_mb(app.proc.pid, "RssAnon")
        for i in range(options.presses):
            app.next_picture()
            t0 = app.xdotool("key", "--clearmodifiers", SHORTCUT[1])
            shortcut = stages_of(t0, app.wait_for(t0, _complete, options.timeout_s))
            runs["shortcut"].append(shortcut)
            time.sleep(0.5)
            for key in ("2", "1"):  # detailed, then brief again: each describes the same picture
                app.focus_window()
                t0 = app.xdotool("key", key)
                again = stages_of(t0, app.wait_for(t0, _complete, options.timeout_s))
                runs["redescribe"].append(again)
                time.sleep(0.5)
            log(f"  press {i + 1}/{options.presses}: shortcut -> speech {shortcut['to_speech_s']:.2f} s, "
                f"describe again -> speech {runs['redescribe'][-1]['to_speech_s']:.2f} s")
        # Each kind's own peak: a screen of text is read by the text reader, whose detector's
        # activations grow with the screen, not by the description model.
        photo_peak = peak_rss_mb(app.proc.pid)
        text_peak_reset = peak_reset and reset_peak(app.proc.pid)
        for i in range(options.text_presses):
            app.next_picture(text=True)
            t0 = app.xdotool("key", "--clearmodifiers", SHORTCUT[1])
            runs["text_screen"].append(stages_of(t0, app.wait_for(t0, _text_complete, options.timeout_s)))
            time.sleep(0.5)
            text = runs["text_screen"][-1]
            log(f"  screen of text {i + 1}: shortcut -> '{TEXT_INTRO}' {text['to_speech_s']:.2f} s, "
                f"-> the screen's own text {text.get('to_text_speech_s', float('nan')):.2f} s")
        text_peak = peak_rss_mb(app.proc.pid) if options.text_presses and text_peak_reset else None
        for i in range(options.capture_commands):
            app.next_picture()
            t0, proc = app.capture_command()
            runs["capture_command"].append(stages_of(t0, app.wait_for(t0, _complete, options.timeout_s)))
            proc.wait(options.timeout_s)
            time.sleep(0.5)
            log(f"  lumen capture {i + 1}: -> speech {runs['capture_command'][-1]['to_speech_s']:.2f} s")
        rss = max((p for p in (peak_rss_mb(app.proc.pid), photo_peak, text_peak) if p is not None), default=None)
        time.sleep(2.0)  # the last result spoken: the window at rest again
        rest_after_rss, rest_after_private = rss_mb(app.proc.pid), rss_mb(app.proc.pid, "RssAnon")
        final = app.request({"cmd": "status"}, timeout=30) or {}
    finally:
        app.close()
    stages = {kind: _medians(r) for kind, r in runs.items() if r}
    data: dict[str, Any] = {
        "shortcut_to_speech_s": stages["shortcut"]["to_speech_s"],
        "shortcut_to_screen_reader_s": stages["shortcut"]["to_screen_reader_s"],
        "redescribe_to_speech_s": stages["redescribe"]["to_speech_s"],
        "redescribe_to_screen_reader_s": stages["redescribe"]["to_screen_reader_s"],
        "capture_command_to_speech_s": stages.get("capture_command", {}).get("to_speech_s"),
        # "A page of text:" (fixed words), then the first word of the screen's own text.
        "text_screen_to_speech_s": stages.get("text_screen", {}).get("to_speech_s"),
        "text_screen_to_text_speech_s": stages.get("text_screen", {}).get("to_text_speech_s"),
        "text_screen_to_text_screen_reader_s": stages.get("text_screen", {}).get("to_text_screen_reader_s"),
        "stages": stages,
        "runs": runs,
        "model": str(options.model), "dtype": dtype, "tokens": options.tokens, "presses": options.presses,
        "app_ready_s": ready_s, "warm_up_s": warm.get("seconds"), "app_peak_rss_mb": rss,
        # The peak while describing when the start could be left out, else over the whole run.
        "app_peak_is_describing": peak_reset, "app_start_peak_rss_mb": start_peak,
        "app_photo_peak_rss_mb": photo_peak if peak_reset else None, "app_text_peak_rss_mb": text_peak,
        "screen": f"{options.screen[0]}x{options.screen[1]}",
        "app_rest_rss_mb": rest_rss, "app_rest_after_rss_mb": rest_after_rss,
        "app_rest_private_mb": rest_private, "app_rest_after_private_mb": rest_after_private,
        "app_heavy_modules": final.get("heavy_modules"),
        "hotkeys": status.get("hotkeys"), "cpu_count": os.cpu_count(),
        "load_average_before": load_before,
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    return LatencyResult(data, latency_table(data))


def latency_table(data: dict[str, Any]) -> str:
    kinds = [k for k in ("shortcut", "redescribe", "text_screen", "capture_command") if k in data["stages"]]
    names = {"shortcut": SHORTCUT[0], "redescribe": "describe again (other detail)",
             "text_screen": f"{SHORTCUT[0]}, a screen of text", "capture_command": "`lumen capture`"}
    lines = [f"Latency, {data['dtype']}, {data['tokens']} tokens, medians of {data['presses']} presses "
             f"(seconds; app ready in {data['app_ready_s']:.1f} s, resident memory at rest "
             f"{data.get('app_rest_rss_mb') or 0:.0f} MB ({data.get('app_rest_private_mb') or 0:.0f} MB private), "
             f"after the presses {data.get('app_rest_after_rss_mb') or 0:.0f} MB "
             f"({data.get('app_rest_after_private_mb') or 0:.0f} MB private), "
             f"peak {data['app_peak_rss_mb'] or 0:.0f} MB"
             f"{' while describing' if data.get('app_peak_is_describing') else ''}"
             f" (photos {data.get('app_photo_peak_rss_mb') or 0:.0f} MB, screens of text "
             f"{data.get('app_text_peak_rss_mb') or 0:.0f} MB; starting: {data.get('app_start_peak_rss_mb') or 0:.0f} MB), "
             f"screen {data.get('screen', '?')}, "
             f"load average {data['load_average_before'] or 0:.1f} before, {data['load_average'] or 0:.1f} after)",
             "", "| stage | " + " | ".join(names[k] for k in kinds) + " |",
             "|---|" + "---:|" * len(kinds)]
    for stage in ("to_speech_s", "to_screen_reader_s", "to_text_speech_s", "to_text_screen_reader_s",
                  *STAGES, "describe_cpu_s"):
        cells = [data["stages"][k].get(stage) for k in kinds]
        if all(c is None for c in cells):
            continue
        label = {"to_speech_s": "**→ first word (Lumen's voice)**",
                 "to_screen_reader_s": "**→ handed to the screen reader**",
                 "to_text_speech_s": "**→ first word of the screen's own text (Lumen's voice)**",
                 "to_text_screen_reader_s": "→ the screen's own text handed to the screen reader",
                 "describe_cpu_s": "describe: CPU time of the thread that ran it",
                 }.get(stage, stage.replace("_", " "))
        lines.append(f"| {label} | " + " | ".join("" if c is None else f"{c:.3f}" for c in cells) + " |")
    return "\n".join(lines)

