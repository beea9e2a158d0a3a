"""Small per-frame features taken straight from the decoder's planes.

Converting a full HD frame to RGB costs more than decoding it, so the visual pass never does that per frame:
it samples the Y, U and V planes on a coarse grid (a few thousand pixels) and computes everything it needs
from those samples: HSV statistics for cut detection, mean luma for fades, a sharpness score for keyframe
choice. Only chosen keyframes are ever converted to full-size RGB.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np

# 8-bit planar layouts whose planes can be read directly: name -> chroma subsampling (x, y)
_PLANAR_8BIT = {
    "yuv420p": (2, 2),
    "yuvj420p": (2, 2),
    "yuva420p": (2, 2),
    "yuv422p": (2, 1),
    "yuvj422p": (2, 1),
    "yuv444p": (1, 1),
    "yuvj444p": (1, 1),
    "yuv440p": (1, 2),
    "yuvj440p": (1, 2),
    "yuv411p": (4, 1),
}


@dataclass(slots=True)
class FrameFeatures:
    """What the detectors and the keyframe selector know about one decoded frame."""

    hsv: np.ndarray  # (3, h, w) float32: hue 0-180, saturation 0-255, value 0-255
    luma: float  # mean luma, full range 0-255
    sharpness: float  # variance of the Laplacian of the sampled luma
    gray: np.ndarray  # (h, w) uint8 luma samples


def grid_step(width: int, target: int) -> int:
    """Sampling step so that the sampled width is about ``target`` pixels."""
    return max(1, round(width / target))


def _plane(frame: av.VideoFrame, i: int, height: int) -> np.ndarray:
    plane = frame.planes[i]
    return np.frombuffer(plane, np.uint8).reshape(height, plane.line_size)


def sample_yuv(frame: av.VideoFrame, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Y, U, V samples on a grid of ``step`` luma pixels, and whether the frame uses full range."""
    fmt = frame.format.name
    w, h = frame.width, frame.height
    sub = _PLANAR_8BIT.get(fmt)
    if sub is not None:
        sx, sy = sub
        cw, ch = -(-w // sx), -(-h // sy)
        if step % sx or step % sy:  # chroma must be sampled at the same positions as luma
            step = step * sx * sy
        y = _plane(frame, 0, h)[::step, :w:step]
        u = _plane(frame, 1, ch)[:: step // sy, : cw : step // sx]
        v = _plane(frame, 2, ch)[:: step // sy, : cw : step // sx]
        rh, rw = min(y.shape[0], u.shape[0]), min(y.shape[1], u.shape[1])
        full = fmt.startswith("yuvj") or frame.color_range == 2
        return y[:rh, :rw], u[:rh, :rw], v[:rh, :rw], full
    # Anything else (10-bit, NV12, RGB, palette codecs): let swscale produce a small yuv444p image.
    small = frame.reformat(width=max(1, w // step), height=max(1, h // step), format="yuv444p")
    sh = small.height
    y = _plane(small, 0, sh)[:, : small.width]
    u = _plane(small, 1, sh)[:, : small.width]
    v = _plane(small, 2, sh)[:, : small.width]
    return y, u, v, True


def yuv_to_hsv(y: np.ndarray, u: np.ndarray, v: np.ndarray, full_range: bool) -> np.ndarray:
    """HSV in OpenCV's 8-bit scale (H 0-180), as PySceneDetect's content detector uses."""
    yf = y.astype(np.float32)
    uf = u.astype(np.float32) - 128.0
    vf = v.astype(np.float32) - 128.0
    if not full_range:
        yf = (yf - 16.0) * (255.0 / 219.0)
        uf *= 255.0 / 224.0
        vf *= 255.0 / 224.0
    r = yf + 1.402 * vf
    g = yf - 0.344136 * uf - 0.714136 * vf
    b = yf + 1.772 * uf
    rgb = np.clip(np.stack((r, g, b)), 0.0, 255.0)
    mx = rgb.max(axis=0)
    mn = rgb.min(axis=0)
    delta = mx - mn
    safe = np.where(delta == 0, 1.0, delta)
    r, g, b = rgb
    hue = np.where(
        mx == r,
        ((g - b) / safe) % 6.0,
        np.where(mx == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0),
    )
    hue = np.where(delta == 0, 0.0, hue * 30.0)  # 60 degrees per sector, halved -> 0..180
    sat = np.where(mx == 0, 0.0, delta / np.where(mx == 0, 1.0, mx) * 255.0)
    return np.stack((hue, sat, mx)).astype(np.float32)


_LUT_BITS = 6
_LUTS: dict[bool, np.ndarray] = {}


def _hsv_lut(full_range: bool) -> np.ndarray:
    """HSV for every (Y, U, V) quantised to 6 bits: one gather per frame instead of dozens of array ops."""
    lut = _LUTS.get(full_range)
    if lut is None:
        levels = (np.arange(1 << _LUT_BITS, dtype=np.float32) + 0.5) * (256 >> _LUT_BITS)
        yy, uu, vv = np.meshgrid(levels, levels, levels, indexing="ij")
        hsv = yuv_to_hsv(yy, uu, vv, full_range)
        lut = np.ascontiguousarray(hsv.reshape(3, -1).T.astype(np.float32))
        _LUTS[full_range] = lut
    return lut


def yuv_to_hsv_fast(y: np.ndarray, u: np.ndarray, v: np.ndarray, full_range: bool) -> np.ndarray:
    shift = 8 - _LUT_BITS
    idx = (
        ((y >> shift).astype(np.int32) << (2 * _LUT_BITS)) | ((u >> shift).astype(np.int32) << _LUT_BITS) | (v >> shift)
    )
    return np.moveaxis(_hsv_lut(full_range)[idx], -1, 0)


def laplacian_variance(gray: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian: a standard focus measure (higher is sharper)."""
    g = gray.astype(np.float32)
    if g.shape[0] < 3 or g.shape[1] < 3:
        return 0.0
    lap = 4.0 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
    return float(lap.var())


def frame_features(frame: av.VideoFrame, step: int) -> FrameFeatures:
    y, u, v, full = sample_yuv(frame, step)
    hsv = yuv_to_hsv_fast(y, u, v, full)
    luma = float(y.mean())
    if not full:
        luma = (luma - 16.0) * (255.0 / 219.0)
    return FrameFeatures(hsv=hsv, luma=max(0.0, luma), sharpness=laplacian_variance(y), gray=np.ascontiguousarray(y))


def content_delta(a: FrameFeatures, b: FrameFeatures) -> tuple[float, float, float]:
    """Mean absolute change of hue (circular), saturation and value between two frames."""
    # Hue is noise where saturation is low, and saturation is noise where the pixel is dark: weight each
    # by the reliability of the pixel in both frames, so that grain in black or grey frames is not "content".
    lit = np.clip(np.minimum(a.hsv[2], b.hsv[2]) * (1.0 / 64.0), 0.0, 1.0)
    dh = np.abs(a.hsv[0] - b.hsv[0])
    dh = np.minimum(dh, 180.0 - dh) * (np.minimum(a.hsv[1], b.hsv[1]) * (1.0 / 255.0)) * lit
    ds = np.abs(a.hsv[1] - b.hsv[1]) * lit
    dv = np.abs(a.hsv[2] - b.hsv[2])
    return float(dh.mean()), float(ds.mean()), float(dv.mean())


def dhash(gray: np.ndarray) -> int:
    """64-bit difference hash of a grayscale image (9x8 block means, horizontal gradient signs)."""
    h, w = gray.shape
    ys = np.linspace(0, h, 9, dtype=int)
    xs = np.linspace(0, w, 10, dtype=int)
    g = gray.astype(np.float32)
    cells = np.array(
        [
            [g[ys[i] : max(ys[i + 1], ys[i] + 1), xs[j] : max(xs[j + 1], xs[j] + 1)].mean() for j in range(9)]
            for i in range(8)
        ]
    )
    bits = (cells[:, 1:] > cells[:, :-1]).flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()
