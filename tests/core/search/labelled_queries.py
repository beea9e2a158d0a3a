"""A small hand-labelled retrieval set over the ground-truth texts of the shared media (truth.json).

Documents are what the pipeline would index for those files (transcript segments, on-screen text); queries
are labelled with the documents that answer them. Used to choose the fusion method (benchmark) and to check
that hybrid search is at least as good as either engine alone (tests). No result is hard-coded here: only
which documents are relevant to which query.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

Key = tuple[str, str, str]  # partition, kind, item


def build_docs(truth: dict[str, Any]) -> list[dict[str, Any]]:
    """Segments and text events from truth.json, keyed like the pipeline keys them."""
    docs: list[dict[str, Any]] = []

    def add(partition: str, kind: str, item: int, start: float, end: float, text: str) -> None:
        docs.append({"partition": partition, "kind": kind, "item": str(item), "start": start, "end": end, "text": text})

    stm = truth["diarization"]["diarization/pyannote_sample.wav"]["transcript_stm"]
    for i, (_speaker, start, end, text) in enumerate(stm):
        add("pyannote_sample", "segment", i, start, end, text)
    add("jfk", "segment", 0, 0.0, 11.0, truth["speech"]["speech/jfk.flac"]["reference_text"])
    add("ldc", "segment", 0, 0.0, 2.9, truth["speech"]["speech/LDC93S1.wav"]["reference_text"])
    add("stars", "segment", 0, 0.0, 3.0, truth["speech"]["speech/new-home-in-the-stars-16k.wav"]["reference_text"])
    for i, overlay in enumerate(truth["video"]["video/bbb_0_30.webm"]["text_overlays_helper_read"]):
        first, last = overlay["frames_visible_approx"]
        add("bbb", "text_event", i, first / 24.0, last / 24.0, overlay["text"])
    for image, partition in (("images/skimage_page.png", "page"), ("images/rapidocr_en.jpg", "paper")):
        lines = [line for line in truth["images"][image]["ocr_text_helper_read"].split("\n") if line.strip()]
        for i, line in enumerate(lines):
            add(partition, "text_event", i, 0.0, 1.0, line)
    for i, line in enumerate(truth["images"]["images/ultralytics_bus.jpg"]["ocr_text_helper_read"]):
        add("bus", "text_event", i, 0.0, 1.0, line)
    return docs


def _seg(partition: str, *items: int) -> set[Key]:
    return {(partition, "segment", str(i)) for i in items}


def _txt(partition: str, *items: int) -> set[Key]:
    return {(partition, "text_event", str(i)) for i in items}


# (query, relevant documents, style): "keyword" queries share words with their answers, "paraphrase" ones
# mostly do not, "rare" ones are numbers, identifiers, names or foreign words (exact tokens).
QUERIES: list[tuple[str, set[Key], str]] = [
    ("Chicago", _seg("pyannote_sample", 7, 8), "keyword"),
    ("New Jersey", _seg("pyannote_sample", 6, 9, 12), "keyword"),
    ("greasy wash water", _seg("ldc", 0), "keyword"),
    ("fellow Americans", _seg("jfk", 0), "keyword"),
    ("Big Buck Bunny", _txt("bbb", 1), "keyword"),
    ("MovieShots dataset", _txt("paper", 0, 1), "keyword"),
    ("markers of the coins", _txt("page", 1, 2), "keyword"),
    ("heard a beep", _seg("pyannote_sample", 5), "keyword"),
    ("Sheila from Texas", _seg("pyannote_sample", 7), "keyword"),
    ("home in the stars", _seg("stars", 0), "keyword"),
    ("serve your nation instead of asking what it gives you", _seg("jfk", 0), "paraphrase"),
    ("moving to another planet", _seg("stars", 0), "paraphrase"),
    ("where did she grow up", _seg("pyannote_sample", 7, 8), "paraphrase"),
    ("dirty laundry clothes", _seg("ldc", 0), "paraphrase"),
    ("rabbit cartoon title", _txt("bbb", 1), "paraphrase"),
    ("image segmentation tutorial", _txt("page", 0, 1), "paraphrase"),
    ("classifying camera shots in films", _txt("paper", 1), "paraphrase"),
    ("zero emissions", _txt("bus", 0), "paraphrase"),
    ("greeting someone on the phone", _seg("pyannote_sample", 0, 1, 2), "paraphrase"),
    ("film studio presents", _txt("bbb", 0), "paraphrase"),
    ("people in the south call me a northerner", _seg("pyannote_sample", 11), "paraphrase"),
    ("python code creating an array", _txt("page", 2), "paraphrase"),
    ("7858", _txt("paper", 1), "rare"),
    ("46K", _txt("paper", 1), "rare"),
    ("zeros_like", _txt("page", 2), "rare"),
    ("Yankee", _seg("pyannote_sample", 11), "rare"),
    ("Diane", _seg("pyannote_sample", 6), "rare"),
    ("cero emisiones", _txt("bus", 0), "rare"),
]

NONSENSE = ["qwxz blorp fnord", "zzkj vvq xxptl", "asdfgh jklqwe", '"" :: () AND OR NOT']


def load_truth(media_dir: Path) -> dict[str, Any]:
    return json.loads((media_dir / "truth.json").read_text())


def reciprocal_rank(ranked: list[Key], relevant: set[Key], k: int = 10) -> float:
    for rank, key in enumerate(ranked[:k], start=1):
        if key in relevant:
            return 1.0 / rank
    return 0.0


def recall_at(ranked: list[Key], relevant: set[Key], k: int) -> float:
    return len(set(ranked[:k]) & relevant) / len(relevant)
