"""Word-level speaker labelling: segment splitting, gap filling, markdown; STM-derived transcripts."""

from __future__ import annotations

from pathlib import Path

from media_assets.core.speech.rttm import read_stm
from media_assets.core.speech.speaker_align import align_speakers, format_timestamp, to_markdown


def stm_transcript(stm_path: Path, merge_pairs: bool = True) -> dict:
    """A transcript.json-shaped dict from an STM file: words spread evenly over each utterance. With
    ``merge_pairs`` consecutive utterances share one segment (as Whisper often does), so alignment must split."""
    utterances = read_stm(stm_path)
    segments = []
    for u in utterances:
        words = u.text.split()
        step = (u.end - u.start) / len(words)
        ws = [
            {
                "start": round(u.start + i * step, 3),
                "end": round(u.start + (i + 1) * step, 3),
                "word": " " + w,
                "probability": 0.9,
            }
            for i, w in enumerate(words)
        ]
        if merge_pairs and segments and len(segments[-1]["_parts"]) == 1:
            seg = segments[-1]
            seg["words"] += ws
            seg["end"] = u.end
            seg["text"] += " " + u.text
            seg["_parts"].append(u.speaker)
            continue
        segments.append({"start": u.start, "end": u.end, "text": u.text, "words": ws, "_parts": [u.speaker]})
    for i, s in enumerate(segments):
        s["id"] = i
        s.pop("_parts")
    return {"has_audio": True, "language": "en", "segments": segments}


DIAR = {
    "has_audio": True,
    "speakers": [{"id": "SPEAKER_00", "total_s": 4.0, "turns": 1}, {"id": "SPEAKER_01", "total_s": 3.0, "turns": 1}],
    "segments": [
        {"start": 0.0, "end": 4.0, "speaker": "SPEAKER_00", "confidence": 0.8, "overlap": False},
        {"start": 4.0, "end": 7.0, "speaker": "SPEAKER_01", "confidence": 0.8, "overlap": False},
    ],
}


def _words(*spans: tuple[float, float, str]) -> list[dict]:
    return [{"start": a, "end": b, "word": " " + w, "probability": 0.5} for a, b, w in spans]


def test_segment_split_at_speaker_change() -> None:
    transcript = {
        "has_audio": True,
        "segments": [
            {
                "start": 2.0,
                "end": 6.0,
                "text": "hi there yes no",
                "words": _words((2.0, 2.5, "hi"), (3.0, 3.8, "there"), (4.2, 4.6, "yes"), (5.0, 6.0, "no")),
            },
            {"start": 8.0, "end": 9.0, "text": "late", "words": _words((7.3, 7.6, "late"))},
            {"start": 20.0, "end": 21.0, "text": "far", "words": _words((20.0, 21.0, "far"))},
            {"start": 1.0, "end": 2.0, "text": " no words ", "words": []},
        ],
    }
    out = align_speakers(transcript, DIAR)
    assert [(s.speaker, s.text) for s in out.segments] == [
        ("SPEAKER_00", "hi there"),
        ("SPEAKER_01", "yes no"),
        ("SPEAKER_01", "late"),  # 0.3 s after the last turn: nearest within max_gap
        (None, "far"),  # nowhere near a turn
        ("SPEAKER_00", "no words"),
    ]
    assert out.segments[0].start == 2.0 and out.segments[0].end == 3.8
    assert out.segments[1].words[0].speaker == "SPEAKER_01"
    assert out.unassigned_words == 1
    assert [s.id for s in out.speakers] == ["SPEAKER_00", "SPEAKER_01"]


def test_word_straddling_a_boundary_takes_the_larger_overlap() -> None:
    transcript = {"segments": [{"start": 3.5, "end": 4.9, "text": "x", "words": _words((3.5, 4.9, "x"))}]}
    assert align_speakers(transcript, DIAR).segments[0].speaker == "SPEAKER_01"


def test_uncovered_word_between_same_speaker_inherits() -> None:
    diar = {"segments": [{"start": 0, "end": 1, "speaker": "A"}, {"start": 5, "end": 6, "speaker": "A"}]}
    transcript = {
        "segments": [
            {"start": 0, "end": 6, "text": "a b c", "words": _words((0.2, 0.8, "a"), (2.8, 3.0, "b"), (5.2, 5.8, "c"))}
        ]
    }
    out = align_speakers(transcript, diar)
    assert len(out.segments) == 1 and out.segments[0].speaker == "A" and out.unassigned_words == 0


def test_no_audio_and_markdown() -> None:
    out = align_speakers({"has_audio": False, "reason": "no audio stream"}, DIAR)
    assert out.to_json() == {"has_audio": False, "reason": "no audio stream"}
    assert "No audio" in to_markdown(out)
    transcript = {
        "segments": [
            {
                "start": 1.2,
                "end": 7.9,
                "text": "",
                "words": _words((1.2, 2.0, "Hello"), (2.1, 3.0, "there."), (4.5, 7.9, "Hi.")),
            }
        ]
    }
    md = to_markdown(align_speakers(transcript, DIAR), title="k")
    assert md.splitlines()[:6] == [
        "# k",
        "",
        "**SPEAKER_00** [00:01.20 - 00:03.00]",
        "Hello there.",
        "",
        "**SPEAKER_01** [00:04.50 - 00:07.90]",
    ]
    assert format_timestamp(3725.5) == "1:02:05.50"


def test_stm_transcript_against_its_own_speakers(media_dir: Path) -> None:
    """With the reference turns as 'diarization', every STM utterance comes back with its own speaker."""
    stm = read_stm(media_dir / "diarization/pyannote_sample.stm")
    diar = {"segments": [{"start": u.start, "end": u.end, "speaker": u.speaker} for u in stm]}
    out = align_speakers(stm_transcript(media_dir / "diarization/pyannote_sample.stm"), diar)
    assert [(s.speaker, s.start) for s in out.segments] == [(u.speaker, u.start) for u in _merge_runs(stm)]


def _merge_runs(stm: list) -> list:
    runs = []
    for u in stm:
        if runs and runs[-1].speaker == u.speaker and _pair_index(stm, u) % 2 == 1:
            continue
        runs.append(u)
    return runs


def _pair_index(stm: list, u) -> int:
    return stm.index(u)


def test_segment_text_joins_stripped_words_with_spaces() -> None:
    transcript = {
        "has_audio": True,
        "segments": [
            {
                "start": 0.0,
                "end": 2.0,
                "text": "Ask not, what",
                "words": [
                    {"start": 0.0, "end": 0.5, "word": "Ask", "probability": 0.9},
                    {"start": 0.5, "end": 1.0, "word": "not,", "probability": 0.9},
                    {"start": 1.0, "end": 2.0, "word": "what", "probability": 0.9},
                ],
            }
        ],
    }
    diarization = {
        "has_audio": True,
        "speakers": [{"id": "SPEAKER_00", "total_s": 2.0, "turns": 1}],
        "segments": [{"start": 0.0, "end": 2.0, "speaker": "SPEAKER_00", "confidence": 1.0, "overlap": False}],
    }
    result = align_speakers(transcript, diarization)
    assert [s.text for s in result.segments] == ["Ask not, what"]
