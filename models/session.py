"""The one place ONNX Runtime sessions are made: provider choice, threads, optimised-graph cache."""
from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from models import graph_cache
from models.errors import ModelFolderError, ModelRuntimeError

log = logging.getLogger(__name__)

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class SessionConfig:
    device: str = "auto"
    threads: int | None = None  # None: one per physical core, as ONNX Runtime's default
    cache_dir: Path | None = None  # optimised graphs are saved here for a fast second start
    # Spinning threads answer the next operator a little sooner but hold their cores while
    # they wait: the window turns it off so its own thread and the screen reader get the CPU.
    spin: bool = True

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}")


@dataclass(frozen=True)
class ProviderChoice:
    providers: tuple[str, ...]
    warning: str | None = None


def available_providers() -> list[str]:
    """Execution providers this onnxruntime offers ([] when onnxruntime is not installed)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return []
    return list(ort.get_available_providers())


_FLOATS = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


def float_input_types(session: Any) -> dict[str, type]:
    """Each float input's element type as the file declares it (fp16 files take fp16)."""
    return {i.name: _FLOATS[i.type] for i in session.get_inputs() if i.type in _FLOATS}


@dataclass(frozen=True, eq=False)
class OnnxSession:
    """One opened ONNX file: the onnxruntime session, the provider it really runs on, a warning
    for the user (or None), and its float inputs' element types, read once when it opened.

    The types travel with the session: nothing is cached by id(), which a later session can
    reuse once this one is freed.
    """

    session: Any
    provider: str
    warning: str | None
    input_types: dict[str, type]
    path: Path

    def get_inputs(self) -> list:
        return self.session.get_inputs()

    def get_outputs(self) -> list:
        return self.session.get_outputs()

    def get_modelmeta(self) -> Any:
        return self.session.get_modelmeta()

    def run(self, feeds: Mapping[str, np.ndarray], outputs: list[str] | None = None,
            quiet: bool = False) -> list:
        """session.run with float feeds cast to what the file declares and ONNX Runtime's
        errors turned into ModelRuntimeError (`quiet`: ONNX Runtime logs nothing of it). On
        the CPU the arena gives its free blocks back once the run is over (_run_options)."""
        return _run(self.session, self.input_types, feeds, outputs, quiet, self.provider == CPU)


@dataclass(frozen=True)
class PartSessions:
    """A model's ONNX parts, opened together: one provider and the first warning for the user."""

    sessions: dict[str, OnnxSession]
    provider: str
    warning: str | None

    def __getitem__(self, part: str) -> OnnxSession:
        return self.sessions[part]


def choose_providers(device: str, available: list[str]) -> ProviderChoice:
    """CUDA first when present (or asked for), CPU always as the fallback."""
    if device == "cpu":
        return ProviderChoice((CPU,))
    if CUDA in available:
        return ProviderChoice((CUDA, CPU))
    if device == "cuda":
        return ProviderChoice(
            (CPU,), "CUDA was asked for but this onnxruntime has no CUDA provider "
            "(install onnxruntime-gpu and the CUDA/cuDNN libraries it needs); using the CPU",
        )
    return ProviderChoice((CPU,))


def _cache_path(model: Path, config: SessionConfig, providers: tuple[str, ...]) -> Path | None:
    if config.cache_dir is None or providers[0] != CPU:
        return None  # optimised graphs are hardware-specific; only cache the CPU one
    return graph_cache.entry_path(model, config.cache_dir, config.threads)


_shared_arena: bool | None = None


def _shared_cpu_arena(ort: object) -> bool:
    """One CPU memory arena for every session of the process, grown by what is asked.

    A model's sessions run one after another: shared, the text encoder and the decoder reuse
    the vision encoder's freed activations instead of growing arenas of their own, and growing
    by the request instead of doubling leaves no unused tail. Florence-2-base int8: peak RSS
    1083 -> 939 MB, no slower.
    """
    global _shared_arena
    if _shared_arena is None:
        try:
            info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0,  # type: ignore[attr-defined]
                                     ort.OrtMemType.DEFAULT)  # type: ignore[attr-defined]
            same_as_requested = 1  # ArenaExtendStrategy::kSameAsRequested
            ort.create_and_register_allocator(info, ort.OrtArenaCfg(0, same_as_requested, -1, -1))  # type: ignore[attr-defined]
            _shared_arena = True
        except Exception as e:  # an onnxruntime without the API: each session keeps its own arena
            log.debug("no shared CPU arena: %s", e)
            _shared_arena = False
    return _shared_arena


def create_session(model: Path, config: SessionConfig = SessionConfig(), *,
                   reopen: bool = True) -> OnnxSession:
    """Open `model` on the configured device (raises ModelFolderError when it cannot load)."""
    import onnxruntime as ort

    if not model.is_file():
        raise ModelFolderError(f"{model.name} is missing from {model.parent}; reinstall the model with `lumen models install`")
    ort.set_default_logger_severity(3)  # our exceptions carry the message; no console noise
    choice = choose_providers(config.device, available_providers())
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.inter_op_num_threads = 1
    # The memory pattern plans one block for a run's every intermediate tensor: Florence-2's
    # vision encoder then peaks at 1.1 GB instead of 0.67 GB (int8), and it is no faster; the
    # decoder's shapes change every step, so a plan is never reused there anyway.
    options.enable_mem_pattern = False
    # Reuse hands a dead tensor's block to a later tensor of the same size, so the block stays
    # allocated, unused, in between: in Florence-2's vision encoder eleven 18 MB blocks were
    # held at once where two or three were alive. Without it a block goes back to the arena at
    # its tensor's last use: the encoder's run peak 370-424 -> 280 MB above the loaded session,
    # no slower (int8, 768 x 768, 2 threads; README, Memory at rest).
    options.enable_mem_reuse = False
    if _shared_cpu_arena(ort):
        options.add_session_config_entry("session.use_env_allocators", "1")
    if config.threads:
        options.intra_op_num_threads = config.threads
    if not config.spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    path = model
    cached = _cache_path(model, config, choice.providers)
    staging = None
    if cached is not None and cached.is_file():
        path = cached  # already optimised: skip the optimiser on this start
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    else:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if cached is not None:
            staging = cached.parent.with_name(f"{cached.parent.name}.tmp{os.getpid()}")
            shutil.rmtree(staging, ignore_errors=True)
            try:
                staging.mkdir(parents=True)
            except OSError as e:  # a cache folder that cannot be written: start without it
                log.info("no optimised-graph cache in %s: %s", config.cache_dir, e)
                return create_session(model, replace(config, cache_dir=None), reopen=False)
            options.optimized_model_filepath = str(staging / cached.name)
            graph_cache.save_weights_apart(options)
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=list(choice.providers))
    except Exception as e:  # ONNX Runtime raises its own Fail/InvalidGraph/... types
        if staging is not None:  # writing the cache may be what failed (a full disk): try without
            shutil.rmtree(staging, ignore_errors=True)
            return create_session(model, replace(config, cache_dir=None), reopen=False)
        if path != model:  # a damaged cache must never stop the app: drop it and retry
            shutil.rmtree(cached.parent, ignore_errors=True)
            return create_session(model, config, reopen=False)
        raise ModelFolderError(
            f"{model.name} in {model.parent} cannot be loaded ({str(e).splitlines()[0][:160]}); "
            "the file may be damaged: reinstall the model"
        ) from e
    if staging is not None and graph_cache.publish(staging, cached, model) and reopen:
        # A session that ran the optimiser keeps its leftovers (130 MB for Florence-2 int8) and
        # its weights on the heap; opened from the saved graph it maps them from the file.
        del session
        return create_session(model, config, reopen=False)
    used = session.get_providers()[0]
    warning = choice.warning
    if choice.providers[0] == CUDA and used != CUDA:
        warning = "the CUDA provider failed to start (check the CUDA and cuDNN libraries); using the CPU"
    if warning:
        log.warning(warning)
    return OnnxSession(session, used, warning, float_input_types(session), model)


def open_parts(files: Mapping[str, Path], config: SessionConfig = SessionConfig()) -> PartSessions:
    """Open each part's file (in order); the provider is the first part's."""
    sessions = {part: create_session(path, config) for part, path in files.items()}
    first = next(iter(sessions.values()))
    warning = next((s.warning for s in sessions.values() if s.warning), None)
    return PartSessions(sessions, first.provider, warning)


def run(session: OnnxSession | Any, feeds: Mapping[str, np.ndarray], outputs: list[str] | None = None,
        quiet: bool = False) -> list:
    """`session.run(feeds, outputs)` for an OnnxSession; any other object with onnxruntime's
    get_inputs/run (a test double) has its input types read on every call. `quiet` is for a
    run whose failure is an expected answer: ONNX Runtime's own error line is not printed."""
    if isinstance(session, OnnxSession):
        return session.run(feeds, outputs, quiet)
    return _run(session, float_input_types(session), feeds, outputs, quiet)


def _run_options(quiet: bool, shrink: bool) -> Any:
    import onnxruntime as ort

    options = ort.RunOptions()
    if quiet:
        options.log_severity_level = 4  # fatal only: the session's default would print kernel errors
    if shrink:
        # Every run's activations go back to the system instead of staying in the arena for the
        # process's life: the vision encoder's ~500 MB, and the text encoder's and decoder's,
        # whose differently sized blocks otherwise grow the arena describe after describe.
        # Florence-2-base int8 in a window-like process, at rest after four pictures described
        # at three levels: 559 -> 453 MB; decoding 40 tokens no slower (930 vs 940 ms).
        options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    return options


def _run(session: Any, types: dict[str, type], feeds: Mapping[str, np.ndarray],
         outputs: list[str] | None, quiet: bool = False, shrink: bool = False) -> list:
    feeds = {k: v.astype(types[k]) if k in types and v.dtype != types[k] else v for k, v in feeds.items()}
    try:
        if quiet or shrink:
            return session.run(outputs, feeds, _run_options(quiet, shrink))
        return session.run(outputs, feeds)
    except Exception as e:
        raise ModelRuntimeError(
            f"the model failed while running ({str(e).splitlines()[0][:160]}); "
            "try another model or `--device cpu`"
        ) from e


