"""The batched pipeline with stand-in models: batches span partitions, each image is read once, bad images and
model failures stay on their frame."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from media_assets.core.vision.batching import FrameRef, ImageProblem, VisionPipeline, decode_image
from media_assets.core.vision.vision_models import FaceDetection, ObjectDetection


def _jpeg(value: int, size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (value, value, value)).save(buf, format="JPEG")
    return buf.getvalue()


class FakeObjects:
    """Reports the image's mean grey level as the confidence of one 'person'; fails on grey level 13."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def detect(self, images):
        self.batches.append(len(images))
        if any(round(float(im.mean())) == 13 for im in images):
            raise RuntimeError("bad tensor")
        return [
            [ObjectDetection(label="person", class_id=0, confidence=round(float(im.mean())) / 255, box=[0, 0, 1, 1])]
            for im in images
        ]


class FakeFaces:
    def __init__(self) -> None:
        self.batches: list[int] = []

    def detect(self, images):
        self.batches.append(len(images))
        face = FaceDetection(confidence=0.99, box=[0.1, 0.1, 0.2, 0.2], landmarks=[[0.15, 0.15]] * 5)
        return [[face] for _ in images]


def _refs() -> tuple[list[FrameRef], dict[tuple[str, str], bytes]]:
    files: dict[tuple[str, str], bytes] = {}
    refs: list[FrameRef] = []
    for key, n in (("aaaa", 4), ("bbbb", 3)):
        for i in range(n):
            name = f"keyframes/{i:05d}.jpg"
            files[(key, name)] = _jpeg(40 + 10 * i + (100 if key == "bbbb" else 0))
            refs.append(FrameRef(key, "keyframe", i, i * 24, float(i), name, 64, 48))
    refs.append(FrameRef("aaaa", "keyframe", 4, 120, 5.0, None, 64, 48, same_as=("keyframe", 1)))  # duplicate
    refs.append(FrameRef("aaaa", "sample", 0, 24, 1.0, "samples/00000.jpg", 64, 48, same_as=("keyframe", 1)))
    refs.append(FrameRef("bbbb", "sample", 0, 12, 0.5, "samples/00000.jpg", 64, 48))
    files[("bbbb", "samples/00000.jpg")] = b""  # an empty file
    refs.append(FrameRef("bbbb", "sample", 1, 36, 1.5, "samples/00001.jpg", 64, 48))
    files[("bbbb", "samples/00001.jpg")] = b"\xff\xd8garbage"
    refs.append(FrameRef("bbbb", "sample", 2, 48, 2.0, "samples/00002.jpg", 64, 48))  # missing file
    refs.append(FrameRef("bbbb", "sample", 3, 60, 2.5, "samples/00003.jpg", 64, 48))
    files[("bbbb", "samples/00003.jpg")] = _jpeg(13)  # the object model fails on this one
    refs.append(FrameRef("bbbb", "keyframe", 3, 70, 2.9, None, 64, 48))  # no image at all
    return refs, files


@pytest.mark.parametrize("prefetch", [True, False])
def test_batches_span_partitions_and_bad_images_stay_on_their_frame(prefetch: bool) -> None:
    refs, files = _refs()
    reads: list[tuple[str, str]] = []

    def read(ref: FrameRef) -> bytes:
        reads.append((ref.key, ref.image))
        return files[(ref.key, ref.image)]

    objects, faces = FakeObjects(), FakeFaces()
    pipe = VisionPipeline(objects, faces, None, batch_size=3, prefetch=prefetch)
    thumbs_for = {refs[0], refs[5]}
    result = pipe.run(refs, read, thumbnails_for=thumbs_for)
    assert sorted(reads) == sorted(set(reads)) and len(reads) == 11  # each distinct image read once
    # 11 distinct images in batches of 3 across both partitions (the 2nd batch holds aaaa's last keyframe and
    # bbbb's first ones); unreadable images leave their batch; a failing batch is retried one image at a time,
    # and a single image that fails is not tried again
    assert faces.batches == [3, 3, 1, 1]
    assert objects.batches == [3, 3, 1, 1]
    a, b = result.frames["aaaa"], result.frames["bbbb"]
    assert [f.status for f in a] == ["ok"] * 6
    assert a[4].objects == a[1].objects and a[4].duplicate_of == 1 and a[4].image == "keyframes/00001.jpg"
    assert a[5].objects == a[1].objects and a[5].source == "sample" and a[5].duplicate_of is None
    assert [f.objects[0].confidence for f in a[:4]] == pytest.approx([v / 255 for v in (40, 50, 60, 70)])
    status = {(f.source, f.index): (f.status, f.error) for f in b}
    assert status[("sample", 0)] == ("empty", "the image file is empty (0 bytes)")
    assert status[("sample", 1)][0] == "unreadable" and "cannot decode image" in status[("sample", 1)][1]
    assert status[("sample", 2)][0] == "unreadable" and "KeyError" in status[("sample", 2)][1]
    assert status[("sample", 3)] == ("unreadable", "objects model failed: RuntimeError: bad tensor")
    assert status[("keyframe", 3)] == ("empty", "no image for this frame")
    for f in b:
        if f.status != "ok":
            assert f.objects == f.faces == f.text == []
    assert all(f.status == "ok" and len(f.faces) == 1 for f in b[:3])
    assert set(result.thumbnails) == thumbs_for and max(result.thumbnails[refs[0]].size) <= 240
    s = result.stats
    assert (s.frames, s.images, s.ok, s.unreadable, s.empty) == (len(refs), 11, 9, 3, 2)
    assert s.models["faces"].images == 8 and s.models["faces"].calls == 4
    assert set(result.seconds_by_key) == {"aaaa", "bbbb"}


def test_same_results_whatever_the_batch_size_and_workers() -> None:
    refs, files = _refs()
    runs = []
    for batch, workers in ((1, 1), (3, 1), (32, 1), (32, 2), (3, 3)):
        pipe = VisionPipeline(FakeObjects(), FakeFaces(), batch_size=batch, workers=workers)
        runs.append(pipe.run(refs, lambda r: files[(r.key, r.image)]).frames)
    assert all(run == runs[0] for run in runs[1:])


def test_workers_take_chunks_of_each_batch() -> None:
    refs, files = _refs()
    objects, faces = FakeObjects(), FakeFaces()
    pipe = VisionPipeline(objects, faces, batch_size=32, workers=2, worker_chunk=4)
    result = pipe.run(refs, lambda r: files[(r.key, r.image)])
    # one batch of 11 images, 8 readable: two chunks of 4; the chunk holding the failing image retries one by one
    assert sorted(faces.batches) == [4, 4] and sorted(objects.batches) == [1, 1, 1, 1, 4, 4]
    assert result.stats.models["faces"].images == 8 and result.stats.unreadable == 3


def test_workers_take_one_image_at_a_time_by_default() -> None:
    refs, files = _refs()
    objects, faces = FakeObjects(), FakeFaces()
    result = VisionPipeline(objects, faces, batch_size=32, workers=2).run(refs, lambda r: files[(r.key, r.image)])
    assert faces.batches == [1] * 8 and result.stats.models["faces"].calls == 8
    assert result.stats.models["faces"].images == 8 and result.stats.unreadable == 3


def test_decode_image() -> None:
    rgb = decode_image(_jpeg(200, (30, 20)))
    assert rgb.shape == (20, 30, 3) and rgb.dtype == np.uint8
    with pytest.raises(ImageProblem) as err:
        decode_image(_jpeg(0, (4, 4)))
    assert err.value.status == "empty"
    with pytest.raises(ImageProblem) as err:
        decode_image(b"GIF89a nonsense")
    assert err.value.status == "unreadable" and " at 0x" not in str(err.value)
