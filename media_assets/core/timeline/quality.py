"""Quality per modality: whether each input exists and a 0-1 score of how far to trust it.

Scores: transcript = its own ``quality.score``; speaker_transcript = share of words with a speaker;
diarization = duration-weighted turn confidence; scenes = 1 - decode loss; audio_events, detections and
events = mean confidence. Inputs without a meaningful score (metadata, keyframes) get ``score: null``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from media_assets.core.timeline.inputs import INPUT_FILES, TimelineInputs
from media_assets.core.timeline.timeline_models import ModalityQuality

# input -> the assets whose error record explains its absence (events.json comes from the detection pass)
PRODUCERS: dict[str, tuple[str, ...]] = {name: (name,) for name in INPUT_FILES}
PRODUCERS["events"] = ("events", "detections")
AUDIO_INPUTS = ("transcript", "speaker_transcript", "diarization", "audio_events")
VIDEO_INPUTS = ("scenes", "keyframes", "detections", "events")


def _mean(values: Iterable[float]) -> float | None:
    total = n = 0
    for v in values:
        total += v
        n += 1
    return round(total / n, 4) if n else None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def status_of(inputs: TimelineInputs, name: str) -> ModalityQuality | None:
    """The quality record of an input that cannot be used (missing, failed, invalid, not applicable), else None."""
    if name in inputs.invalid:
        return ModalityQuality(status="invalid", reason=inputs.invalid[name])
    doc = inputs.get(name)
    if doc is None:
        for asset in PRODUCERS[name]:
            err = inputs.upstream_errors.get(asset)
            if err is not None:
                return ModalityQuality(
                    status="failed",
                    reason=str(err.get("problem") or err.get("code") or "upstream failed"),
                    metrics={"code": err.get("code"), "asset": asset},
                )
        return ModalityQuality(status="missing", reason=f"{INPUT_FILES[name]} not found")
    if name in AUDIO_INPUTS and doc.get("has_audio") is False:
        return ModalityQuality(status="not_applicable", reason=str(doc.get("reason") or "no audio stream"))
    if name in VIDEO_INPUTS and doc.get("has_video") is False:
        return ModalityQuality(status="not_applicable", reason=str(doc.get("reason") or "no video stream"))
    return None


def measure(name: str, doc: dict[str, Any]) -> ModalityQuality:
    """Score and metrics of a usable input (raises KeyError/TypeError/ValueError on a malformed file)."""
    fn = _MEASURES[name]
    score, metrics = fn(doc)
    return ModalityQuality(status="ok", score=score, metrics=metrics)


def _media_metadata(doc: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
    kinds = Counter(str(s.get("kind")) for s in doc.get("streams") or [])
    return None, {
        "duration_s": _num(doc.get("duration_s")),
        "format_name": doc.get("format_name"),
        "streams": dict(kinds),
    }


def _scenes(doc: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
    d = doc.get("decode") or {}
    lost = _num(d.get("lost_fraction")) or 0.0
    metrics = {
        "scenes": len(doc.get("scenes") or []),
        "transitions": len(doc.get("transitions") or []),
        "decode_mode": d.get("mode"),
        "decode_errors": d.get("decode_errors", 0),
        "lost_s": _num(d.get("lost_s")) or 0.0,
        "lost_fraction": lost,
    }
    return round(max(0.0, 1.0 - lost), 4), metrics


def _keyframes(doc: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
    kfs = doc.get("keyframes") or []
    return None, {"keyframes": len(kfs), "duplicates": sum(1 for k in kfs if k.get("duplicate_of") is not None)}


def _transcript(doc: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
    q = doc.get("quality") or {}
    segs = doc.get("segments") or []
    metrics = {
        "language": doc.get("language"),
        "language_probability": _num(doc.get("language_probability")),
        "confidence": _num(q.get("confidence")),
        "speech_probability": _num(q.get("speech_probability")),
        "word_density": _num(q.get("word_density")),
        "speech_s": _num(doc.get("speech_s")),
        "lost_s": _num(doc.get("lost_s")),
        "segments": len(segs),
        "words": sum(len(s.get("words") or []) for s in segs),
        "dropped": len(doc.get("dropped") or []),
    }
    return _num(q.get("score")), metrics


def _speaker_transcript(doc: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
    segs = doc.get("segments") or []
    words = [w for s in segs for w in s.get("words") or []]
    attributed = sum(1 for w in words if w.get("speaker"))
    score = round(attributed / len(words), 4) if words else None
    return score, {"segments": len(segs), "words": len(words), "speakers": len(doc.get("speakers") or [])}


def _diarization(doc: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
    segs = doc.get("segments") or []
    weighted = total = 0.0
    for s in segs:
        conf = _num(s.get("confidence"))
        dur = float(s["end"]) - float(s["start"])
        if conf is not None and dur > 0:
            weighted += conf * dur
            total += dur
    metrics = {
        "backend": doc.get("backend"),
        "num_speakers": doc.get("num_speakers", len(doc.get("speakers") or [])),
        "turns": len(segs),
        "overlap_s": _num(doc.get("overlap_s")),
    }
    return (round(weighted / total, 4) if total else None), metrics


def _audio_events(doc: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
    evs = doc.get("events") or []
    cats = Counter(str(e.get("category") or "other") for e in evs)
    return _mean(float(e["confidence"]) for e in evs if _num(e.get("confidence")) is not None), {
        "events": len(evs),
        "categories": dict(sorted(cats.items())),
    }


def _detections(doc: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
    frames = doc.get("frames") or []
    status = Counter(str(f.get("status") or "ok") for f in frames)
    confs: dict[str, list[float]] = {"objects": [], "faces": [], "text": []}
    for f in frames:
        for kind, values in confs.items():
            values.extend(float(d["confidence"]) for d in f.get(kind) or [] if _num(d.get("confidence")) is not None)
    metrics: dict[str, Any] = {
        "frames": len(frames),
        "frames_ok": status.get("ok", 0),
        "frames_unreadable": status.get("unreadable", 0),
        "frames_empty": status.get("empty", 0),
        "mode": doc.get("mode"),
    }
    for kind, values in confs.items():
        metrics[kind] = len(values)
        metrics[f"{kind}_confidence"] = _mean(values)
    return _mean(v for values in confs.values() for v in values), metrics


def _events(doc: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
    texts = doc.get("text_events") or []
    tracks = doc.get("object_tracks") or []
    confs = [float(e["confidence"]) for e in (*texts, *tracks) if _num(e.get("confidence")) is not None]
    return _mean(confs), {"text_events": len(texts), "object_tracks": len(tracks)}


_MEASURES = {
    "media_metadata": _media_metadata,
    "scenes": _scenes,
    "keyframes": _keyframes,
    "transcript": _transcript,
    "speaker_transcript": _speaker_transcript,
    "diarization": _diarization,
    "audio_events": _audio_events,
    "detections": _detections,
    "events": _events,
}
