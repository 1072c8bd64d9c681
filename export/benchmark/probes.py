"""Measurements around the engine: the machine's GEMM rate, FLOP counts, fresh processes
(peak memory per variant, `lumen describe` cold and warm, the app's window start)."""
from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

GEMM_N = 2048
ROOT = Path(__file__).resolve().parents[2]


def _rate(call: Callable[[], object], repeats: int, flops: float) -> float:
    """GFLOP/s of `call` (median of `repeats` timed runs after one warm-up run)."""
    call()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return flops / statistics.median(times) / 1e9


def gemm_gflops_ort(n: int = GEMM_N, repeats: int = 5, threads: int | None = None) -> float:
    """onnxruntime's fp32 MatMul rate on n x n x n, GFLOP/s (median of `repeats`)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [n, n])
    c = helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "gemm", [a, b], [c])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {"a": rng.standard_normal((n, n), dtype=np.float32), "b": rng.standard_normal((n, n), dtype=np.float32)}
    return _rate(lambda: session.run(None, feeds), repeats, 2.0 * n**3)


def gemm_gflops_torch(n: int = GEMM_N, repeats: int = 5) -> float:
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    return _rate(lambda: torch.matmul(a, b), repeats, 2.0 * n**3)


def vision_flops(torch_side: Any, pixels: np.ndarray) -> float:
    """FLOPs of one vision-encoder pass (image features), counted by torch's flop counter."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        torch_side.features(pixels)
    return float(counter.get_total_flops())


def gpu_name() -> str | None:
    """The NVIDIA card nvidia-smi names (None without a driver): GPU figures say which card."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.strip().splitlines()[0] if out.strip() else None


def _python() -> list[str]:
    return [sys.executable]


def child_env(**extra: str) -> dict[str, str]:
    """This environment for a Python child that must import this checkout's Lumen."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


def variant_process(model: Path, dtype: str, tokens: int, threads: int | None,
                    cache_dir: Path) -> dict[str, Any]:
    """Load and run one variant in a fresh process; its own report (peak RSS, load, first token)."""
    cmd = [*_python(), "-m", "export.benchmark.worker", "--model", str(model), "--dtype", dtype,
           "--tokens", str(tokens), "--cache-dir", str(cache_dir)]
    if threads:
        cmd += ["--threads", str(threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), timeout=1800)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"worker exited with {done.returncode}: {tail}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def torch_process(model: Path, checkpoint: Path, tokens: int, runs: int, threads: int | None) -> dict[str, Any]:
    """transformers alone in a fresh process: median total, peak RSS (see worker.py)."""
    cmd = [*_python(), "-m", "export.benchmark.worker", "--model", str(model), "--torch-checkpoint",
           str(checkpoint), "--tokens", str(tokens), "--runs", str(runs)]
    if threads:
        cmd += ["--threads", str(threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), timeout=3600)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"worker exited with {done.returncode}: {tail}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def describe_cold_warm(model: Path, dtype: str, image: Path, tokens: int,
                       threads: int | None) -> dict[str, Any]:
    """`lumen describe` twice with one fresh cache folder: first without, then with the
    optimised graphs saved by the first run. Wall time of the whole process each."""
    cmd = [*_python(), "-m", "desktop.cli", "describe", str(image), "--model", str(model), "--dtype", dtype,
           "--device", "cpu", "--max-tokens", str(tokens), "--json"]
    if threads:
        cmd += ["--threads", str(threads)]
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="lumen-bench-cache-") as cache:
        for label in ("cold", "warm"):
            t = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800,
                                  env=child_env(XDG_CACHE_HOME=cache))
            out[f"describe_{label}_s"] = time.perf_counter() - t
            if done.returncode != 0:
                return {"describe_error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
            out[f"describe_{label}_load_s"] = json.loads(done.stdout.splitlines()[-1])["timings_ms"]["load"] / 1000.0
    return out


def _ask(path: str, request: dict[str, Any], timeout: float = 0.5) -> dict[str, Any] | None:
    """One request to a running Lumen over its local socket (desktop/capture/single_instance.py)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall((json.dumps(request) + "\n").encode())
            data = b""
            while b"\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None
    line = data.split(b"\n", 1)[0].strip()
    return json.loads(line) if line else None


def app_start(model: Path | None, runs: int = 3, limit_s: float = 60.0) -> dict[str, Any]:
    """Process start -> main window shown, for `lumen` under Qt's offscreen platform.

    The app answers `status` on its instance socket once its event loop runs, which is after
    `window.show()`; the first answer with "visible": true marks the window shown. Each start
    gets its own settings, data and socket, and the process is ended afterwards.
    """
    if sys.platform == "win32":
        return {"app_start_error": "measured on Linux and macOS only"}
    times: list[float] = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="lumen-bench-app-") as tmp:
            sock = str(Path(tmp) / "lumen.sock")
            env = child_env(QT_QPA_PLATFORM="offscreen", LUMEN_INSTANCE=sock, LUMEN_CONFIG_DIR=str(Path(tmp) / "config"),
                       LUMEN_DATA_DIR=str(Path(tmp) / "data"), XDG_CACHE_HOME=str(Path(tmp) / "cache"))
            cmd = [*_python(), "-m", "desktop.cli"] + (["--model", str(model)] if model else [])
            log = Path(tmp) / "stderr.txt"
            t = time.perf_counter()
            with log.open("wb") as err_file:
                proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err_file)
            shown = None
            try:
                while time.perf_counter() - t < limit_s and proc.poll() is None:
                    reply = _ask(sock, {"cmd": "status"}) if os.path.exists(sock) else None
                    if reply and reply.get("visible"):
                        shown = time.perf_counter() - t
                        break
                    time.sleep(0.01)
            finally:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if shown is None:
                err = (log.read_text(errors="replace").strip().splitlines() or ["no output"])[-1]
                return {"app_start_error": f"the window was not reported shown within {limit_s:.0f} s ({err})"}
            times.append(shown)
    return {"app_start_s": statistics.median(times), "app_start_runs_s": times}
