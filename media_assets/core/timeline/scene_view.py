"""Per-scene view: each scene with its words, speakers, objects, faces, on-screen text and sounds.

Scenes tile the video, so every lookup is a bisect into the scene starts. A word belongs to the scene that
holds its midpoint (a word spoken across a cut goes where most of it is); spans (sounds, tracks, captions,
faces) are listed in every scene they overlap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from media_assets.core.timeline.intervals import Coverage, SpanIndex
from media_assets.core.timeline.timeline_models import (
    SceneFace,
    SceneObject,
    SceneSound,
    SceneSpeaker,
    SceneText,
    SceneView,
    SceneWord,
    TimelineEvent,
)


def join_words(words: Sequence[str]) -> str:
    """Whisper words carry their own leading space (" And"); plain words get one."""
    parts = [w if w[:1].isspace() else " " + w for w in words if w]
    return " ".join("".join(parts).split())


def assign_words(scene_index: SpanIndex, words: Sequence[SceneWord]) -> list[list[SceneWord]]:
    """Words of each scene (by midpoint); words outside every scene (audio longer than video) are left out."""
    out: list[list[SceneWord]] = [[] for _ in range(len(scene_index))]
    for w in words:
        i = scene_index.at((w.start + w.end) / 2)
        if i is not None:
            out[i].append(w)
    return out


def build_scene_views(
    scenes: Sequence[TimelineEvent],
    *,
    words: Sequence[SceneWord] = (),
    talk: Mapping[str, Coverage] | None = None,
    tracks: Sequence[TimelineEvent] = (),
    faces: Sequence[TimelineEvent] = (),
    texts: Sequence[TimelineEvent] = (),
    sounds: Sequence[TimelineEvent] = (),
    face_speaker: Mapping[str, str] | None = None,
) -> list[SceneView]:
    """One :class:`SceneView` per scene event (in scene order).

    ``talk`` maps speaker ids to the union of their turns (talk time per scene); ``face_speaker`` maps face
    event ids to the speaker linked to them.
    """
    if not scenes:
        return []
    index = SpanIndex([s.start for s in scenes], [s.end for s in scenes])
    views = [SceneView(index=int(s.data.get("index", n)), start=s.start, end=s.end) for n, s in enumerate(scenes)]
    for view, ws in zip(views, assign_words(index, words), strict=True):
        view.words = ws
        view.text = join_words([w.word for w in ws])

    talk = talk or {}
    for n, view in enumerate(views):
        counts: dict[str, int] = {}
        for w in view.words:
            if w.speaker:
                counts[w.speaker] = counts.get(w.speaker, 0) + 1
        speakers = []
        for sid, cov in talk.items():
            spoken = cov.covered(scenes[n].start, scenes[n].end)
            if spoken > 0 or counts.get(sid):
                speakers.append(SceneSpeaker(id=sid, speech_s=round(spoken, 3), words=counts.get(sid, 0)))
        for sid, c in counts.items():
            if sid not in talk:
                speakers.append(SceneSpeaker(id=sid, speech_s=0.0, words=c))
        view.speakers = sorted(speakers, key=lambda s: (-s.speech_s, -s.words, s.id))

    objects: list[dict[str, SceneObject]] = [{} for _ in views]
    for t in tracks:
        label = str(t.data.get("label", "object"))
        for i, _ in index.overlapping(t.start, t.end):
            obj = objects[i].get(label)
            if obj is None:
                objects[i][label] = SceneObject(label=label, tracks=1, confidence=t.confidence)
            else:
                obj.tracks += 1
                if t.confidence is not None and (obj.confidence is None or t.confidence > obj.confidence):
                    obj.confidence = t.confidence
    for view, objs in zip(views, objects, strict=True):
        view.objects = sorted(objs.values(), key=lambda o: (-o.tracks, o.label))

    linked = face_speaker or {}
    for f in faces:
        for i, _ in index.overlapping(f.start, f.end):
            views[i].faces.append(
                SceneFace(
                    event_id=f.id,
                    start=f.start,
                    end=f.end,
                    count=int(f.data.get("count", 1)),
                    confidence=f.confidence,
                    speaker=linked.get(f.id),
                )
            )
    for t in texts:
        for i, _ in index.overlapping(t.start, t.end):
            views[i].on_screen_text.append(
                SceneText(
                    event_id=t.id, text=str(t.data.get("text", "")), start=t.start, end=t.end, confidence=t.confidence
                )
            )
    for s in sounds:
        for i, _ in index.overlapping(s.start, s.end):
            views[i].sounds.append(
                SceneSound(
                    event_id=s.id,
                    label=str(s.data.get("label", "")),
                    category=s.data.get("category"),
                    start=s.start,
                    end=s.end,
                    confidence=s.confidence,
                )
            )
    return views
