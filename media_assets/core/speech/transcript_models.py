"""Typed transcript.json (docs/outputs.md, "transcript.json"): settings, words, segments, guards, quality."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TranscribeParams(BaseModel):
    """Every decoding, VAD and hallucination-guard setting; recorded verbatim as ``params`` in transcript.json."""

    model_config = ConfigDict(frozen=True)

    # decoding
    language: str | None = Field(None, description="force a language code; None detects it (multilingual models)")
    beam_size: int = 5
    batched: bool = True  # one encoder+decoder pass per VAD window; False: faster-whisper's sequential decoding
    batch_size: int = 1  # windows per encoder/decoder call; on CPU 1 is as fast and needs far less memory
    temperatures: tuple[float, ...] = (0.0,)  # sequential decoding falls back through these
    condition_on_previous_text: bool = False  # sequential only; False avoids most repetition loops
    window_s: float = 30.0  # one Whisper input
    max_merge_gap_s: float = 3.0  # VAD regions closer than this share a window
    chunk_s: float = 900.0  # long audio is cut in silence into chunks of about this length
    chunk_workers: int = 1  # chunks decoded in parallel (the model needs as many CTranslate2 workers)
    # VAD (Silero)
    vad: bool = True
    vad_threshold: float = 0.5
    vad_neg_threshold: float | None = None
    vad_min_speech_ms: int = 250
    vad_min_silence_ms: int = 500
    vad_speech_pad_ms: int = 400
    # hallucination guards (a segment failing any is listed in ``dropped`` with the reason)
    no_speech_threshold: float = 0.6  # with logprob_threshold: Whisper's own "silent segment" rule
    logprob_threshold: float = -1.0
    min_avg_logprob: float = -2.0  # below this a segment is dropped whatever no_speech_prob says
    compression_ratio_threshold: float = 2.4  # gzip ratio of the text; above it is a repetition loop
    max_ngram_repeats: int = 4  # the same 1-4 word n-gram back to back this many times is a loop
    max_segment_repeats: int = 3  # the same text in this many consecutive segments: the repeats are a loop
    min_speech_coverage: float = 0.25  # share of a segment's span that the VAD must call speech
    min_speech_probability: float = 0.2  # mean VAD probability over a segment's span
    max_words_per_s: float = 8.0  # faster than any speech: text invented over a short span


class Word(BaseModel):
    start: float
    end: float
    word: str
    probability: float


class Segment(BaseModel):
    id: int
    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    confidence: float  # exp(avg_logprob)
    speech_probability: float  # mean Silero probability over the segment's span
    words: list[Word] = []


class DroppedSegment(BaseModel):
    start: float
    end: float
    text: str
    reason: str
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None


class Quality(BaseModel):
    """Duration-weighted over kept segments; see ``transcribe.quality_of`` for the definition."""

    score: float = 0.0
    confidence: float = 0.0
    speech_probability: float = 0.0
    word_density: float = 0.0  # words per second of segment time


class ChunkInfo(BaseModel):
    index: int
    start: float
    end: float
    windows: int


class Transcript(BaseModel):
    """transcript.json for an input with audio."""

    has_audio: bool = True
    model: dict[str, Any]
    params: TranscribeParams
    language: str | None
    language_probability: float | None
    language_detected: bool
    duration_s: float
    start_offset_s: float
    speech_s: float
    lost_s: float
    text: str
    quality: Quality
    dropped: list[DroppedSegment] = []
    segments: list[Segment] = []
    chunks: list[ChunkInfo] = []
    elapsed_s: float = 0.0
    real_time_factor: float = 0.0

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]


def no_audio_transcript(reason: str = "no audio stream") -> dict[str, Any]:
    """What the speech files hold for an input without audio (docs/outputs.md)."""
    return {"has_audio": False, "reason": reason}
