"""Word error rate with a standard text normaliser, to score transcripts against reference text.

Normalisation (applied to both sides): Unicode NFKC, lowercase, apostrophes inside words removed ("don't" ->
"dont"), every other punctuation mark or symbol replaced by a space, except a decimal point or thousands
separator between digits; numbers stay as written (no "11" -> "eleven"); whitespace collapsed. WER is the word
Levenshtein distance (substitutions + deletions + insertions) over the number of reference words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_INNER_APOSTROPHE = re.compile(r"(?<=\w)['’ʼ`](?=\w)")
_NUMBER_SEPARATOR = re.compile(r"(?<=\d)[.,](?=\d)")
_PLACEHOLDER = "\u0000"


def normalize_text(text: str) -> str:
    """Lowercase, punctuation-free, single-spaced text (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _INNER_APOSTROPHE.sub("", text)
    text = _NUMBER_SEPARATOR.sub(lambda m: _PLACEHOLDER + m.group(0), text)
    out = []
    for i, ch in enumerate(text):
        if ch == _PLACEHOLDER:
            continue
        if i > 0 and text[i - 1] == _PLACEHOLDER:
            out.append(ch)  # a protected separator between digits
            continue
        cat = unicodedata.category(ch)
        out.append(" " if cat[0] in "PSZC" else ch)
    return " ".join("".join(out).split())


@dataclass(frozen=True)
class WerResult:
    wer: float
    substitutions: int
    deletions: int
    insertions: int
    reference_words: int
    hypothesis_words: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions


def word_errors(reference: str, hypothesis: str, *, normalize: bool = True) -> WerResult:
    """Edit operations turning ``hypothesis`` into ``reference``, counted per kind."""
    ref = (normalize_text(reference) if normalize else reference).split()
    hyp = (normalize_text(hypothesis) if normalize else hypothesis).split()
    # dp[j] = (cost, subs, dels, ins) for ref[:i] vs hyp[:j]
    prev = [(j, 0, 0, j) for j in range(len(hyp) + 1)]
    for i in range(1, len(ref) + 1):
        cur = [(i, 0, i, 0)]
        for j in range(1, len(hyp) + 1):
            if ref[i - 1] == hyp[j - 1]:
                cur.append(prev[j - 1])
                continue
            s, d, n = prev[j - 1], prev[j], cur[j - 1]
            best = min(
                (s[0] + 1, s[1] + 1, s[2], s[3]),
                (d[0] + 1, d[1], d[2] + 1, d[3]),
                (n[0] + 1, n[1], n[2], n[3] + 1),
            )
            cur.append(best)
        prev = cur
    cost, subs, dels, ins = prev[-1]
    return WerResult(
        wer=cost / max(len(ref), 1),
        substitutions=subs,
        deletions=dels,
        insertions=ins,
        reference_words=len(ref),
        hypothesis_words=len(hyp),
    )


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference`` after normalisation (0 = identical)."""
    return word_errors(reference, hypothesis).wer
