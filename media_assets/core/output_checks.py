"""Checks over the JSON outputs of one video: plain functions of the documents, so the runner (which blocks
downstream assets on a failed blocking check), the Dagster asset checks and the tests share them.

Each returns a :class:`CheckOutcome`, or ``None`` when the check does not apply (no audio, no video).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

# Words whose middle lies in silence or music (and in no speech) are suspect; a few are tolerated (a word that
# straddles the edge of a music bed), more than this share of the words is not.
UNSUPPORTED_WORDS_SHARE = 0.10
UNSUPPORTED_WORDS_MIN = 3
TIMELINE_TOLERANCE_S = 0.05


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


def audio_duration(audio: dict[str, Any]) -> CheckOutcome | None:
    """audio.wav lasts as long as the container's audio stream says (0.1 s or 2 %), unless a recorded loss
    (a truncated file) explains the difference."""
    if not audio.get("has_audio"):
        return None
    expected = audio.get("expected_duration_s")
    got = float(audio.get("duration_s") or 0.0)
    lost = float(audio.get("lost_s") or 0.0)
    meta = {"duration_s": got, "expected_duration_s": expected, "lost_s": lost}
    if not expected:
        return CheckOutcome(True, "the container states no audio duration; nothing to compare", meta)
    tolerance = max(0.1, 0.02 * float(expected))
    if lost >= 0.05:
        return CheckOutcome(True, f"{lost:.2f} s of audio lost to decode errors, recorded in audio.json", meta)
    if abs(got - float(expected)) > tolerance:
        return CheckOutcome(False, f"audio.wav lasts {got:.3f} s but the container says {float(expected):.3f} s", meta)
    return CheckOutcome(True, f"audio.wav lasts {got:.3f} s, as the container says", meta)


def scenes_tile(scenes_doc: dict[str, Any]) -> CheckOutcome | None:
    """Scenes cover the whole video in order, without gap or overlap, in frames and in seconds."""
    if not scenes_doc.get("has_video"):
        return None
    scenes = scenes_doc.get("scenes") or []
    frames_total = int((scenes_doc.get("decode") or {}).get("frames_total") or 0)
    duration_s = float((scenes_doc.get("video") or {}).get("duration_s") or 0.0)
    problems: list[str] = []
    if not scenes:
        problems = ["no scenes"] if frames_total else []
    else:
        if scenes[0]["start_frame"] != 0:
            problems.append(f"first scene starts at frame {scenes[0]['start_frame']}")
        for a, b in itertools.pairwise(scenes):
            if b["start_frame"] != a["end_frame"] + 1:
                problems.append(f"frames: scene {a['index']} ends {a['end_frame']}, next starts {b['start_frame']}")
            if abs(b["start_s"] - a["end_s"]) > 1e-6:
                problems.append(f"time: scene {a['index']} ends {a['end_s']}, next starts {b['start_s']}")
        if scenes[-1]["end_frame"] != frames_total - 1:
            problems.append(f"last scene ends at frame {scenes[-1]['end_frame']} of {frames_total}")
        if abs(scenes[-1]["end_s"] - duration_s) > 1e-3:
            problems.append(f"last scene ends at {scenes[-1]['end_s']} s, video at {duration_s} s")
    meta = {"scenes": len(scenes), "problems": problems[:20]}
    if problems:
        return CheckOutcome(False, f"{len(problems)} gap(s) or overlap(s): {problems[0]}", meta)
    return CheckOutcome(True, f"{len(scenes)} scenes tile the video", meta)


def keyframes_inside(keyframes_doc: dict[str, Any], scenes_doc: dict[str, Any]) -> CheckOutcome | None:
    """Every keyframe lies inside the scene it represents."""
    if not keyframes_doc.get("has_video"):
        return None
    scenes = scenes_doc.get("scenes") or []
    problems = []
    for k in keyframes_doc.get("keyframes") or []:
        i = k["scene_index"]
        s = scenes[i] if 0 <= i < len(scenes) else None
        if s is None or not (
            s["start_frame"] <= k["frame"] <= s["end_frame"] and s["start_s"] <= k["time_s"] < s["end_s"]
        ):
            problems.append(f"keyframe {k['index']} (frame {k['frame']}) outside scene {i}")
    meta = {"keyframes": len(keyframes_doc.get("keyframes") or []), "problems": problems[:20]}
    if problems:
        return CheckOutcome(False, f"{len(problems)} keyframe(s) outside their scene: {problems[0]}", meta)
    return CheckOutcome(True, f"{meta['keyframes']} keyframes inside their scenes", meta)


def words_supported_by_audio(transcript: dict[str, Any], audio_events: dict[str, Any]) -> CheckOutcome | None:
    """Few words fall where the audio-event model hears silence or music and no speech (hallucinated text)."""
    if not transcript.get("has_audio") or not audio_events.get("has_audio", True):
        return None
    events = audio_events.get("events") or []
    speech = [(e["start"], e["end"]) for e in events if e.get("category") == "speech"]
    quiet = [(e["start"], e["end"], e["category"]) for e in events if e.get("category") in ("silence", "music")]
    words = [w for seg in transcript.get("segments") or [] for w in seg.get("words") or []]
    suspect = []
    for w in words:
        mid = (float(w["start"]) + float(w["end"])) / 2
        where = next((c for a, b, c in quiet if a <= mid < b), None)
        if where and not any(a <= mid < b for a, b in speech):
            suspect.append(f"{w.get('word', '').strip()!r} at {mid:.2f} s ({where})")
    allowed = max(UNSUPPORTED_WORDS_MIN, int(UNSUPPORTED_WORDS_SHARE * len(words)))
    meta = {"words": len(words), "unsupported_words": len(suspect), "allowed": allowed, "examples": suspect[:10]}
    if len(suspect) > allowed:
        return CheckOutcome(
            False, f"{len(suspect)} of {len(words)} words lie in silence or music: {', '.join(suspect[:3])}", meta
        )
    return CheckOutcome(True, f"{len(suspect)} of {len(words)} words lie in silence or music", meta)


def timeline_within_duration(timeline: dict[str, Any]) -> CheckOutcome | None:
    """Every event of the timeline starts and ends inside the media (0 .. duration), with start <= end."""
    duration = (timeline.get("video") or {}).get("duration")
    events = timeline.get("events") or []
    if duration is None:
        return CheckOutcome(not events, "the media has no known duration", {"events": len(events)})
    tol = TIMELINE_TOLERANCE_S
    outside = [
        f"{e['id']} [{e['start']:.3f}, {e['end']:.3f}]"
        for e in events
        if e["start"] < -tol or e["end"] > float(duration) + tol or e["end"] < e["start"]
    ]
    meta = {"events": len(events), "duration_s": float(duration), "outside": outside[:20]}
    if outside:
        return CheckOutcome(
            False, f"{len(outside)} event(s) outside 0-{float(duration):.2f} s: {', '.join(outside[:3])}", meta
        )
    return CheckOutcome(True, f"{len(events)} events inside 0-{float(duration):.2f} s", meta)
