"""Speech to time-aligned text with faster-whisper, over the 16 kHz mono WAV of the ``audio`` asset.

Pipeline (see ``chunking`` for the VAD and the plan):

1. Silero VAD streams over the WAV; only speech is decoded, so silence, noise and music cost almost nothing and
   Whisper never sees long stretches without speech (the main source of invented text).
2. Speech regions are merged into <= 30 s windows and the windows grouped into ~15 min chunks cut in silence;
   chunks are decoded independently (in parallel when ``chunk_workers`` > 1) and their times shifted by their
   exact sample offsets.
3. Batched decoding (default): one encoder pass and one decoder pass per window, windows batched together.
   The language is detected from the encoder output of the first batch (weighted by speech per window), so
   unlike ``WhisperModel.transcribe`` the first 30 s are not encoded twice. Sequential decoding
   (``batched=False``) uses faster-whisper's own loop (temperature fallback, optional conditioning) over the
   same windows, passed as ``clip_timestamps``.
4. Guards drop invented text: see :func:`guard_reason`. Dropped segments are listed with the reason.
5. Word timestamps are made monotonic, kept inside their segment and inside the audio, and every time is moved
   onto the media timeline (``+ start_offset_s``).
"""

from __future__ import annotations

import math
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from media_assets.core.speech.chunking import (
    SAMPLE_RATE,
    Chunk,
    Span,
    VadParams,
    VadResult,
    full_coverage,
    plan_chunks,
    plan_windows,
    read_span,
    run_vad,
    wav_frames,
)
from media_assets.core.speech.transcript_models import (
    ChunkInfo,
    DroppedSegment,
    Quality,
    Segment,
    TranscribeParams,
    Transcript,
    Word,
)
from media_assets.core.speech.whisper_loader import LoadedWhisper

PREPEND_PUNCTUATIONS = "\"'“¿([{-"
APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"
NO_SPACE_LANGUAGES = {"zh", "ja", "th", "lo", "my", "yue", "bo"}
_WORD_RE = re.compile(r"\w+", re.UNICODE)


@dataclass
class RawWord:
    start: float  # seconds from WAV sample 0
    end: float
    word: str
    probability: float


@dataclass
class RawSegment:
    start: float  # seconds from WAV sample 0
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    words: list[RawWord] = field(default_factory=list)


@dataclass
class LanguageGuess:
    language: str | None
    probability: float | None
    detected: bool


@dataclass
class _Prepared:
    """Features and encoder output of one batch, computed early (language detection) and reused."""

    features: np.ndarray
    encoded: Any
    sizes: list[int]
    durations: list[float]


# ---------------------------------------------------------------------------------------------------------------
# guards and quality


def repeated_ngram(text: str, max_repeats: int, max_n: int = 4) -> str | None:
    """The first 1..``max_n``-word n-gram repeated back to back ``max_repeats`` times or more, else None."""
    words = [w.lower() for w in _WORD_RE.findall(text)]
    if max_repeats < 2:
        return None
    for n in range(1, max_n + 1):
        for i in range(0, len(words) - n * max_repeats + 1):
            gram = words[i : i + n]
            if all(words[i + k * n : i + (k + 1) * n] == gram for k in range(1, max_repeats)):
                return " ".join(gram)
    return None


def guard_reason(seg: RawSegment, vad: VadResult, p: TranscribeParams) -> str | None:
    """Why ``seg`` is invented text rather than speech, or None to keep it.

    In order: Whisper's own silence rule (``no_speech_prob`` above ``no_speech_threshold`` while ``avg_logprob`` is
    below ``logprob_threshold``), a very low ``avg_logprob``, a gzip compression ratio typical of loops, the same
    n-gram repeated back to back, too little VAD speech under the segment (coverage or mean probability), and more
    words per second than anyone speaks.
    """
    if seg.no_speech_prob > p.no_speech_threshold and seg.avg_logprob < p.logprob_threshold:
        return "no_speech"
    if seg.avg_logprob < p.min_avg_logprob:
        return "low_confidence"
    if seg.compression_ratio > p.compression_ratio_threshold:
        return "repetition"
    gram = repeated_ngram(seg.text, p.max_ngram_repeats)
    if gram is not None:
        return f"repetition_loop: {gram!r}"
    a, b = int(seg.start * SAMPLE_RATE), int(seg.end * SAMPLE_RATE)
    if b > a:
        if vad.coverage(a, b) < p.min_speech_coverage:
            return "outside_speech"
        if vad.mean_prob(a, b) < p.min_speech_probability:
            return "low_speech_probability"
    duration = max(seg.end - seg.start, 0.02)
    if len(seg.words) / duration > p.max_words_per_s and len(seg.words) > 3:
        return "too_dense"
    return None


def density_score(words_per_s: float) -> float:
    """1 for the pace of ordinary speech (1-4.5 words/s), falling linearly to 0 at none and at 9 words/s."""
    if words_per_s < 1.0:
        return max(0.0, words_per_s)
    if words_per_s <= 4.5:
        return 1.0
    return max(0.0, 1.0 - (words_per_s - 4.5) / 4.5)


def quality_of(segments: list[Segment]) -> Quality:
    """Transcript quality in 0-1, weighted by segment duration.

    Per segment: ``confidence`` = exp(avg_logprob) (the decoder's certainty), ``speech_probability`` = mean Silero
    VAD probability over its span (independent evidence that someone speaks there), ``word_density`` = words per
    second; ``score`` = 0.6 confidence + 0.25 speech_probability + 0.15 density_score(word_density), where
    density_score is 1 at ordinary speaking rates and falls towards 0 for text too sparse or too dense to be the
    speech heard. Each field of the result is the duration-weighted mean over kept segments (all 0 when there are
    none: nothing was recognised).
    """
    total = sum(max(s.end - s.start, 0.0) for s in segments)
    if total <= 0:
        return Quality()
    conf = prob = dens = score = 0.0
    for s in segments:
        d = max(s.end - s.start, 0.0)
        rate = len(s.words) / d if d > 0 else 0.0
        conf += d * s.confidence
        prob += d * s.speech_probability
        dens += d * rate
        score += d * (0.6 * s.confidence + 0.25 * s.speech_probability + 0.15 * density_score(rate))
    return Quality(
        score=round(score / total, 4),
        confidence=round(conf / total, 4),
        speech_probability=round(prob / total, 4),
        word_density=round(dens / total, 4),
    )


# ---------------------------------------------------------------------------------------------------------------
# decoding


class _Decoder:
    """Decodes the windows of one WAV with a loaded model (thread-safe across chunks)."""

    def __init__(self, whisper: LoadedWhisper, wav: Path, params: TranscribeParams) -> None:
        self.whisper = whisper
        self.model = whisper.model
        self.wav = wav
        self.params = params

    # -- batched ---------------------------------------------------------------------------------------------
    def prepare(self, audio: np.ndarray, base: int, windows: list[Span]) -> _Prepared:
        from faster_whisper.audio import pad_or_trim

        fe = self.model.feature_extractor
        feats, sizes, durations = [], [], []
        for w in windows:
            piece = audio[w.start - base : w.end - base]
            feats.append(pad_or_trim(fe(piece)[..., :-1]))
            duration = piece.shape[0] / SAMPLE_RATE
            durations.append(duration)
            sizes.append(int(math.ceil(duration) * self.model.frames_per_second))
        features = np.stack(feats)
        return _Prepared(features, self.model.encode(features), sizes, durations)

    def detect_language(self, prepared: _Prepared, windows: list[Span]) -> LanguageGuess:
        """Speech-weighted mean of the language distributions of the windows of one encoded batch."""
        results = self.model.model.detect_language(prepared.encoded)
        totals: dict[str, float] = {}
        weight = 0.0
        for w, langs in zip(windows, results, strict=True):
            weight += w.samples
            for token, prob in langs:
                totals[token[2:-2]] = totals.get(token[2:-2], 0.0) + prob * w.samples
        if not totals or weight <= 0:
            return LanguageGuess(None, None, False)
        lang, mass = max(totals.items(), key=lambda kv: kv[1])
        return LanguageGuess(lang, round(mass / weight, 4), True)

    def decode_batch(self, prepared: _Prepared, language: str) -> list[list[RawSegment]]:
        """One generate call for the batch; returns segments per window with times relative to the window."""
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens

        m = self.model
        p = self.params
        tokenizer = Tokenizer(m.hf_tokenizer, m.model.is_multilingual, task="transcribe", language=language)
        prompt = m.get_prompt(tokenizer, previous_tokens=[], without_timestamps=False)
        n = prepared.features.shape[0]
        results = m.model.generate(
            prepared.encoded,
            [list(prompt) for _ in range(n)],
            beam_size=p.beam_size,
            patience=1,
            length_penalty=1,
            max_length=m.max_length,
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
            return_scores=True,
            return_no_speech_prob=True,
            sampling_temperature=p.temperatures[0] if p.temperatures else 0.0,
            repetition_penalty=1,
            no_repeat_ngram_size=0,
        )
        grouped: list[list[dict]] = []
        for i, result in enumerate(results):
            tokens = result.sequences_ids[0]
            avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
            subsegments, _, _ = m._split_segments_by_timestamps(
                tokenizer=tokenizer,
                tokens=tokens,
                time_offset=0.0,
                segment_size=prepared.sizes[i],
                segment_duration=prepared.durations[i],
                seek=0,
            )
            items = []
            for sub in subsegments:
                text = tokenizer.decode(sub["tokens"])
                items.append(
                    {
                        "text": text,
                        "avg_logprob": float(avg_logprob),
                        "no_speech_prob": float(result.no_speech_prob),
                        "tokens": sub["tokens"],
                        "start": sub["start"],
                        "end": sub["end"],
                        "compression_ratio": get_compression_ratio(text),
                        "seek": 0,
                    }
                )
            grouped.append(items)
        # every window yields at least one (possibly empty) sub-segment, so the rows line up with the encoder output
        m.add_word_timestamps(
            grouped, tokenizer, prepared.encoded, prepared.sizes, PREPEND_PUNCTUATIONS, APPEND_PUNCTUATIONS, 0.0
        )
        out: list[list[RawSegment]] = []
        for items in grouped:
            out.append([_raw(item) for item in items])
        return out

    def decode_chunk_batched(self, chunk: Chunk, language: str, first: _Prepared | None) -> list[RawSegment]:
        audio = read_span(self.wav, chunk.start, chunk.end)
        segments: list[RawSegment] = []
        bs = max(1, self.params.batch_size)
        for b in range(0, len(chunk.windows), bs):
            windows = chunk.windows[b : b + bs]
            prepared = first if (b == 0 and first is not None) else self.prepare(audio, chunk.start, windows)
            for w, segs in zip(windows, self.decode_batch(prepared, language), strict=True):
                offset = w.start / SAMPLE_RATE  # exact: the window's first sample
                segments.extend(_shift(s, offset) for s in segs)
        return segments

    # -- sequential ------------------------------------------------------------------------------------------
    def decode_chunk_sequential(self, chunk: Chunk, language: str) -> list[RawSegment]:
        p = self.params
        audio = read_span(self.wav, chunk.start, chunk.end)
        clips: list[float] = []
        for w in chunk.windows:
            clips += [(w.start - chunk.start) / SAMPLE_RATE, (w.end - chunk.start) / SAMPLE_RATE]
        segments, _info = self.model.transcribe(
            audio,
            language=language,
            beam_size=p.beam_size,
            temperature=list(p.temperatures) or [0.0],
            condition_on_previous_text=p.condition_on_previous_text,
            compression_ratio_threshold=p.compression_ratio_threshold,
            log_prob_threshold=p.logprob_threshold,
            no_speech_threshold=None,  # applied by the guards, so that dropped text is listed
            word_timestamps=True,
            vad_filter=False,
            clip_timestamps=clips,
        )
        offset = chunk.start / SAMPLE_RATE
        out = []
        for s in segments:
            raw = RawSegment(
                start=s.start,
                end=s.end,
                text=s.text,
                avg_logprob=float(s.avg_logprob),
                no_speech_prob=float(s.no_speech_prob),
                compression_ratio=float(s.compression_ratio),
                words=[RawWord(w.start, w.end, w.word, float(w.probability)) for w in (s.words or [])],
            )
            out.append(_shift(raw, offset))
        return out


def _raw(item: dict) -> RawSegment:
    return RawSegment(
        start=float(item["start"]),
        end=float(item["end"]),
        text=item["text"],
        avg_logprob=item["avg_logprob"],
        no_speech_prob=item["no_speech_prob"],
        compression_ratio=float(item["compression_ratio"]),
        words=[
            RawWord(float(w["start"]), float(w["end"]), w["word"], float(w["probability"]))
            for w in item.get("words") or []
        ],
    )


def _shift(seg: RawSegment, offset: float) -> RawSegment:
    seg.start += offset
    seg.end += offset
    for w in seg.words:
        w.start += offset
        w.end += offset
    return seg


# ---------------------------------------------------------------------------------------------------------------
# assembly


def _finalise(
    raw: list[RawSegment], vad: VadResult, params: TranscribeParams, duration: float, offset: float
) -> tuple[list[Segment], list[DroppedSegment]]:
    """Guards, then times: inside the audio, segments and words monotonic, words inside their segment."""
    kept: list[Segment] = []
    dropped: list[DroppedSegment] = []
    prev_end = 0.0
    run_text, run_length = "", 0
    for seg in sorted(raw, key=lambda s: (s.start, s.end)):
        text = seg.text.strip()
        if not text:
            continue
        key = " ".join(_WORD_RE.findall(text.lower()))
        run_length = run_length + 1 if key == run_text else 1
        run_text = key
        reason = guard_reason(seg, vad, params)
        if reason is None and params.max_segment_repeats > 1 and run_length >= params.max_segment_repeats:
            reason = "repeated_segment"
        if reason is not None:
            dropped.append(
                DroppedSegment(
                    start=round(seg.start + offset, 3),
                    end=round(seg.end + offset, 3),
                    text=text,
                    reason=reason,
                    avg_logprob=round(seg.avg_logprob, 4),
                    no_speech_prob=round(seg.no_speech_prob, 4),
                    compression_ratio=round(seg.compression_ratio, 3),
                )
            )
            continue
        words = [w for w in seg.words if w.word.strip()]
        start, end = seg.start, seg.end
        if words:
            start, end = min(start, words[0].start), max(end, words[-1].end)
        start = min(max(start, prev_end, 0.0), duration)
        end = min(max(end, start), duration)
        out_words: list[Word] = []
        last = start
        for w in words:
            ws = min(max(w.start, last), end)
            we = min(max(w.end, ws), end)
            out_words.append(
                Word(
                    start=round(ws + offset, 3),
                    end=round(we + offset, 3),
                    word=w.word.strip(),
                    probability=round(w.probability, 4),
                )
            )
            last = we
        a, b = int(start * SAMPLE_RATE), int(end * SAMPLE_RATE)
        kept.append(
            Segment(
                id=len(kept),
                start=round(start + offset, 3),
                end=round(end + offset, 3),
                text=text,
                avg_logprob=round(seg.avg_logprob, 4),
                no_speech_prob=round(seg.no_speech_prob, 4),
                compression_ratio=round(seg.compression_ratio, 3),
                confidence=round(math.exp(seg.avg_logprob), 4),
                speech_probability=round(vad.mean_prob(a, b) if b > a else 0.0, 4),
                words=out_words,
            )
        )
        prev_end = end
    return kept, dropped


def vad_params(p: TranscribeParams) -> VadParams:
    return VadParams(
        threshold=p.vad_threshold,
        neg_threshold=p.vad_neg_threshold,
        min_speech_ms=p.vad_min_speech_ms,
        min_silence_ms=p.vad_min_silence_ms,
        speech_pad_ms=p.vad_speech_pad_ms,
        max_speech_s=p.window_s,
    )


def transcribe_wav(
    whisper: LoadedWhisper,
    wav: str | Path,
    params: TranscribeParams | None = None,
    *,
    start_offset_s: float = 0.0,
    lost_s: float = 0.0,
    model_info: dict[str, Any] | None = None,
) -> Transcript:
    """Transcribe a 16 kHz mono WAV; times in the result are on the media timeline (``+ start_offset_s``).

    ``model_info`` is the ``model`` block to record (defaults to ``whisper.info()`` plus the decoding settings).
    """
    started = time.perf_counter()
    p = params or TranscribeParams()
    wav = Path(wav)
    total = wav_frames(wav)
    duration = total / SAMPLE_RATE
    vad = run_vad(wav, vad_params(p))  # always: the guards use its probabilities even when it does not cut
    regions = vad.regions if p.vad else full_coverage(total).regions
    windows = plan_windows(regions, p.window_s, p.max_merge_gap_s)
    chunks = plan_chunks(windows, p.chunk_s)
    decoder = _Decoder(whisper, wav, p)

    first: _Prepared | None = None
    if p.language:
        guess = LanguageGuess(p.language, None, False)
    elif not whisper.multilingual:
        guess = LanguageGuess("en", None, False)  # English-only model: nothing to detect
    elif not chunks:
        guess = LanguageGuess(None, None, False)
    else:
        c0 = chunks[0]
        lang_windows = c0.windows[: max(1, p.batch_size) if p.batched else 1]
        audio0 = read_span(wav, c0.start, lang_windows[-1].end)
        first = decoder.prepare(audio0, c0.start, lang_windows)
        del audio0
        guess = decoder.detect_language(first, lang_windows)
        if not p.batched:
            first = None
    language = guess.language or "en"

    def run(chunk: Chunk) -> tuple[list[RawSegment], ChunkInfo]:
        if p.batched:
            segs = decoder.decode_chunk_batched(chunk, language, first if chunk.index == 0 else None)
        else:
            segs = decoder.decode_chunk_sequential(chunk, language)
        info = ChunkInfo(
            index=chunk.index,
            start=round(chunk.start / SAMPLE_RATE + start_offset_s, 3),
            end=round(chunk.end / SAMPLE_RATE + start_offset_s, 3),
            windows=len(chunk.windows),
        )
        return segs, info

    workers = max(1, min(p.chunk_workers, len(chunks)))
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="whisper-chunk") as pool:
            results = list(pool.map(run, chunks))
    else:
        results = [run(c) for c in chunks]
    raw = [s for segs, _ in results for s in segs]
    segments, dropped = _finalise(raw, vad, p, duration, start_offset_s)
    sep = "" if language in NO_SPACE_LANGUAGES else " "
    model_block = dict(model_info) if model_info is not None else whisper.info()
    model_block.setdefault("beam_size", p.beam_size)
    model_block.setdefault("batched", p.batched)
    elapsed = time.perf_counter() - started
    return Transcript(
        model=model_block,
        params=p,
        language=guess.language,
        language_probability=guess.probability,
        language_detected=guess.detected,
        duration_s=round(duration, 3),
        start_offset_s=round(start_offset_s, 6),
        speech_s=round(vad.speech_samples() / SAMPLE_RATE, 3),
        lost_s=round(lost_s, 3),
        text=sep.join(s.text for s in segments),
        quality=quality_of(segments),
        dropped=dropped,
        segments=segments,
        chunks=[info for _, info in results],
        elapsed_s=round(elapsed, 3),
        real_time_factor=round(elapsed / duration, 4) if duration > 0 else 0.0,
    )
