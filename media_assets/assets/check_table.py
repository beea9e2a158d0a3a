"""Every asset check, in one table: which asset it judges, what it says, whether it blocks, and how to run it
over one partition's stored outputs.

A blocking check guards what reads the asset: when it fails for a video, the runner records that video's
asset as failed (``check_failed``), so downstream assets refuse that video and only that video. Dagster's own
``blocking`` flag acts per step, so one bad file in a 50-video backfill would hold back the other 49;
this acts per partition. Every asset also has ``processed``: the video went through without error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from media_assets.asset_graph import ASSETS
from media_assets.core import output_checks as oc
from media_assets.core.output_checks import CheckOutcome
from resources.media_store import MediaStore

PROCESSED = "processed"


@dataclass(frozen=True)
class CheckInfo:
    asset: str
    name: str
    description: str
    blocking: bool = False  # a failure fails the asset for that video, so nothing downstream consumes it
    warn_only: bool = False  # a failure is a warning, not an error
    run: Callable[[MediaStore, str], CheckOutcome | None] | None = None  # None: the `processed` check


CHECKS: tuple[CheckInfo, ...] = (
    *(
        CheckInfo(
            a,
            PROCESSED,
            f"The video went through {a} without error. A failure names the file and the problem; the partition "
            "is then not materialized (it shows as failed) and assets downstream refuse it.",
        )
        for a in ASSETS
    ),
    CheckInfo(
        "audio",
        "audio_duration_matches_container",
        "audio.wav lasts as long as the container's audio stream says (within 0.1 s or 2 %), unless decode "
        "losses recorded in audio.json explain the difference. Gates this video: a mismatch would misalign the "
        "transcript, speakers and sound events, so they refuse it (per video; Dagster's run-wide 'blocking' "
        "flag stays off so that the run's other videos go on).",
        blocking=True,
        run=lambda s, k: oc.audio_duration(s.get_json(k, "audio.json")),
    ),
    CheckInfo(
        "scenes",
        "scenes_tile_the_video",
        "Scenes cover the whole video in order, without gap or overlap (in frames and seconds). Gates this video: "
        "keyframes, detections and the timeline are placed by scene.",
        blocking=True,
        run=lambda s, k: oc.scenes_tile(s.get_json(k, "scenes.json")),
    ),
    CheckInfo(
        "keyframes",
        "keyframes_inside_their_scene",
        "Each keyframe lies inside the scene it stands for. Gates this video: detections and image embeddings are "
        "attributed to scenes through keyframes.",
        blocking=True,
        run=lambda s, k: oc.keyframes_inside(s.get_json(k, "keyframes.json"), s.get_json(k, "scenes.json")),
    ),
    CheckInfo(
        "transcript",
        "words_supported_by_audio",
        "At most 10 % of the words (and at least 3 are tolerated) lie where the audio-event model hears only "
        "silence or music: more suggests hallucinated text. A warning; runs once both transcript and "
        "audio_events exist.",
        warn_only=True,
        run=lambda s, k: (
            oc.words_supported_by_audio(s.get_json(k, "transcript.json"), s.get_json(k, "audio_events.json"))
            if s.exists(k, "audio_events.json")
            else None
        ),
    ),
    CheckInfo(
        "timeline",
        "events_within_duration",
        "Every timeline event starts and ends inside the media (0 to its duration, 50 ms tolerance).",
        run=lambda s, k: oc.timeline_within_duration(s.get_json(k, "timeline.json")),
    ),
)

BY_KEY = {(c.asset, c.name): c for c in CHECKS}


def blocking_checks(asset: str) -> list[CheckInfo]:
    return [c for c in CHECKS if c.asset == asset and c.blocking]
