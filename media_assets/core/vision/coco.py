"""The 80 COCO object classes in the order every COCO-trained detector numbers them (class id = index)."""

from __future__ import annotations

COCO_CLASSES: tuple[str, ...] = (
    "person",
    "bicycle",
    "car",
    "motorcycle",
    "airplane",
    "bus",
    "train",
    "truck",
    "boat",
    "traffic light",
    "fire hydrant",
    "stop sign",
    "parking meter",
    "bench",
    "bird",
    "cat",
    "dog",
    "horse",
    "sheep",
    "cow",
    "elephant",
    "bear",
    "zebra",
    "giraffe",
    "backpack",
    "umbrella",
    "handbag",
    "tie",
    "suitcase",
    "frisbee",
    "skis",
    "snowboard",
    "sports ball",
    "kite",
    "baseball bat",
    "baseball glove",
    "skateboard",
    "surfboard",
    "tennis racket",
    "bottle",
    "wine glass",
    "cup",
    "fork",
    "knife",
    "spoon",
    "bowl",
    "banana",
    "apple",
    "sandwich",
    "orange",
    "broccoli",
    "carrot",
    "hot dog",
    "pizza",
    "donut",
    "cake",
    "chair",
    "couch",
    "potted plant",
    "bed",
    "dining table",
    "toilet",
    "tv",
    "laptop",
    "mouse",
    "remote",
    "keyboard",
    "cell phone",
    "microwave",
    "oven",
    "toaster",
    "sink",
    "refrigerator",
    "book",
    "clock",
    "vase",
    "scissors",
    "teddy bear",
    "hair drier",
    "toothbrush",
)


def class_ids(names: list[str] | None, classes: tuple[str, ...] = COCO_CLASSES) -> set[int] | None:
    """Class filter: ids of ``names`` (labels or numeric ids); None keeps every class."""
    if not names:
        return None
    lookup = {c.lower(): i for i, c in enumerate(classes)}
    out: set[int] = set()
    for n in names:
        key = str(n).strip().lower()
        if key.isdigit():
            out.add(int(key))
        elif key in lookup:
            out.add(lookup[key])
        else:
            raise ValueError(f"unknown object class {n!r}; known: {', '.join(classes)}")
    return out
