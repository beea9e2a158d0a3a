"""Relationship builders: face ↔ speaker by time overlap, on-screen text ↔ speech by content, sound → scene.

Each builder is one pass over its sources with bisect lookups into sorted spans (O(n log n) overall).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from difflib import SequenceMatcher
from functools import lru_cache

from media_assets.core.timeline.intervals import Coverage, SpanIndex
from media_assets.core.timeline.timeline_models import FusionParams, Relationship, TimelineEvent

_WORD = re.compile(r"\w+", re.UNICODE)
# Words too common to show that a caption and a sentence are about the same thing.
_STOPWORDS_TEXT = """
a an and are as at be but by for from has have he her his i in is it its me my of on or our she so that the
their them they this to was we were what when which who will with you your
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens without accents, e.g. ``"Café, OPEN!"`` -> ``["cafe", "open"]``."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return _WORD.findall(folded)


def content_tokens(text: str) -> list[str]:
    """Tokens that carry meaning: no stopwords, no single letters (unique, in order)."""
    return list(dict.fromkeys(t for t in tokens(text) if t not in STOPWORDS and (len(t) > 1 or t.isdigit())))


def normalized_text(text: str) -> str:
    """Key under which two renderings of the same caption are equal (case, accents, punctuation ignored)."""
    return " ".join(tokens(text))


@lru_cache(maxsize=65536)
def _ratio(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio()


def _best_match(token: str, heard: frozenset[str], min_ratio: float) -> float:
    if token in heard:
        return 1.0
    if len(token) < 4:  # short words: OCR noise turns them into other real words
        return 0.0
    best = 0.0
    for other in heard:
        # ratio = 2 * matches / (la + lb) <= 2 * lo / (lo + hi): >= r needs hi * r <= lo * (2 - r)
        lo, hi = sorted((len(token), len(other)))
        if hi * min_ratio > lo * (2 - min_ratio):
            continue
        r = _ratio(token, other) if token < other else _ratio(other, token)
        if r >= min_ratio and r > best:
            best = r
    return best


def text_similarity(text: str | list[str], spoken: str | frozenset[str], fuzzy_ratio: float = 0.8) -> float:
    """Fraction of the caption's content words that were heard (a fuzzy match counts by its similarity)."""
    wanted = content_tokens(text) if isinstance(text, str) else text
    heard = frozenset(tokens(spoken)) if isinstance(spoken, str) else spoken
    if not wanted or not heard:
        return 0.0
    return sum(_best_match(t, heard, fuzzy_ratio) for t in wanted) / len(wanted)


def text_speech_links(
    texts: Sequence[TimelineEvent], speech: Sequence[TimelineEvent], params: FusionParams
) -> list[Relationship]:
    """Link each text event to the speech segments near it in time that say the same words."""
    if not texts or not speech:
        return []
    index = SpanIndex([e.start for e in speech], [e.end for e in speech])
    heard = [frozenset(tokens(str(e.data.get("text") or ""))) for e in speech]
    out: list[Relationship] = []
    for t in texts:
        wanted = content_tokens(str(t.data.get("text") or ""))
        if not wanted:
            continue
        for i in index.near(t.start - params.text_window_s, t.end + params.text_window_s):
            score = text_similarity(wanted, heard[i], params.text_fuzzy_ratio)
            if score >= params.text_min_score:
                out.append(Relationship(type="text_speech", source=t.id, target=speech[i].id, score=round(score, 3)))
    return out


def face_speaker_links(
    faces: Sequence[TimelineEvent], talk: Mapping[str, Coverage], params: FusionParams
) -> list[Relationship]:
    """Link a face to the speaker who dominates the time it is on screen; score = fraction of that time spoken.

    ``talk`` maps speaker entity ids to the union of their turns. A span where nobody dominates (e.g. a
    dialogue inside one shot) gets no link: the face could belong to either speaker.
    """
    out: list[Relationship] = []
    if not talk:
        return out
    for f in faces:
        span = f.end - f.start
        if span <= 0:
            continue
        spoken = {sid: cov.covered(f.start, f.end) for sid, cov in talk.items()}
        total = sum(spoken.values())
        if total <= 0:
            continue
        sid, best = max(spoken.items(), key=lambda kv: (kv[1], kv[0]))
        score = best / span
        if best / total >= params.face_dominance and score >= params.face_min_overlap:
            out.append(Relationship(type="face_speaker", source=f.id, target=sid, score=round(min(score, 1.0), 3)))
    return out


def sound_scene_links(sounds: Sequence[TimelineEvent], scenes: Sequence[TimelineEvent]) -> list[Relationship]:
    """Place each audio event in the scene(s) it overlaps; score = fraction of the sound inside that scene."""
    if not sounds or not scenes:
        return []
    index = SpanIndex([s.start for s in scenes], [s.end for s in scenes])
    out: list[Relationship] = []
    for snd in sounds:
        span = snd.end - snd.start
        for i, overlap in index.overlapping(snd.start, snd.end):
            score = 1.0 if span <= 0 else overlap / span
            if score > 0:
                out.append(
                    Relationship(type="sound_in_scene", source=snd.id, target=scenes[i].id, score=round(score, 3))
                )
    return out
