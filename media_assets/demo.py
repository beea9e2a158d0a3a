"""A short demo clip made on the spot, so the pipeline can be tried with no input at hand.

Its structure is known by construction: three shots with hard cuts, a fade to and from black, on-screen
text in every shot and spoken English (espeak-ng when installed, else a tone). Built with PyAV only.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FPS = 25
SIZE = (640, 360)
SPEECH = "Welcome to media assets. This demo has three shots, a fade to black, and on screen text."

# (seconds, background RGB, caption); a fade out/in of FADE_S surrounds the black gap after shot 2
SHOTS = [
    (3.0, (200, 60, 40), "SHOT ONE"),
    (3.0, (40, 140, 200), "SHOT TWO"),
    (3.0, (60, 170, 80), "SHOT THREE"),
]
FADE_S = 1.0
BLACK_S = 0.6


def _font(size: int) -> ImageFont.ImageFont:
    for name in ("DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _shot_frame(color: tuple[int, int, int], caption: str, t: float) -> np.ndarray:
    img = Image.new("RGB", SIZE, color)
    d = ImageDraw.Draw(img)
    x = int(40 + 60 * t)  # a moving square: content changes inside a shot, so it is not a still
    d.rectangle([x, 220, x + 80, 300], fill=(240, 240, 240))
    d.text((40, 60), caption, fill=(255, 255, 255), font=_font(48))
    return np.asarray(img)


def _speech_wav(path: Path) -> bool:
    exe = shutil.which("espeak-ng") or shutil.which("espeak")
    if exe is None:
        return False
    subprocess.run([exe, "-s", "150", "-w", str(path), SPEECH], check=True, capture_output=True)
    return True


def _tone(seconds: float, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.2 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)


def make_demo_clip(path: str | Path) -> dict:
    """Write the demo clip to ``path`` (MP4, H.264 + AAC) and return its truth (cut and fade frames)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames: list[np.ndarray] = []
    truth: dict = {"cuts": [], "fade_out": None, "fade_in": None}
    s1, s2, s3 = SHOTS
    for i in range(int(s1[0] * FPS)):
        frames.append(_shot_frame(s1[1], s1[2], i / FPS))
    truth["cuts"].append(len(frames))
    n2 = int(s2[0] * FPS)
    for i in range(n2):
        f = _shot_frame(s2[1], s2[2], i / FPS).astype(np.float32)
        left = n2 - i
        if left <= FADE_S * FPS:
            f *= (left - 1) / (FADE_S * FPS)
        frames.append(f.astype(np.uint8))
    truth["fade_out"] = [len(frames) - int(FADE_S * FPS), len(frames) - 1]
    black = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    frames.extend(black for _ in range(int(BLACK_S * FPS)))
    n3 = int(s3[0] * FPS)
    start3 = len(frames)
    for i in range(n3):
        f = _shot_frame(s3[1], s3[2], i / FPS).astype(np.float32)
        if i < FADE_S * FPS:
            f *= (i + 1) / (FADE_S * FPS)
        frames.append(f.astype(np.uint8))
    truth["fade_in"] = [start3, start3 + int(FADE_S * FPS) - 1]
    duration = len(frames) / FPS

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        if _speech_wav(wav):
            with wave.open(str(wav)) as w:
                rate = w.getframerate()
                pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16)
            truth["speech"] = SPEECH
        else:
            rate, pcm = 16000, _tone(2.0)
            truth["speech"] = None
        audio = np.zeros(int(duration * rate), np.int16)
        lead = int(0.5 * rate)
        n = min(len(pcm), len(audio) - lead)
        audio[lead : lead + n] = pcm[:n]

        tmp_out = path.with_name(f".{path.name}.tmp")
        with av.open(str(tmp_out), "w", format="mp4") as out:
            vs = out.add_stream("libx264", rate=FPS)
            vs.width, vs.height, vs.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
            vs.options = {"crf": "23", "preset": "veryfast"}
            au = out.add_stream("aac", rate=rate)
            au.layout = "mono"
            for i, arr in enumerate(frames):
                vf = av.VideoFrame.from_ndarray(arr, format="rgb24")
                vf.pts = i
                vf.time_base = Fraction(1, FPS)
                for pkt in vs.encode(vf):
                    out.mux(pkt)
            for pkt in vs.encode(None):
                out.mux(pkt)
            chunk = 1024
            for i in range(0, len(audio), chunk):
                block = audio[i : i + chunk]
                af = av.AudioFrame.from_ndarray(block.reshape(1, -1), format="s16", layout="mono")
                af.sample_rate = rate
                af.pts = i
                af.time_base = Fraction(1, rate)
                for pkt in au.encode(af):
                    out.mux(pkt)
            for pkt in au.encode(None):
                out.mux(pkt)
        tmp_out.replace(path)
    truth.update({"frames": len(frames), "fps": FPS, "duration_s": duration})
    return truth
