"""Execution mode, providers and model-load errors."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort
import pytest

from media_assets.core.errors import ModelLoadError
from media_assets.core.vision.onnx_runtime import (
    CPU,
    CUDA,
    create_session,
    resolve_runtime,
    session_options,
    weights_revision,
)


def test_modes() -> None:
    cpu = resolve_runtime("cpu_only", intra_op_threads=2)
    assert (cpu.mode, cpu.providers, cpu.device) == ("cpu_only", (CPU,), "cpu")
    assert session_options(cpu).intra_op_num_threads == 2
    auto = resolve_runtime("auto")
    has_cuda = CUDA in ort.get_available_providers()
    assert auto.mode == ("gpu" if has_cuda else "cpu_only")
    if not has_cuda:
        with pytest.raises(RuntimeError, match="onnxruntime-gpu"):
            resolve_runtime("gpu")
    with pytest.raises(ValueError, match="unknown vision mode"):
        resolve_runtime("tpu")  # type: ignore[arg-type]


def test_load_errors_name_the_model(tmp_path: Path) -> None:
    cpu = resolve_runtime("cpu_only")
    with pytest.raises(ModelLoadError) as err:
        create_session(tmp_path / "missing.onnx", cpu, "my-model")
    assert "my-model" in str(err.value) and str(tmp_path / "missing.onnx") in str(err.value)
    with pytest.raises(ModelLoadError, match="not a valid ONNX model"):
        create_session(b"\x00garbage", cpu, "bytes-model")


def test_weights_revision(tmp_path: Path) -> None:
    f = tmp_path / "w.bin"
    f.write_bytes(b"abc")
    assert weights_revision(f) == weights_revision(b"abc") == "ba7816bf8f01"
