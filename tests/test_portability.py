"""The default pipeline runs on a CPU without AVX-512 (issue 10).

``qemu-x86_64 -cpu Haswell`` (Debian's qemu-user, installed by ``make setup``) runs this interpreter on an emulated
Haswell: AVX2, no AVX-512. Any AVX-512 instruction raises SIGILL there, whatever the host CPU has, and libraries
that pick their kernels at run time (NumPy, OpenBLAS, PyTorch, ONNX Runtime, CTranslate2, FFmpeg) see a Haswell.

* the guard works: an AVX-512 instruction, and senko's bundled ``libfbank_extractor.so`` (compiled for AVX-512,
  which the default path used to call), die with SIGILL under it;
* every asset of the default pipeline runs under it on a short clip with a cut, speech and text, through
  ``media-assets process``: decoding, filterbank and CAM++ speaker embeddings, Silero VAD, segmentation-3.0,
  Whisper (CTranslate2), YAMNet, RetinaFace and PP-OCR (ONNX Runtime), MiniLM, the vector and full-text
  indexes; and it gives the same results as on this machine's own CPU.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ffmpeg

QEMU_CPU = "Haswell"
VPXORD_ZMM = "62f17d48efc0c3"  # vpxord zmm0, zmm0, zmm0; ret  (AVX-512F)
VPXOR_YMM = "c5fdefc0c3"  # vpxor ymm0, ymm0, ymm0; ret  (AVX2)
SPEECH = "Portable speech features run on every processor."


def qemu() -> str:
    exe = shutil.which("qemu-x86_64")
    if exe is None:
        pytest.fail("qemu-x86_64 not found: `make setup` installs Debian's qemu-user")
    return exe


def run_emulated(args: list[str], *, timeout: float, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [qemu(), "-cpu", QEMU_CPU, sys.executable, *args]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    res.stderr = "\n".join(line for line in res.stderr.splitlines() if "TCG doesn't support" not in line)
    return res


RUN_CODE = """
import ctypes, mmap, sys
buf = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
buf.write(bytes.fromhex(sys.argv[1]))
ctypes.CFUNCTYPE(None)(ctypes.addressof(ctypes.c_char.from_buffer(buf)))()
print("ran")
"""


def test_the_emulated_cpu_has_avx2_but_no_avx512() -> None:
    avx2 = run_emulated(["-c", RUN_CODE, VPXOR_YMM], timeout=120)
    assert avx2.returncode == 0 and avx2.stdout.strip() == "ran", avx2.stderr
    avx512 = run_emulated(["-c", RUN_CODE, VPXORD_ZMM], timeout=120)
    assert avx512.returncode == -signal.SIGILL, (avx512.returncode, avx512.stderr)


SENKO_FBANK = """
import ctypes, sys
import numpy as np
lib = ctypes.CDLL(sys.argv[1])
class Features(ctypes.Structure):
    _fields_ = [("data", ctypes.POINTER(ctypes.c_float)), ("frames", ctypes.POINTER(ctypes.c_size_t)),
                ("offsets", ctypes.POINTER(ctypes.c_size_t)), ("n", ctypes.c_size_t),
                ("total_frames", ctypes.c_size_t), ("dim", ctypes.c_size_t)]
lib.create_fbank_extractor.restype = ctypes.c_void_p
fn = lib.extract_fbank_features_from_memory
fn.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.c_size_t, ctypes.POINTER(ctypes.c_float),
               ctypes.c_size_t]
fn.restype = Features
audio = (np.random.default_rng(0).normal(size=32000) * 0.1).astype(np.float32)
subs = np.array([0.0, 1.5, 0.5, 2.0], dtype=np.float32)
f = fn(lib.create_fbank_extractor(), audio.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), len(audio),
       subs.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), 2)
print(f.total_frames, f.dim)
"""


def test_senkos_bundled_filterbank_library_dies_there() -> None:
    """What the default path called before issue 10: the guard would have caught it."""
    spec = importlib.util.find_spec("senko")
    assert spec is not None and spec.origin is not None
    lib = Path(spec.origin).parent / "libfbank_extractor.so"
    assert lib.is_file()
    res = run_emulated(["-c", SENKO_FBANK, str(lib)], timeout=120)
    assert res.returncode == -signal.SIGILL, (res.returncode, res.stdout, res.stderr)


def test_the_default_path_never_loads_senkos_library() -> None:
    from media_assets.core.speech.diarize import SenkoBackend

    backend = SenkoBackend()
    backend.load()
    backend.embed(np.zeros(32000, dtype=np.float32), [(0.0, 1.5), (0.6, 2.0)])
    assert "libfbank_extractor" not in Path(f"/proc/{os.getpid()}/maps").read_text()


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 s: two shots with a hard cut at 2 s, a caption, and a sentence spoken by espeak-ng."""
    root = tmp_path_factory.mktemp("portable")
    speech = root / "speech.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(speech), SPEECH], check=True)
    out = root / "clip.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2",
        "-f", "lavfi", "-i", "color=c=0x204080:size=320x240:rate=25:duration=2",
        "-i", str(speech),
        "-filter_complex",
        "[1:v]drawbox=x=40:y=90:w=240:h=60:color=white:t=fill[b];[0:v][b]concat=n=2:v=1:a=0[v];"
        "[2:a]apad=whole_dur=4,aresample=44100[a]",
        "-map", "[v]", "-map", "[a]", "-t", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
        str(out),
    )  # fmt: skip
    return out


def _process(clip: Path, root: Path, *, emulated: bool) -> dict:
    args = ["-m", "media_assets.cli", "process", str(clip), "--out", str(root / "out"), "--json", "--quiet"]
    args += ["--dagster-home", str(root / "home")]
    env = {**os.environ, "MEDIA_ASSETS_INDEX_DIR": str(root / "index")}
    if emulated:
        res = run_emulated(args, timeout=2400, env=env)  # 17 min on a 2-core AMD EPYC without AVX-512
    else:
        res = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=600, env=env)
    assert res.returncode == 0, res.stderr[-4000:]
    row = json.loads(res.stdout.splitlines()[-1])
    assert row["status"] == "ok", row
    folder = root / "out" / row["partition"]
    docs = {name: json.loads((folder / f"{name}.json").read_text()) for name in _OUTPUTS}
    return docs


_OUTPUTS = ("scenes", "transcript", "diarization", "audio_events", "detections", "embeddings", "timeline")


def _words(doc: dict) -> list[str]:
    return [w["word"].strip(" .,").lower() for seg in doc["segments"] for w in seg.get("words") or []]


@pytest.mark.slow
@pytest.mark.timeout(3000)
def test_the_whole_default_pipeline_runs_on_haswell(clip: Path, tmp_path: Path) -> None:
    emulated = _process(clip, tmp_path / "emulated", emulated=True)
    native = _process(clip, tmp_path / "native", emulated=False)
    cuts = [t for t in emulated["scenes"]["transitions"] if t["kind"] == "cut"]
    assert len(cuts) == 1 and abs(cuts[0]["time_s"] - 2.0) < 0.1, emulated["scenes"]["transitions"]
    words = _words(emulated["transcript"])
    assert {"portable", "speech", "features"} <= set(words), words
    assert emulated["diarization"]["num_speakers"] == 1
    assert emulated["audio_events"]["events"], "YAMNet found nothing"
    # the same results as on this machine's CPU (numbers may differ in the last digits, decisions may not)
    assert words == _words(native["transcript"])
    assert emulated["diarization"]["num_speakers"] == native["diarization"]["num_speakers"]
    assert len(emulated["scenes"]["scenes"]) == len(native["scenes"]["scenes"])
    # YAMNet's scores differ in the last digits between CPU kernels, so an event may split at a boundary where a
    # score sits on the threshold; what was heard, and for how long, may not differ
    assert set(_heard(emulated)) == set(_heard(native))
    for label, seconds in _heard(emulated).items():
        assert abs(seconds - _heard(native)[label]) <= 1.0, (label, emulated["audio_events"], native["audio_events"])


def _heard(docs: dict) -> dict[str, float]:
    out: dict[str, float] = {}
    for e in docs["audio_events"]["events"]:
        out[e["label"]] = out.get(e["label"], 0.0) + e["end"] - e["start"]
    return out
