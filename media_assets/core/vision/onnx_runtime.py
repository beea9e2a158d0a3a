"""ONNX Runtime plumbing shared by the vision models: execution mode, providers, threads, weights identity.

The mode is explicit and recorded: ``cpu_only`` never touches a GPU provider, ``gpu`` requires the CUDA
provider (onnxruntime-gpu) and fails clearly without it, ``auto`` picks CUDA when present, else CPU.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import onnxruntime as ort

from media_assets.core.errors import ModelLoadError

Mode = Literal["auto", "cpu_only", "gpu"]
CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"


@dataclass(frozen=True)
class Runtime:
    """A resolved execution mode: what every session of a run uses."""

    mode: Literal["cpu_only", "gpu"]
    providers: tuple[str, ...]
    intra_op_threads: int = 0
    inter_op_threads: int = 0

    @property
    def device(self) -> str:
        return "cuda" if self.mode == "gpu" else "cpu"


def resolve_runtime(mode: Mode = "auto", intra_op_threads: int = 0, inter_op_threads: int = 0) -> Runtime:
    """Providers for ``mode``; ``gpu`` without the CUDA provider is an error, not a silent CPU fallback."""
    available = ort.get_available_providers()
    if mode == "gpu" or (mode == "auto" and CUDA in available):
        if CUDA not in available:
            raise RuntimeError(
                f"vision mode 'gpu' needs onnxruntime's {CUDA}, but only {available} are available: install "
                "onnxruntime-gpu (pip install 'media-assets[gpu]') or set the mode to cpu_only/auto"
            )
        return Runtime("gpu", (CUDA, CPU), intra_op_threads, inter_op_threads)
    if mode not in ("auto", "cpu_only"):
        raise ValueError(f"unknown vision mode {mode!r}: use auto, cpu_only or gpu")
    return Runtime("cpu_only", (CPU,), intra_op_threads, inter_op_threads)


def session_options(runtime: Runtime) -> ort.SessionOptions:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    if runtime.intra_op_threads > 0:
        opts.intra_op_num_threads = runtime.intra_op_threads
    if runtime.inter_op_threads > 0:
        opts.inter_op_num_threads = runtime.inter_op_threads
        opts.execution_mode = ort.ExecutionMode.ORT_PARALLEL
    return opts


def create_session(model: bytes | str | os.PathLike[str], runtime: Runtime, name: str) -> ort.InferenceSession:
    """An InferenceSession for ``model`` (a file or ONNX bytes); a bad file raises :class:`ModelLoadError`."""
    where = "<packaged bytes>" if isinstance(model, bytes) else os.fspath(model)
    if not isinstance(model, bytes) and not Path(model).is_file():
        raise ModelLoadError(name, [where], hint="give an existing .onnx file")
    try:
        return ort.InferenceSession(
            model if isinstance(model, bytes) else os.fspath(model),
            sess_options=session_options(runtime),
            providers=list(runtime.providers),
        )
    except Exception as exc:  # onnxruntime raises its own exception types for bad graphs
        raise ModelLoadError(name, [where], "the file is not a valid ONNX model", cause=str(exc)[:300]) from exc


def weights_revision(model: bytes | str | os.PathLike[str], length: int = 12) -> str:
    """sha256 prefix of the weights: the revision recorded in every output."""
    h = hashlib.sha256()
    if isinstance(model, bytes):
        h.update(model)
    else:
        with open(model, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:length]
