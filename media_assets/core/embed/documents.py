"""The searchable documents of one partition, built from its output files (pure functions, no I/O).

Kinds (the ``kind`` of a vector point and of a full-text document):

* ``segment``: one per speaker-attributed transcript segment (plain transcript segments when there is no
  speaker transcript); the text is what was said.
* ``text_event``: one per on-screen text event of ``events.json``.
* ``scene``: one per scene of ``scenes.json`` that has anything to say: a short description made of the object
  labels seen in it, the text seen in it and the words spoken during it. Scene descriptions are what makes
  "the scene with a bus where someone says 'country'" findable.
* ``keyframe``: one per keyframe image (duplicates share their original's image and are skipped); embedded by
  an image model when one is configured, with its scene's description as payload text.

Every input is optional: a missing file (``None``) or ``has_audio``/``has_video`` false simply adds nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["segment", "text_event", "scene", "keyframe"]
TEXT_KINDS: tuple[Kind, ...] = ("segment", "text_event", "scene")
MAX_SCENE_WORDS = 80  # spoken words kept in a scene description
MAX_SCENE_LABELS = 12
MAX_SCENE_TEXTS = 8


@dataclass(frozen=True)
class TextDocument:
    """A text to embed and index: ``item`` is unique per (partition, kind)."""

    kind: Kind
    item: str
    start: float | None
    end: float | None
    text: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ImageDocument:
    """A keyframe image to embed; ``image`` is its name in the media store."""

    item: str
    start: float
    end: float
    image: str
    text: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class PartitionInputs:
    """The output files of one partition (``None`` when absent)."""

    speaker_transcript: Mapping[str, Any] | None = None
    transcript: Mapping[str, Any] | None = None
    events: Mapping[str, Any] | None = None
    detections: Mapping[str, Any] | None = None
    scenes: Mapping[str, Any] | None = None
    keyframes: Mapping[str, Any] | None = None


@dataclass
class PartitionDocuments:
    partition: str
    source: str
    texts: list[TextDocument]
    images: list[ImageDocument]

    def counts(self) -> dict[str, int]:
        counts = Counter(d.kind for d in self.texts)
        out = {kind: counts.get(kind, 0) for kind in TEXT_KINDS}
        out["keyframe"] = len(self.images)
        return out


# ----------------------------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------------------------


def clean_text(text: Any) -> str:
    """Collapse whitespace; non-strings become ""."""
    return " ".join(text.split()) if isinstance(text, str) else ""


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _has(doc: Mapping[str, Any] | None, flag: str) -> bool:
    """A file counts when present and not flagged empty (``has_audio: false`` / ``has_video: false``)."""
    return doc is not None and doc.get(flag, True) is not False


def _overlaps(start: float | None, end: float | None, lo: float, hi: float) -> bool:
    if start is None:
        return False
    end = start if end is None else end
    if end <= start:  # an instant belongs to the half-open scene [lo, hi)
        return lo <= start < hi
    return start < hi and end > lo


def _dedupe(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for value in values:
        key = value.casefold()
        if value and key not in seen:
            seen.add(key)
            out.append(value)
    return out


def speech_segments(inputs: PartitionInputs) -> list[Mapping[str, Any]]:
    """Segments of the speaker transcript, else of the plain transcript ([] without audio)."""
    for doc in (inputs.speaker_transcript, inputs.transcript):
        if doc is not None:
            return list(doc.get("segments") or []) if _has(doc, "has_audio") else []
    return []


# ----------------------------------------------------------------------------------------------------------------
# Builders
# ----------------------------------------------------------------------------------------------------------------


def segment_documents(segments: list[Mapping[str, Any]]) -> list[TextDocument]:
    docs = []
    for i, seg in enumerate(segments):
        text = clean_text(seg.get("text"))
        if not text:
            continue
        extra = {"speaker": seg["speaker"]} if seg.get("speaker") else {}
        docs.append(TextDocument("segment", str(i), _float(seg.get("start")), _float(seg.get("end")), text, extra))
    return docs


def text_event_documents(events: Mapping[str, Any] | None) -> list[TextDocument]:
    if not _has(events, "has_video"):
        return []
    assert events is not None
    docs = []
    for i, event in enumerate(events.get("text_events") or []):
        text = clean_text(event.get("text"))
        if not text:
            continue
        item = str(event.get("id", i))
        extra = {"confidence": event["confidence"]} if _float(event.get("confidence")) is not None else {}
        docs.append(TextDocument("text_event", item, _float(event.get("start")), _float(event.get("end")), text, extra))
    return docs


def _scene_objects(inputs: PartitionInputs, lo: float, hi: float) -> tuple[list[str], int]:
    """Object labels seen in [lo, hi), most frequent first, and the most faces seen in one frame."""
    labels: Counter[str] = Counter()
    faces = 0
    if _has(inputs.detections, "has_video"):
        assert inputs.detections is not None
        for frame in inputs.detections.get("frames") or []:
            if not _overlaps(_float(frame.get("time_s")), None, lo, hi):
                continue
            labels.update(clean_text(o.get("label")) for o in frame.get("objects") or [] if o.get("label"))
            faces = max(faces, len(frame.get("faces") or []))
    if _has(inputs.events, "has_video"):
        assert inputs.events is not None
        for track in inputs.events.get("object_tracks") or []:
            label = clean_text(track.get("label"))
            if (
                label
                and label not in labels
                and _overlaps(_float(track.get("start")), _float(track.get("end")), lo, hi)
            ):
                labels[label] += 1
    return [label for label, _ in labels.most_common(MAX_SCENE_LABELS)], faces


def _scene_texts(inputs: PartitionInputs, lo: float, hi: float) -> list[str]:
    texts: list[str] = []
    if _has(inputs.events, "has_video"):
        assert inputs.events is not None
        for event in inputs.events.get("text_events") or []:
            if _overlaps(_float(event.get("start")), _float(event.get("end")), lo, hi):
                texts.append(clean_text(event.get("text")))
    if _has(inputs.detections, "has_video"):
        assert inputs.detections is not None
        for frame in inputs.detections.get("frames") or []:
            if _overlaps(_float(frame.get("time_s")), None, lo, hi):
                texts.extend(clean_text(t.get("text")) for t in frame.get("text") or [])
    return _dedupe(texts)[:MAX_SCENE_TEXTS]


def _scene_words(segments: list[Mapping[str, Any]], lo: float, hi: float) -> list[str]:
    """Words whose midpoint falls in [lo, hi); segments without word timings count by their midpoint."""
    words: list[str] = []
    for seg in segments:
        seg_words = seg.get("words") or []
        if seg_words:
            for w in seg_words:
                start, end = _float(w.get("start")), _float(w.get("end"))
                if start is not None and lo <= (start + (end if end is not None else start)) / 2 < hi:
                    words.append(clean_text(w.get("word")))
        else:
            start, end = _float(seg.get("start")), _float(seg.get("end"))
            if start is not None and lo <= (start + (end if end is not None else start)) / 2 < hi:
                words.extend(clean_text(seg.get("text")).split())
    return [w for w in words if w]


def describe_scene(objects: list[str], faces: int, texts: list[str], words: list[str]) -> str:
    """A short sentence-like description; "" when the scene offers nothing to search for."""
    parts = []
    seen = list(objects)
    if faces and "person" not in seen:
        seen.append("face" if faces == 1 else f"{faces} faces")
    if seen:
        parts.append("Shows " + ", ".join(seen) + ".")
    if texts:
        parts.append("Text on screen: " + "; ".join(f'"{t}"' for t in texts) + ".")
    if words:
        spoken = " ".join(words[:MAX_SCENE_WORDS]) + (" ..." if len(words) > MAX_SCENE_WORDS else "")
        parts.append(f'Spoken: "{spoken}"')
    return " ".join(parts)


def scene_documents(inputs: PartitionInputs, segments: list[Mapping[str, Any]]) -> list[TextDocument]:
    if not _has(inputs.scenes, "has_video"):
        return []
    assert inputs.scenes is not None
    docs = []
    for i, scene in enumerate(inputs.scenes.get("scenes") or []):
        lo, hi = _float(scene.get("start_s")), _float(scene.get("end_s"))
        if lo is None or hi is None:
            continue
        objects, faces = _scene_objects(inputs, lo, hi)
        texts = _scene_texts(inputs, lo, hi)
        words = _scene_words(segments, lo, hi)
        text = describe_scene(objects, faces, texts, words)
        if not text:
            continue
        index = scene.get("index", i)
        extra = {"scene_index": index, "objects": objects, "on_screen_text": texts, "faces": faces}
        docs.append(TextDocument("scene", str(index), lo, hi, text, extra))
    return docs


def keyframe_documents(inputs: PartitionInputs, scene_text: Mapping[str, str]) -> list[ImageDocument]:
    """Keyframes with their own image (duplicates skipped); ``scene_text`` maps scene index -> description."""
    if not _has(inputs.keyframes, "has_video"):
        return []
    assert inputs.keyframes is not None
    docs = []
    for i, kf in enumerate(inputs.keyframes.get("keyframes") or []):
        image = kf.get("image")
        time_s = _float(kf.get("time_s"))
        if not image or kf.get("duplicate_of") is not None or time_s is None:
            continue
        scene = kf.get("scene_index")
        extra = {"scene_index": scene, "frame": kf.get("frame"), "image": image}
        text = scene_text.get(str(scene), "")
        docs.append(ImageDocument(str(kf.get("index", i)), time_s, time_s, image, text, extra))
    return docs


def build_documents(partition: str, source: str, inputs: PartitionInputs) -> PartitionDocuments:
    """All documents of one partition."""
    segments = speech_segments(inputs)
    scenes = scene_documents(inputs, segments)
    texts = segment_documents(segments) + text_event_documents(inputs.events) + scenes
    images = keyframe_documents(inputs, {d.item: d.text for d in scenes})
    return PartitionDocuments(partition=partition, source=source, texts=texts, images=images)
