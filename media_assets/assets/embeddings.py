"""``embeddings``: vectors of transcript segments, on-screen text, scene descriptions (and keyframes with a CLIP
model) in the vector store, the same text documents in the full-text index, and ``embeddings.json``.

Batched across the run: documents of every partition are gathered first, encoded together in batches, then
written per partition (``replace_partition``: re-running replaces a partition's points, never duplicates them).
Every input file is optional; a partition whose inputs cannot be read is recorded as failed on its own.
"""

from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import numpy as np

from media_assets.assets.common import asset_args, release_models
from media_assets.assets.runner import require_ok, results, run_partitions
from media_assets.core.cost import CostMeter
from media_assets.core.embed.documents import (
    TEXT_KINDS,
    ImageDocument,
    PartitionDocuments,
    PartitionInputs,
    TextDocument,
    build_documents,
)
from media_assets.core.embed.image_embedder import ImageEmbedder
from media_assets.core.embed.text_embedder import TextEmbedder
from media_assets.core.search.fulltext import TextDoc
from media_assets.core.search.vector_store import VectorPoint, point_id
from media_assets.sources import load_source
from resources.catalog import CatalogResource
from resources.embedders import ImageEmbedderResource, TextEmbedderResource
from resources.fulltext import FulltextResource
from resources.media_store import MediaStore
from resources.processing import ProcessingSettings
from resources.vector_store import VectorStoreResource

INPUT_FILES = {
    "speaker_transcript": "speaker_transcript.json",
    "transcript": "transcript.json",
    "events": "events.json",
    "detections": "detections.json",
    "scenes": "scenes.json",
    "keyframes": "keyframes.json",
}


@dataclass
class Prepared:
    """One partition between gathering and writing."""

    docs: PartitionDocuments
    missing: list[str]
    text_vectors: np.ndarray | None = None
    image_vectors: np.ndarray | None = None
    images: list[ImageDocument] = field(default_factory=list)  # the keyframes whose image could be read
    unreadable: list[str] = field(default_factory=list)


def read_inputs(store: MediaStore, key: str) -> tuple[PartitionInputs, list[str]]:
    """The partition's output files that exist (the plain transcript only when there is no speaker transcript)."""
    found: dict[str, Any] = {}
    missing = []
    for field_name, name in INPUT_FILES.items():
        if field_name == "transcript" and "speaker_transcript" in found:
            continue
        if store.exists(key, name):
            found[field_name] = store.get_json(key, name)
        else:
            missing.append(name)
    return PartitionInputs(**found), missing


def source_uri(store: MediaStore, key: str) -> str:
    try:
        return load_source(store, key).uri
    except Exception:  # the source record is optional for search
        return ""


def gather(store: MediaStore, key: str, with_images: bool) -> Prepared:
    require_ok(store, key, "media_metadata")
    inputs, missing = read_inputs(store, key)
    docs = build_documents(key, source_uri(store, key), inputs)
    prepared = Prepared(docs=docs, missing=missing)
    if with_images:
        for doc in docs.images:
            try:
                store.fetch(key, doc.image)
                prepared.images.append(doc)
            except FileNotFoundError:
                prepared.unreadable.append(doc.image)
    return prepared


def encode_texts(model: TextEmbedder, prepared: dict[str, Prepared], batch_size: int) -> None:
    """One encoding pass over the texts of every partition; vectors are handed back per partition."""
    texts = [d.text for p in prepared.values() for d in p.docs.texts]
    vectors = model.encode(texts, batch_size=batch_size) if texts else np.zeros((0, model.dim), np.float32)
    offset = 0
    for p in prepared.values():
        n = len(p.docs.texts)
        p.text_vectors = vectors[offset : offset + n]
        offset += n


def encode_images(
    model: ImageEmbedder, store: MediaStore, prepared: dict[str, Prepared], batch_size: int, log: Any
) -> None:
    """Keyframes of every partition in batches; an image that cannot be decoded is skipped and recorded."""
    for key, p in prepared.items():
        readable, vectors = [], []
        for start in range(0, len(p.images), batch_size):
            chunk = p.images[start : start + batch_size]
            try:
                vectors.append(model.encode_images([store.fetch(key, d.image) for d in chunk], batch_size=batch_size))
                readable.extend(chunk)
            except (OSError, ValueError):  # fall back to one by one to find the bad image
                for d in chunk:
                    try:
                        vectors.append(model.encode_images([store.fetch(key, d.image)]))
                        readable.append(d)
                    except (OSError, ValueError) as exc:
                        p.unreadable.append(d.image)
                        log.warning(f"[{key}] keyframe {d.image} unreadable: {exc}")
        p.images = readable
        p.image_vectors = np.concatenate(vectors) if vectors else np.zeros((0, model.dim), np.float32)


def _time(value: float | None) -> float:
    return float(value) if value is not None else 0.0


def payload(
    docs: PartitionDocuments, doc: TextDocument | ImageDocument, kind: str, model: dict[str, Any]
) -> dict[str, Any]:
    """The contract payload (partition, source, kind, item, start, end, text, model, revision) plus extras."""
    return {
        **{k: v for k, v in doc.extra.items() if v is not None},
        "partition": docs.partition,
        "source": docs.source,
        "kind": kind,
        "item": doc.item,
        "start": _time(doc.start),
        "end": _time(doc.end),
        "text": doc.text,
        "model": model["name"],
        "revision": model["revision"],
    }


def collection_names(vector_store: VectorStoreResource) -> dict[str, str]:
    return {"text": vector_store.collection("text"), "image": vector_store.collection("image")}


@dg.asset(
    **asset_args("embeddings"),
    kinds={"python", "onnx"},
    description="Text embeddings of transcript segments, on-screen text and scene descriptions (plus keyframe "
    "image embeddings with a configured CLIP model) in the vector store, the same texts in the full-text index, "
    "and embeddings.json with the models, collections, counts and point ids.",
)
def embeddings(
    context: dg.AssetExecutionContext,
    media_store: MediaStore,
    processing: ProcessingSettings,
    catalog: CatalogResource,
    text_embedder: TextEmbedderResource,
    image_embedder: ImageEmbedderResource,
    vector_store: VectorStoreResource,
    fulltext: FulltextResource,
) -> dg.MaterializeResult:
    text_model = text_embedder.get()
    image_model = image_embedder.get()
    preset = processing.preset_name
    text_info = {**text_model.info(), "batch_size": text_embedder.batch_size, "preset": preset}
    image_info = (
        {**image_model.info(), "batch_size": image_embedder.batch_size, "preset": preset} if image_model else None
    )
    collections = collection_names(vector_store)

    prepared: dict[str, Prepared] = {}
    gather_errors: dict[str, BaseException] = {}
    for key in context.partition_keys:
        try:
            prepared[key] = gather(media_store, key, image_model is not None)
        except Exception as exc:  # recorded on its partition by run_partitions below
            gather_errors[key] = exc
    with CostMeter() as meter:
        encode_texts(text_model, prepared, text_embedder.batch_size)
        if image_model is not None:
            encode_images(image_model, media_store, prepared, image_embedder.batch_size, context.log)
    context.log.info(
        f"encoded {sum(len(p.docs.texts) for p in prepared.values())} texts and "
        f"{sum(len(p.images) for p in prepared.values())} keyframes of {len(prepared)} partition(s)"
    )

    store = vector_store.open()
    index = fulltext.open()

    def work(key: str) -> dict[str, dict[str, Any]]:
        if key in gather_errors:
            raise gather_errors[key]
        p = prepared[key]
        docs = p.docs
        assert p.text_vectors is not None
        text_points = [
            VectorPoint(point_id(key, d.kind, d.item), vec, payload(docs, d, d.kind, text_info))
            for d, vec in zip(docs.texts, p.text_vectors, strict=True)
        ]
        store.replace_partition(collections["text"], text_model.dim, key, text_points)
        point_ids: dict[str, list[str]] = {kind: [] for kind in (*TEXT_KINDS, "keyframe")}
        for d, point in zip(docs.texts, text_points, strict=True):
            point_ids[d.kind].append(point.id)
        if image_model is not None and image_info is not None and p.image_vectors is not None:
            image_points = [
                VectorPoint(point_id(key, "keyframe", d.item), vec, payload(docs, d, "keyframe", image_info))
                for d, vec in zip(p.images, p.image_vectors, strict=True)
            ]
            store.replace_partition(collections["image"], image_model.dim, key, image_points)
            point_ids["keyframe"] = [pt.id for pt in image_points]
        index.replace_partition(
            key,
            [TextDoc(key, d.kind, d.item, _time(d.start), _time(d.end), d.text, docs.source) for d in docs.texts],
        )
        counts = {kind: len(ids) for kind, ids in point_ids.items()}
        out = {
            "partition": key,
            "source": docs.source,
            "text_model": text_info,
            "image_model": image_info,
            "collections": {"text": collections["text"], "image": collections["image"] if image_model else None},
            "vector_store": store.endpoint,
            "counts": counts,
            "point_ids": point_ids,
            "fulltext_docs": len(docs.texts),
            "missing_inputs": p.missing,
            "unreadable_images": p.unreadable,
        }
        uri = media_store.put_json(key, "embeddings.json", out)
        return {
            "embeddings": {
                "dagster/uri": uri,
                "model": text_model.name,
                "model_revision": text_model.revision,
                "model_backend": text_model.backend,
                "device": text_model.device,
                "compute_type": text_model.compute_type,
                "image_model": image_model.name if image_model else "",
                "image_model_revision": image_model.revision if image_model else "",
                "vectors": sum(counts.values()),
                **{f"count_{kind}": n for kind, n in counts.items()},
                "missing_inputs": ", ".join(p.missing),
                "collection": collections["text"],
            }
        }

    with store.holding():  # the embedded store: one shard load and flush for the run, not one per partition
        outcome = run_partitions(
            context, ["embeddings"], media_store, processing, work, catalog=catalog, shared=meter.cost
        )
    release_models(text_embedder, image_embedder)
    yield from results(context, outcome)
