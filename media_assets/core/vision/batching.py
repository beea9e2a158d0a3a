"""Run the vision models over the frames of many partitions at once.

One pass gathers every frame of every partition of a run, reads each distinct image once (a background thread
reads and decodes the next batch while the models work on the current one), and calls each model on batches
of ``batch_size`` images. An image that cannot be read, or on which a model fails, is recorded on its frame
(``status``/``error``); the other frames carry on.
"""

from __future__ import annotations

import contextlib
import io
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from media_assets.core.transient import is_out_of_memory
from media_assets.core.vision.faces import RetinaFaceDetector
from media_assets.core.vision.objects import ObjectDetector
from media_assets.core.vision.ocr import RapidOcrEngine
from media_assets.core.vision.text_reuse import ReusePlanner, RootSlot, TextRoot, regions_of
from media_assets.core.vision.vision_models import FrameDetections, FrameSource, FrameStatus

MIN_SIDE = 8  # smaller images are treated as empty
_OBJECT_REPR = re.compile(r"<[^<>]* at 0x[0-9a-fA-F]+>")


@dataclass(frozen=True)
class FrameRef:
    """One frame to analyse: where its image is (a name in the partition's store folder) and when it is."""

    key: str
    source: FrameSource
    index: int
    frame: int
    time_s: float
    image: str | None
    width: int = 0
    height: int = 0
    same_as: tuple[FrameSource, int] | None = None  # a frame of the same partition whose results it shares


class ImageProblem(Exception):
    def __init__(self, status: FrameStatus, message: str) -> None:
        self.status = status
        super().__init__(message)


def decode_image(data: bytes) -> np.ndarray:
    """RGB uint8 pixels of an encoded image (EXIF orientation applied); raises :class:`ImageProblem`."""
    if not data:
        raise ImageProblem("empty", "the image file is empty (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            rgb = ImageOps.exif_transpose(im).convert("RGB")
    except Exception as exc:
        detail = _OBJECT_REPR.sub("", str(exc)).strip()  # PIL names the BytesIO object: not stable across runs
        raise ImageProblem("unreadable", f"cannot decode image: {type(exc).__name__}: {detail}") from exc
    if min(rgb.size) < MIN_SIDE:
        raise ImageProblem("empty", f"the image has no usable pixels ({rgb.width}x{rgb.height})")
    return np.asarray(rgb)


@dataclass
class ModelTiming:
    images: int = 0
    calls: int = 0
    seconds: float = 0.0

    @property
    def ms_per_image(self) -> float:
        return round(1000 * self.seconds / self.images, 2) if self.images else 0.0


@dataclass
class PipelineStats:
    frames: int = 0
    images: int = 0  # distinct images analysed
    ok: int = 0
    unreadable: int = 0
    empty: int = 0
    read_s: float = 0.0  # reading + decoding, mostly hidden behind inference by the prefetch thread
    wait_s: float = 0.0  # time the models waited for images
    wall_s: float = 0.0
    models: dict[str, ModelTiming] = field(default_factory=dict)  # seconds summed over worker threads
    text_frames: dict[str, int] = field(default_factory=dict)  # what OCR did per image (text_reuse), if it looked

    def as_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "images": self.images,
            "ok": self.ok,
            "unreadable": self.unreadable,
            "empty": self.empty,
            "read_s": round(self.read_s, 3),
            "wait_s": round(self.wait_s, 3),
            "wall_s": round(self.wall_s, 3),
            "ms_per_image": {k: v.ms_per_image for k, v in self.models.items()},
            **({"text_frames": self.text_frames} if self.text_frames else {}),
        }


@dataclass
class PipelineResult:
    frames: dict[str, list[FrameDetections]]  # partition key -> frames in the order given
    thumbnails: dict[FrameRef, Image.Image]
    stats: PipelineStats
    seconds_by_key: dict[str, float]  # each partition's share of the inference time


@dataclass
class _Image:
    source: FrameRef  # the frame whose image file is read
    refs: list[FrameRef]
    array: np.ndarray | None = None
    status: FrameStatus = "ok"
    error: str | None = None
    read_s: float = 0.0
    shape: tuple[int, ...] | None = None


class VisionPipeline:
    """The three models over many frames; any model may be None (disabled)."""

    def __init__(
        self,
        objects: ObjectDetector | None = None,
        faces: RetinaFaceDetector | None = None,
        ocr: RapidOcrEngine | None = None,
        *,
        batch_size: int = 32,
        prefetch: bool = True,
        workers: int = 1,
        worker_chunk: int = 1,
        thumbnail_width: int = 240,
    ) -> None:
        self.objects = objects
        self.faces = faces
        self.ocr = ocr
        self.batch_size = max(1, batch_size)
        self.prefetch = prefetch
        self.workers = max(1, workers)
        self.worker_chunk = max(1, worker_chunk)
        self._lock = threading.Lock()
        self.thumbnail_width = thumbnail_width

    def _models(self) -> list[tuple[str, Callable[[list[np.ndarray]], list[list[Any]]]]]:
        out: list[tuple[str, Callable[[list[np.ndarray]], list[list[Any]]]]] = []
        if self.objects is not None:
            out.append(("objects", self.objects.detect))
        if self.faces is not None:
            out.append(("faces", self.faces.detect))
        if self.ocr is not None:
            ocr = self.ocr
            if self._text_reuse:
                out.append(("text_gate", lambda arrays: [ocr.text_boxes(a) for a in arrays]))
            else:
                out.append(("text", ocr.recognize))
        return out

    @property
    def _text_reuse(self) -> bool:
        return self.ocr is not None and self.ocr.params.gate_side_len > 0

    def run(
        self,
        refs: Sequence[FrameRef],
        read: Callable[[FrameRef], bytes],
        thumbnails_for: set[FrameRef] | None = None,
    ) -> PipelineResult:
        """Analyse ``refs``; ``read(ref)`` returns the encoded image bytes of ``ref.image``."""
        started = time.perf_counter()
        stats = PipelineStats(frames=len(refs))
        planner = ReusePlanner() if self._text_reuse else None  # this run's text layouts, video by video
        by_name: dict[tuple[str, str], _Image] = {}
        by_id = {(r.key, r.source, r.index): r for r in refs}
        for r in refs:
            target = by_id.get((r.key, *r.same_as)) if r.same_as else None
            src = target if target is not None and target.image else r
            if src.image:
                by_name.setdefault((src.key, src.image), _Image(src, [])).refs.append(r)
        images = list(by_name.values())
        stats.images = len(images)
        found: dict[int, dict[str, list[Any]]] = {}
        seconds_by_key: dict[str, float] = {}
        thumbs: dict[FrameRef, Image.Image] = {}
        batches = [images[i : i + self.batch_size] for i in range(0, len(images), self.batch_size)]

        def load(batch: list[_Image]) -> list[_Image]:
            for item in batch:
                t = time.perf_counter()
                try:
                    item.array = decode_image(read(item.source))
                    item.shape = item.array.shape
                except ImageProblem as exc:
                    item.status, item.error = exc.status, str(exc)
                except Exception as exc:  # missing file, storage error: this image only
                    item.status, item.error = "unreadable", f"cannot read image: {type(exc).__name__}: {exc}"
                item.read_s = time.perf_counter() - t
            return batch

        with contextlib.ExitStack() as stack:
            pool = stack.enter_context(ThreadPoolExecutor(max_workers=1, thread_name_prefix="vision-prefetch"))
            infer_pool = (
                stack.enter_context(ThreadPoolExecutor(self.workers, thread_name_prefix="vision-infer"))
                if self.workers > 1
                else None
            )
            future: Future | None = pool.submit(load, batches[0]) if (batches and self.prefetch) else None
            for bi, batch in enumerate(batches):
                t = time.perf_counter()
                loaded = future.result() if future is not None else load(batch)
                stats.wait_s += time.perf_counter() - t
                future = pool.submit(load, batches[bi + 1]) if (self.prefetch and bi + 1 < len(batches)) else None
                ok = [item for item in loaded if item.array is not None]
                for item in loaded:
                    stats.read_s += item.read_s
                batch_s = self._infer(ok, found, stats, infer_pool, planner)
                share = batch_s / max(1, len(ok))
                for item in ok:
                    for r in item.refs:
                        seconds_by_key[r.key] = seconds_by_key.get(r.key, 0.0) + share / len(item.refs)
                    if thumbnails_for:
                        self._thumbs(item, thumbnails_for, thumbs)
                for item in loaded:
                    item.array = None  # free the pixels as soon as the batch is done
        frames = self._assemble(refs, by_name, found, stats)
        if planner is not None:
            stats.text_frames = dict(planner.counts)
        stats.wall_s = time.perf_counter() - started
        return PipelineResult(frames, thumbs, stats, seconds_by_key)

    def _infer(
        self,
        ok: list[_Image],
        found: dict[int, dict[str, list[Any]]],
        stats: PipelineStats,
        pool: ThreadPoolExecutor | None,
        planner: ReusePlanner | None,
    ) -> float:
        """The batch through every model. With ``workers > 1`` the batch is cut into chunks of ``worker_chunk``
        images that the workers take as they come free (ONNX Runtime releases the GIL; sessions are shared,
        ``run`` is thread-safe): on a CPU, parallel images with one intra-op thread each keep the cores busier
        than one image with many threads, since a small model's graph and the Python pre/post-processing do not
        parallelise well. Small chunks pulled on demand matter: OCR time varies tenfold between frames, so
        equal halves leave one worker idle while the other finishes the text-heavy frames."""
        started = time.perf_counter()
        self._parallel(ok, lambda part: self._infer_part(part, found, stats), pool)
        if planner is not None:
            self._read_text(ok, found, stats, pool, planner)
        return time.perf_counter() - started

    def _parallel(
        self, items: list[_Image], fn: Callable[[list[_Image]], None], pool: ThreadPoolExecutor | None
    ) -> None:
        if pool is not None and len(items) > 1:
            size = min(self.worker_chunk, -(-len(items) // self.workers))
            chunks = [items[i : i + size] for i in range(0, len(items), size)]
            list(pool.map(fn, chunks))
        elif items:
            fn(items)

    def _read_text(
        self,
        ok: list[_Image],
        found: dict[int, dict[str, list[Any]]],
        stats: PipelineStats,
        pool: ThreadPoolExecutor | None,
        planner: ReusePlanner,
    ) -> None:
        """OCR after the cheap look (``text_reuse``): frames in time order within each video; a new layout is
        read in full, a known one reuses or re-reads its first frame's reading, a frame with no text stops."""
        reads: list[tuple[_Image, RootSlot | None]] = []
        follows: list[tuple[_Image, RootSlot]] = []
        for item in sorted(ok, key=lambda it: (it.source.key, it.source.time_s, it.source.index)):
            boxes = found.get(id(item), {}).pop("text_gate", None)
            if item.status != "ok" or boxes is None:
                continue  # the look failed on this image: marked unreadable already
            decision, slot = planner.decide(item.source.key, boxes)
            if decision == "none":
                found[id(item)]["text"] = []
            elif decision == "read":
                reads.append((item, slot))
            else:
                assert slot is not None
                follows.append((item, slot))
        self._read_full(reads, found, stats, pool)
        rereads: list[tuple[_Image, RootSlot]] = []
        late: list[tuple[_Image, RootSlot | None]] = []
        for item, slot in follows:
            outcome = planner.resolve(slot, item.array)
            if outcome == "reuse":
                assert slot.root is not None
                found[id(item)]["text"] = [line.model_copy() for line in slot.root.lines]
            elif outcome == "reread":
                rereads.append((item, slot))
            else:
                late.append((item, slot))
        if rereads:
            t = time.perf_counter()
            frames = [(item.array, slot.root.reading) for item, slot in rereads if slot.root is not None]
            assert len(frames) == len(rereads)  # resolve re-reads only frames whose slot was read
            try:
                outs: list[Any] = self.ocr.reread(frames) if self.ocr is not None else []
            except Exception:  # the full reading below isolates the frame that fails, if any
                outs = [None] * len(frames)
            self._time(stats, "text_reread", time.perf_counter() - t, len(frames), 1)
            for (item, slot), lines in zip(rereads, outs, strict=True):
                if lines is None:  # other text in the same places: read in full, the newest reading of the layout
                    planner.reread_failed()
                    late.append((item, slot))
                else:
                    found[id(item)]["text"] = lines
        self._read_full(late, found, stats, pool)

    def _read_full(
        self,
        pairs: list[tuple[_Image, RootSlot | None]],
        found: dict[int, dict[str, list[Any]]],
        stats: PipelineStats,
        pool: ThreadPoolExecutor | None,
    ) -> None:
        """The full OCR on these frames (in parallel like the other models); a frame with a slot becomes the
        root of its layout (the latest reading of a layout is the one later frames are compared with)."""
        ocr = self.ocr
        if ocr is None or not pairs:
            return
        slot_of = {id(item): slot for item, slot in pairs}

        def part(items: list[_Image]) -> None:
            t = time.perf_counter()
            outs, calls = self._run_model("text", ocr.read, items)
            self._time(stats, "text", time.perf_counter() - t, len(items), calls)
            for item, out in zip(items, outs, strict=True):
                lines, reading = out if isinstance(out, tuple) else ([], None)  # [] where the model failed
                found.setdefault(id(item), {})["text"] = lines
                slot = slot_of.get(id(item))
                if slot is not None and reading is not None and item.array is not None:
                    h, w = item.array.shape[:2]
                    boxes = np.array([line.box for line in lines], dtype=np.float64).reshape(-1, 4) * [w, h, w, h]
                    slot.root = TextRoot(lines, reading, regions_of(item.array, boxes), item.array.shape)

        self._parallel([item for item, _ in pairs], part, pool)

    def _time(self, stats: PipelineStats, name: str, seconds: float, images: int, calls: int) -> None:
        with self._lock:
            timing = stats.models.setdefault(name, ModelTiming())
            timing.seconds += seconds
            timing.images += images
            timing.calls += calls

    def _infer_part(self, ok: list[_Image], found: dict[int, dict[str, list[Any]]], stats: PipelineStats) -> None:
        """Every model on ``ok``; if a model fails on them, retry image by image to isolate the bad one."""
        arrays = [item.array for item in ok]
        for name, fn in self._models():
            t = time.perf_counter()
            outs, calls = self._run_model(name, fn, ok) if arrays else ([], 0)
            self._time(stats, name, time.perf_counter() - t, len(arrays), calls)
            for item, out in zip(ok, outs, strict=True):
                found.setdefault(id(item), {})[name] = out

    def _run_model(self, name: str, fn: Any, items: list[_Image]) -> tuple[list[Any], int]:
        """``fn`` on the images: out of memory, again on each half; another failure, image by image, so that only
        the image it fails on is marked unreadable. Returns the outputs and the number of calls."""
        try:
            return fn([item.array for item in items]), 1
        except Exception as exc:
            if len(items) > 1 and is_out_of_memory(exc):
                mid = len(items) // 2
                first, a = self._run_model(name, fn, items[:mid])
                second, b = self._run_model(name, fn, items[mid:])
                return first + second, a + b
            if len(items) == 1:
                item = items[0]
                item.status, item.error = "unreadable", f"{name} model failed: {type(exc).__name__}: {exc}"
                return [[]], 1
        outs, calls = [], 0  # the failed call on the whole batch is not counted
        for item in items:
            out, n = self._run_model(name, fn, [item])
            outs += out
            calls += n
        return outs, calls

    def _thumbs(self, item: _Image, wanted: set[FrameRef], out: dict[FrameRef, Image.Image]) -> None:
        chosen = [r for r in item.refs if r in wanted]
        if not chosen:
            return
        im = Image.fromarray(item.array)
        im.thumbnail((self.thumbnail_width, self.thumbnail_width), Image.Resampling.BILINEAR)
        for r in chosen:
            out[r] = im

    def _assemble(
        self,
        refs: Sequence[FrameRef],
        by_name: dict[tuple[str, str], _Image],
        found: dict[int, dict[str, list[Any]]],
        stats: PipelineStats,
    ) -> dict[str, list[FrameDetections]]:
        item_of = {id(r): item for item in by_name.values() for r in item.refs}
        frames: dict[str, list[FrameDetections]] = {}
        for r in refs:
            item = item_of.get(id(r))
            if item is None:
                status, error = "empty", "no image for this frame"
            else:
                status, error = item.status, item.error
            res = found.get(id(item), {}) if item is not None and status == "ok" else {}
            shape = item.shape if item is not None else None
            fd = FrameDetections(
                source=r.source,
                index=r.index,
                frame=r.frame,
                time_s=r.time_s,
                image=r.image if r.image else (item.source.image if item is not None else None),
                width=r.width or (shape[1] if shape else 0),
                height=r.height or (shape[0] if shape else 0),
                # an earlier frame of the same kind with the same image (a sample at a keyframe's frame is
                # that frame, not a duplicate)
                duplicate_of=r.same_as[1] if r.same_as and r.same_as[0] == r.source else None,
                status=status,
                error=error,
                objects=res.get("objects", []),
                faces=res.get("faces", []),
                text=res.get("text", []),
            )
            stats.ok += status == "ok"
            stats.unreadable += status == "unreadable"
            stats.empty += status == "empty"
            frames.setdefault(r.key, []).append(fd)
        return frames
