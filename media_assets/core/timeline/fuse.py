"""Fuse every output of a partition into one timeline: events, entities, relationships, scenes, quality.

Every input is optional. A modality that is missing, failed upstream, does not apply (no audio / no video) or
cannot be read is left out and says why in ``quality``; the rest still fuses. Everything is sorting plus
bisect lookups into sorted spans (see ``intervals``), so a one-hour video fuses in well under a second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from media_assets.core.timeline.inputs import INPUT_FILES, TimelineInputs
from media_assets.core.timeline.intervals import Coverage, SpanIndex
from media_assets.core.timeline.links import (
    face_speaker_links,
    normalized_text,
    sound_scene_links,
    text_speech_links,
)
from media_assets.core.timeline.quality import AUDIO_INPUTS, VIDEO_INPUTS, measure, status_of
from media_assets.core.timeline.scene_view import build_scene_views
from media_assets.core.timeline.timeline_models import (
    EVENT_TYPES,
    Entity,
    FusionModel,
    FusionParams,
    ModalityQuality,
    Relationship,
    SceneWord,
    Timeline,
    TimelineEvent,
    TimelineVideo,
)

T = TypeVar("T")
TYPE_RANK = {t: i for i, t in enumerate(EVENT_TYPES)}
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def _f(value: Any) -> float:
    return float(value)


def _conf(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _event(id_: str, type_: str, start: Any, end: Any, confidence: Any, data: dict[str, Any]) -> TimelineEvent:
    """An event from already-coerced values (``model_construct``: 15k events per hour must stay cheap)."""
    s = _f(start)
    e = _f(end) if end is not None else s
    return TimelineEvent.model_construct(
        id=id_, type=type_, start=s, end=max(s, e), confidence=_conf(confidence), data=data
    )


# ----------------------------------------------------------------------------------------------------------
# events per modality
# ----------------------------------------------------------------------------------------------------------
def scene_events(doc: dict[str, Any]) -> tuple[list[TimelineEvent], list[TimelineEvent]]:
    """Scenes and transitions from scenes.json."""
    scenes = [
        _event(
            f"scene:{s['index']}",
            "scene",
            s["start_s"],
            s["end_s"],
            None,
            {
                "index": int(s["index"]),
                "kind": s.get("kind"),
                "start_frame": s.get("start_frame"),
                "end_frame": s.get("end_frame"),
                "mean_luma": s.get("mean_luma"),
                "keyframes": list(s.get("keyframes") or []),
            },
        )
        for s in doc.get("scenes") or []
    ]
    transitions = [
        _event(
            f"transition:{i}",
            "transition",
            t["time_s"],
            t.get("end_time_s", t["time_s"]),
            None,
            {
                "kind": t.get("kind"),
                "frame": t.get("frame"),
                "end_frame": t.get("end_frame"),
                "score": t.get("score"),
                "exact": t.get("exact", True),
                "black": t.get("black"),
            },
        )
        for i, t in enumerate(doc.get("transitions") or [])
    ]
    return scenes, transitions


def keyframe_events(doc: dict[str, Any]) -> list[TimelineEvent]:
    return [
        _event(
            f"keyframe:{k['index']}",
            "keyframe",
            k["time_s"],
            k["time_s"],
            None,
            {
                "index": int(k["index"]),
                "scene_index": k.get("scene_index"),
                "frame": k.get("frame"),
                "reason": k.get("reason"),
                "sharpness": k.get("sharpness"),
                "image": k.get("image"),
                "duplicate_of": k.get("duplicate_of"),
            },
        )
        for k in doc.get("keyframes") or []
    ]


def _words_of(doc: dict[str, Any]) -> list[SceneWord]:
    words = [
        SceneWord.model_construct(
            start=_f(w["start"]),
            end=_f(w["end"]),
            word=str(w["word"]),
            probability=_conf(w.get("probability")),
            speaker=str(w["speaker"]) if w.get("speaker") else None,
        )
        for s in doc.get("segments") or []
        for w in s.get("words") or []
    ]
    words.sort(key=lambda w: (w.start, w.end))
    return words


def speech_events(doc: dict[str, Any], source: str) -> list[TimelineEvent]:
    """Transcript segments (from speaker_transcript.json when it exists: they carry the speaker)."""
    out = []
    for i, s in enumerate(doc.get("segments") or []):
        words = s.get("words") or []
        conf = _conf(s.get("confidence"))
        if conf is None and words:
            probs = [p for p in (_conf(w.get("probability")) for w in words) if p is not None]
            conf = sum(probs) / len(probs) if probs else None
        data: dict[str, Any] = {
            "text": str(s.get("text", "")).strip(),
            "speaker": s.get("speaker"),
            "words": len(words),
        }
        data["source"] = source
        if "id" in s:
            data["segment_id"] = s["id"]
        out.append(_event(f"speech:{i}", "speech", s["start"], s["end"], conf, data))
    return out


def turn_events(doc: dict[str, Any]) -> list[TimelineEvent]:
    return [
        _event(
            f"turn:{i}",
            "speaker_turn",
            s["start"],
            s["end"],
            s.get("confidence"),
            {"speaker": str(s["speaker"]), "overlap": bool(s.get("overlap", False))},
        )
        for i, s in enumerate(doc.get("segments") or [])
    ]


def sound_events(doc: dict[str, Any]) -> list[TimelineEvent]:
    return [
        _event(
            f"sound:{i}",
            "audio_event",
            e["start"],
            e["end"],
            e.get("confidence"),
            {"label": str(e["label"]), "class_id": e.get("class_id"), "category": e.get("category")},
        )
        for i, e in enumerate(doc.get("events") or [])
    ]


def track_events(doc: dict[str, Any]) -> tuple[list[TimelineEvent], list[TimelineEvent]]:
    """Object tracks and text events from events.json."""
    tracks = [
        _event(
            f"track:{t['id']}",
            "object_track",
            t["start"],
            t["end"],
            t.get("confidence"),
            {"label": str(t["label"]), "frames": t.get("frames"), "boxes": len(t.get("boxes") or [])},
        )
        for t in doc.get("object_tracks") or []
    ]
    texts = [
        _event(
            f"ocr:{t['id']}",
            "text_event",
            t["start"],
            t["end"],
            t.get("confidence"),
            {
                "text": str(t["text"]),
                "first_frame": t.get("first_frame"),
                "last_frame": t.get("last_frame"),
                "frames": t.get("frames"),
                "box": t.get("box"),
            },
        )
        for t in doc.get("text_events") or []
    ]
    return tracks, texts


@dataclass
class _Frame:
    time: float
    frame: int | None
    ok: bool
    objects: list[dict[str, Any]]
    faces: list[dict[str, Any]]
    text: list[dict[str, Any]]
    image: str | None
    scene: int | None = None  # position in the scene list
    lo: float = 0.0  # the stretch of time this sampled frame stands for
    hi: float = 0.0


def detection_frames(doc: dict[str, Any], scenes: list[TimelineEvent], duration: float | None) -> list[_Frame]:
    """Detection frames in time order, each with the stretch of time it stands for.

    A sampled frame stands for the time up to halfway to its neighbours, never beyond its scene: the one
    keyframe of a shot stands for the whole shot.
    """
    frames: list[_Frame] = []
    seen: set[int] = set()
    for f in sorted(doc.get("frames") or [], key=lambda f: (_f(f["time_s"]), f.get("frame") or 0)):
        n = f.get("frame")
        if n is not None:
            if n in seen:  # a keyframe that is also a fixed-rate sample
                continue
            seen.add(n)
        frames.append(
            _Frame(
                time=_f(f["time_s"]),
                frame=n,
                ok=(f.get("status") or "ok") == "ok",
                objects=list(f.get("objects") or []),
                faces=list(f.get("faces") or []),
                text=list(f.get("text") or []),
                image=f.get("image"),
            )
        )
    index = SpanIndex([s.start for s in scenes], [s.end for s in scenes]) if scenes else None
    for fr in frames:
        fr.scene = index.at(fr.time) if index is not None else None
    end_of_all = duration if duration is not None else (frames[-1].time if frames else 0.0)
    for i, fr in enumerate(frames):
        if fr.scene is not None:
            lo_edge, hi_edge = scenes[fr.scene].start, scenes[fr.scene].end
        elif scenes:  # outside every scene (past the decoded video): stands for its own instant only
            lo_edge = hi_edge = fr.time
        else:
            lo_edge, hi_edge = 0.0, max(end_of_all, fr.time)
        prev = frames[i - 1] if i > 0 and frames[i - 1].scene == fr.scene else None
        nxt = frames[i + 1] if i + 1 < len(frames) and frames[i + 1].scene == fr.scene else None
        fr.lo = round(max(lo_edge, (prev.time + fr.time) / 2) if prev else lo_edge, 3)
        fr.hi = round(min(hi_edge, (fr.time + nxt.time) / 2) if nxt else hi_edge, 3)
    return frames


def face_events(frames: list[_Frame]) -> list[TimelineEvent]:
    """Runs of consecutive sampled frames of one scene that show at least one face (no identities)."""
    out: list[TimelineEvent] = []
    run: list[_Frame] = []

    def close() -> None:
        if not run:
            return
        best_frame, best_face = max(
            ((fr, face) for fr in run for face in fr.faces), key=lambda x: _conf(x[1].get("confidence")) or 0.0
        )
        out.append(
            _event(
                f"face:{len(out)}",
                "face",
                run[0].lo,
                run[-1].hi,
                best_face.get("confidence"),
                {
                    "count": max(len(fr.faces) for fr in run),
                    "frames": len(run),
                    "scene_index": run[0].scene,
                    "frame": best_frame.frame,
                    "time_s": best_frame.time,
                    "image": best_frame.image,
                    "box": best_face.get("box"),
                },
            )
        )
        run.clear()

    for fr in frames:
        if not (fr.ok and fr.faces) or (run and run[-1].scene != fr.scene):
            close()
        if fr.ok and fr.faces:
            run.append(fr)
    close()
    return out


def _runs(frames: list[_Frame], items: Callable[[_Frame], Iterable[tuple[str, dict[str, Any]]]]) -> list[dict]:
    """Group per-frame detections into runs: the same key in consecutive readable frames is one run."""
    done: list[dict] = []
    open_runs: dict[str, dict] = {}
    for fr in frames:
        if not fr.ok:
            done.extend(open_runs.values())
            open_runs = {}
            continue
        present: dict[str, dict] = {}
        for key, det in items(fr):
            run = present.get(key) or open_runs.get(key)
            if run is None:
                run = {"key": key, "start": fr.time, "end": fr.time, "first_frame": fr.frame, "confs": [], "dets": []}
            if key not in present:
                run.update(end=fr.time, last_frame=fr.frame)
                run["frames"] = run.get("frames", 0) + 1
            present[key] = run
            if _conf(det.get("confidence")) is not None:
                run["confs"].append(float(det["confidence"]))
            run["dets"].append(det)
        done.extend(r for k, r in open_runs.items() if k not in present)
        open_runs = present
    done.extend(open_runs.values())
    done.sort(key=lambda r: (r["start"], r["key"]))
    return done


def _union_box(boxes: Iterable[Any]) -> list[float] | None:
    boxes = [b for b in boxes if isinstance(b, (list, tuple)) and len(b) == 4]
    if not boxes:
        return None
    return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]


def tracks_from_frames(frames: list[_Frame]) -> tuple[list[TimelineEvent], list[TimelineEvent]]:
    """Object tracks and text events when events.json is absent: one run per label / normalised text."""
    tracks = [
        _event(
            f"track:{i}",
            "object_track",
            r["start"],
            r["end"],
            sum(r["confs"]) / len(r["confs"]) if r["confs"] else None,
            {"label": r["key"], "frames": r["frames"], "boxes": len(r["dets"])},
        )
        for i, r in enumerate(_runs(frames, lambda fr: ((str(o["label"]), o) for o in fr.objects)))
    ]
    text_runs = _runs(frames, lambda fr: ((normalized_text(str(t["text"])), t) for t in fr.text))
    texts = [
        _event(
            f"ocr:{i}",
            "text_event",
            r["start"],
            r["end"],
            sum(r["confs"]) / len(r["confs"]) if r["confs"] else None,
            {
                "text": str(r["dets"][0]["text"]),
                "first_frame": r["first_frame"],
                "last_frame": r["last_frame"],
                "frames": r["frames"],
                "box": _union_box(d.get("box") for d in r["dets"]),
            },
        )
        for i, r in enumerate(r for r in text_runs if r["key"])
    ]
    return tracks, texts


# ----------------------------------------------------------------------------------------------------------
# entities
# ----------------------------------------------------------------------------------------------------------
def speaker_entities(
    speaker_ids: Iterable[str], turns: list[TimelineEvent], speech: list[TimelineEvent], talk: dict[str, Coverage]
) -> list[Entity]:
    members: dict[str, list[str]] = {sid: [] for sid in speaker_ids}
    for e in (*turns, *speech):
        sid = e.data.get("speaker")
        if sid:
            members.setdefault(str(sid), []).append(e.id)
    return [
        Entity(
            id=f"speaker:{sid}",
            type="speaker",
            label=sid,
            event_ids=ids,
            total_s=round(talk[sid].total if sid in talk else 0.0, 3),
        )
        for sid, ids in sorted(members.items())
    ]


def recurring_entities(
    events: list[TimelineEvent], kind: str, key: Callable[[TimelineEvent], str], min_events: int
) -> list[Entity]:
    """Objects (by label) or captions (by normalised text) that appear in at least ``min_events`` events."""
    groups: dict[str, list[TimelineEvent]] = {}
    for e in events:
        k = key(e)
        if k:
            groups.setdefault(k, []).append(e)
    out = []
    for n, (k, evs) in enumerate(sorted(groups.items(), key=lambda kv: (kv[1][0].start, kv[0]))):
        if len(evs) < min_events:
            continue
        label = k if kind == "object" else str(evs[0].data.get("text", k))
        out.append(
            Entity(
                id=f"{kind}:{k}" if kind == "object" else f"text:{n}",
                type=kind,
                label=label,
                event_ids=[e.id for e in evs],
                total_s=round(Coverage((e.start, e.end) for e in evs).total, 3),
            )
        )
    return out


# ----------------------------------------------------------------------------------------------------------
# fusion
# ----------------------------------------------------------------------------------------------------------
@dataclass
class _Fusion:
    inputs: TimelineInputs
    quality: dict[str, ModalityQuality] = field(default_factory=dict)

    def usable(self, name: str) -> dict[str, Any] | None:
        """The input if it can be used; otherwise its quality record says why not."""
        q = status_of(self.inputs, name)
        doc = self.inputs.get(name)
        if q is not None or doc is None:
            self.quality[name] = q or ModalityQuality(status="missing")
            return None
        try:
            self.quality[name] = measure(name, doc)
        except MALFORMED as exc:
            self.invalid(name, exc)
            return None
        return doc

    def invalid(self, name: str, exc: BaseException) -> None:
        self.quality[name] = ModalityQuality(
            status="invalid", reason=f"{INPUT_FILES[name]}: {type(exc).__name__}: {exc}"
        )

    def build(self, name: str, fn: Callable[[], T], empty: T) -> T:
        """Run an event builder; a malformed file marks its modality invalid instead of failing the fusion."""
        try:
            return fn()
        except MALFORMED as exc:
            self.invalid(name, exc)
            return empty


def _has_stream(meta: dict[str, Any] | None, kind: str) -> bool | None:
    if not meta or not isinstance(meta.get("streams"), list):
        return None
    return any(s.get("kind") == kind and not s.get("attached_pic") for s in meta["streams"] if isinstance(s, dict))


def _upstream_models(inputs: TimelineInputs) -> dict[str, dict[str, Any]]:
    """The ``model`` blocks of the inputs (scalar fields only): which models the timeline was built from."""
    out: dict[str, dict[str, Any]] = {}
    for name in INPUT_FILES:
        doc = inputs.get(name)
        model = doc.get("model") if isinstance(doc, dict) else None
        if not isinstance(model, dict):
            continue
        flat = {k: v for k, v in model.items() if isinstance(v, (str, int, float, bool)) or v is None}
        nested = {
            k: {kk: vv for kk, vv in v.items() if isinstance(vv, (str, int, float, bool)) or vv is None}
            for k, v in model.items()
            if isinstance(v, dict)
        }
        out[name] = {**flat, **nested}
    return out


def _streams_present(fx: _Fusion, meta: dict[str, Any] | None) -> tuple[bool, bool]:
    """Whether the media has audio and video: media_metadata's streams, else what the inputs say.

    A stale file next to media without that stream (e.g. a transcript of a video without audio) is not used:
    its modality is marked not applicable.
    """
    inputs = fx.inputs
    has_audio = _has_stream(meta, "audio")
    if has_audio is None:
        has_audio = any((inputs.get(n) or {}).get("has_audio") is True for n in AUDIO_INPUTS)
    has_video = _has_stream(meta, "video")
    if has_video is None:
        has_video = any((inputs.get(n) or {}).get("has_video") is True for n in VIDEO_INPUTS)
    for present, names, why in (
        (has_audio, AUDIO_INPUTS, "no audio stream"),
        (has_video, VIDEO_INPUTS, "no video stream"),
    ):
        if not present:
            for name in names:
                if fx.quality[name].status == "ok":
                    fx.quality[name] = ModalityQuality(status="not_applicable", reason=why)
    return has_audio, has_video


def _duration(*values: Any) -> float | None:
    """The first positive number among ``values``."""
    for value in values:
        if _conf(value) is not None and value > 0:
            return float(value)
    return None


def _speech_and_words(
    fx: _Fusion, spk_doc: dict[str, Any] | None, transcript: dict[str, Any] | None
) -> tuple[list[TimelineEvent], list[SceneWord]]:
    """Speech segments and words: speaker_transcript's carry the speaker; transcript's are the fallback."""
    speech: list[TimelineEvent] = []
    words: list[SceneWord] = []
    for name, doc in (("speaker_transcript", spk_doc), ("transcript", transcript)):
        if doc is None:
            continue
        segs, ws = fx.build(name, lambda doc=doc, name=name: (speech_events(doc, name), _words_of(doc)), ([], []))
        speech = speech or segs
        words = words or ws
        if speech and words:
            break
    return speech, words


def _tracks_and_texts(
    fx: _Fusion, ev_doc: dict[str, Any] | None, frames: list[_Frame]
) -> tuple[list[TimelineEvent], list[TimelineEvent]]:
    """Object tracks and text events from events.json, else built from the detection frames."""
    tracks: list[TimelineEvent] = []
    texts: list[TimelineEvent] = []
    if ev_doc is not None:
        tracks, texts = fx.build("events", lambda: track_events(ev_doc), ([], []))
    if not tracks and not texts and frames and (ev_doc is None or fx.quality["events"].status != "ok"):
        tracks, texts = tracks_from_frames(frames)
        fx.quality["detections"].metrics["tracks_from"] = "detections"
    return tracks, texts


def _talk(turns: list[TimelineEvent], speech: list[TimelineEvent]) -> dict[str, Coverage]:
    """Who talks when, per speaker id: diarization turns, else the speaker-attributed transcript segments."""
    talk_source = turns if turns else [e for e in speech if e.data.get("speaker")]
    spans: dict[str, list[tuple[float, float]]] = {}
    for e in talk_source:
        spans.setdefault(str(e.data["speaker"]), []).append((e.start, e.end))
    return {sid: Coverage(iv) for sid, iv in spans.items()}


def _speaker_ids(speakers_doc: dict[str, Any], talk: dict[str, Coverage], words: list[SceneWord]) -> set[str]:
    """Every speaker id: declared by diarization (or the speaker transcript), talking, or labelling a word."""
    declared = [str(s["id"]) for s in speakers_doc.get("speakers") or [] if isinstance(s, dict) and "id" in s]
    return {*declared, *talk, *(w.speaker for w in words if w.speaker)}


def fuse_timeline(inputs: TimelineInputs, params: FusionParams | None = None) -> Timeline:
    """One timeline of everything known about a partition (see docs/outputs.md, timeline.json)."""
    p = params or FusionParams()
    fx = _Fusion(inputs)

    meta = fx.usable("media_metadata")
    scenes_doc = fx.usable("scenes")
    kf_doc = fx.usable("keyframes")
    transcript = fx.usable("transcript")
    spk_doc = fx.usable("speaker_transcript")
    diar = fx.usable("diarization")
    sounds_doc = fx.usable("audio_events")
    det_doc = fx.usable("detections")
    ev_doc = fx.usable("events")

    has_audio, has_video = _streams_present(fx, meta)
    if not has_audio:
        transcript = spk_doc = diar = sounds_doc = None
    if not has_video:
        scenes_doc = kf_doc = det_doc = ev_doc = None

    scenes, transitions = fx.build("scenes", lambda: scene_events(scenes_doc), ([], [])) if scenes_doc else ([], [])
    scenes.sort(key=lambda e: (e.start, e.end))
    keyframes = fx.build("keyframes", lambda: keyframe_events(kf_doc), []) if kf_doc else []
    duration = _duration(
        (meta or {}).get("duration_s"),
        ((scenes_doc or {}).get("video") or {}).get("duration_s"),
        (transcript or {}).get("duration_s"),
    )
    speech, words = _speech_and_words(fx, spk_doc, transcript)
    turns = fx.build("diarization", lambda: turn_events(diar), []) if diar else []
    sounds = fx.build("audio_events", lambda: sound_events(sounds_doc), []) if sounds_doc else []
    frames = fx.build("detections", lambda: detection_frames(det_doc, scenes, duration), []) if det_doc else []
    faces = face_events(frames)
    tracks, texts = _tracks_and_texts(fx, ev_doc, frames)

    talk = _talk(turns, speech)
    face_links = face_speaker_links(faces, {f"speaker:{sid}": cov for sid, cov in talk.items()}, p)
    relationships: list[Relationship] = [
        *face_links,
        *text_speech_links(texts, speech, p),
        *sound_scene_links(sounds, scenes),
    ]
    entities = [
        *speaker_entities(_speaker_ids(diar or spk_doc or {}, talk, words), turns, speech, talk),
        *recurring_entities(tracks, "object", lambda e: str(e.data.get("label", "")), p.recurring_min),
        *recurring_entities(texts, "text", lambda e: normalized_text(str(e.data.get("text", ""))), p.recurring_min),
    ]
    scene_views = build_scene_views(
        scenes,
        words=words,
        talk=talk,
        tracks=tracks,
        faces=faces,
        texts=texts,
        sounds=sounds,
        face_speaker={r.source: r.target.removeprefix("speaker:") for r in face_links},
    )

    events = [*scenes, *transitions, *keyframes, *speech, *turns, *sounds, *tracks, *faces, *texts]
    events.sort(key=lambda e: (e.start, e.end, TYPE_RANK[e.type], e.id))
    if duration is None and events:
        duration = max(e.end for e in events)
    return Timeline(
        video=TimelineVideo(
            partition=inputs.partition,
            source=inputs.source,
            duration=duration,
            has_audio=bool(has_audio),
            has_video=bool(has_video),
        ),
        model=FusionModel(upstream=_upstream_models(inputs)),
        params=p,
        events=events,
        entities=entities,
        relationships=relationships,
        scenes=scene_views,
        quality={name: fx.quality[name] for name in INPUT_FILES},
    )
