"""The detections contact sheet: keyframe thumbnails with their objects, faces and text drawn on them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from media_assets.core.vision.vision_models import FrameDetections

OBJECT_COLOUR = (255, 170, 0)
FACE_COLOUR = (0, 220, 90)
TEXT_COLOUR = (60, 160, 255)
BACKGROUND = (24, 24, 24)
CAPTION_H = 18


def draw_detections(image: Image.Image, det: FrameDetections) -> Image.Image:
    """A copy of ``image`` with the (normalised) boxes of ``det`` drawn at its size."""
    im = image.convert("RGB").copy()
    draw = ImageDraw.Draw(im)
    w, h = im.size

    def px(box: Sequence[float]) -> list[float]:
        return [box[0] * w, box[1] * h, box[2] * w, box[3] * h]

    for t in det.text:
        draw.polygon([(x * w, y * h) for x, y in t.polygon], outline=TEXT_COLOUR)
    for o in det.objects:
        b = px(o.box)
        draw.rectangle(b, outline=OBJECT_COLOUR, width=2)
        draw.text((b[0] + 2, b[1] + 1), f"{o.label} {o.confidence:.2f}", fill=OBJECT_COLOUR)
    for f in det.faces:
        draw.rectangle(px(f.box), outline=FACE_COLOUR, width=2)
        for x, y in f.landmarks:
            draw.ellipse([x * w - 1.5, y * h - 1.5, x * w + 1.5, y * h + 1.5], fill=FACE_COLOUR)
    return im


def pick_tiles(frames: Sequence[FrameDetections], max_tiles: int) -> list[FrameDetections]:
    """Up to ``max_tiles`` readable frames evenly spread over the video (keyframes before samples)."""
    ok = [f for f in frames if f.status == "ok"]
    keyframes = [f for f in ok if f.source == "keyframe"]
    pool = keyframes or ok
    if len(pool) <= max_tiles:
        return pool
    idx = np.linspace(0, len(pool) - 1, max_tiles).round().astype(int)
    return [pool[i] for i in sorted(set(idx.tolist()))]


def contact_sheet(
    tiles: Sequence[tuple[FrameDetections, Image.Image]],
    out_path: str | Path,
    tile_width: int = 240,
    columns: int = 6,
) -> Path | None:
    """A grid of thumbnails with boxes and a caption (time, counts); None when there is nothing to show."""
    if not tiles:
        return None
    drawn = []
    for det, thumb in tiles:
        im = thumb.convert("RGB")
        if im.width > tile_width:
            im = im.resize((tile_width, max(1, round(im.height * tile_width / im.width))), Image.Resampling.BILINEAR)
        drawn.append((det, draw_detections(im, det)))
    th = max(im.height for _, im in drawn) + CAPTION_H
    cols = min(columns, len(drawn))
    rows = -(-len(drawn) // cols)
    sheet = Image.new("RGB", (cols * (tile_width + 4) + 4, rows * (th + 4) + 4), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for i, (det, im) in enumerate(drawn):
        x = 4 + (i % cols) * (tile_width + 4)
        y = 4 + (i // cols) * (th + 4)
        sheet.paste(im, (x + (tile_width - im.width) // 2, y))
        m, s = divmod(det.time_s, 60)
        caption = f"{int(m):02d}:{s:05.2f} o{len(det.objects)} f{len(det.faces)} t{len(det.text)}"
        draw.text((x + 2, y + th - CAPTION_H + 2), caption, fill=(230, 230, 230))
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, quality=85)
    return out
