"""A shot-boundary truth set that cannot be memorised: real footage from the shared media spliced into new sequences
at seeded random frames, so every transition's frames are known by construction (issue 14).

    .venv/bin/python benchmarks/spliced.py [--sequences 30] [--negatives 4] [--seed 14]   # writes it, prints counts

Each sequence joins 15 single-shot segments (cut from inside the known shots of every shared video and format, at
random offsets, lengths, crops, zooms and flips) with 14 transitions: 10 hard cuts (ffmpeg ``concat``), 2 dissolves
and 2 fades through black (``xfade``). Hard cases are made on purpose and tagged on the transitions they touch:

- ``similar``: both sides from the same source video (another shot of it: similar palettes and textures);
- ``dark``: both sides dimmed, flattened and desaturated (grey, low-contrast shots);
- ``flash`` / ``strobe``: a segment with one or two overexposed frames, or every other frame brightened for a
  third of a second, near the cut (any cut reported inside them is false);
- ``pan`` / ``shake``: a segment with a fast pan or camera shake (a moving crop window);
- sequence-wide: ``vfr`` (irregular frame durations), ``logo`` (a box and a word that persist across cuts),
  ``subtitles`` (a line of text that changes every 1.3 s, independently of the cuts), and the size (1280x720,
  1920x1080, 960x720 for 4:3).

Negatives are long single shots with motion and lighting changes (and a flash): every cut reported on them is false.

Segments never join two pieces of the same shot or of the same camera set-up (the same framing of the same
subject), so every hard cut is visible. Frame indices are 0-based in presentation order; a cut is the first
frame of the new shot; a gradual transition is ``[first, last]`` frame of the blend.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

SET_VERSION = 1
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080), "4:3": (960, 720)}
SEGMENT_MODS = ("dark", "flash", "strobe", "pan", "shake")  # what a segment's mods are scored by
PLAN = ["cut"] * 10 + ["dissolve"] * 2 + ["fade"] * 2  # the 14 transitions of a sequence, shuffled per sequence


@dataclass(frozen=True)
class Shot:
    """A single shot of a shared file: frames [first, last] at the file's own rate, one camera set-up."""

    path: str  # relative to the shared media folder
    first: int
    last: int
    fps: float
    setup: str  # the same subject framed the same way: never joined to itself
    video: str  # the source video it shows (for the ``similar`` tag)


# Single shots inside the shared videos (truth.json: cuts, fades and black frames excluded). Not used:
# formats/opencv_tree_cinepak.avi (68 decodable frames over 29.6 s: at any common rate its motion jumps like cuts).
BBB = "video/bbb_0_30.webm"
SHOTS: list[Shot] = [
    Shot(BBB, 49, 282, 24, "bbb-meadow", "bbb"),
    Shot(BBB, 283, 375, 24, "bbb-stream", "bbb"),
    Shot(BBB, 376, 550, 24, "bbb-bird", "bbb"),
    Shot(BBB, 551, 719, 24, "bbb-hole", "bbb"),
    Shot("video/megamind.avi", 1, 97, 2997 / 125, "mm-woman", "megamind"),
    Shot("video/megamind.avi", 98, 153, 2997 / 125, "mm-man-shoulder", "megamind"),
    Shot("video/megamind.avi", 154, 199, 2997 / 125, "mm-woman", "megamind"),
    Shot("video/megamind.avi", 200, 269, 2997 / 125, "mm-man-close", "megamind"),
    Shot("video/opencv_vtest.avi", 0, 794, 10, "vtest", "vtest"),
    Shot("video/psd_testvideo.mp4", 30, 179, 30000 / 1001, "psd-leaf", "psd"),
    Shot("video/psd_testvideo.mp4", 241, 330, 30000 / 1001, "psd-deer", "psd"),
    Shot("video/psd_testvideo.mp4", 424, 663, 30000 / 1001, "psd-foliage", "psd"),
]
# formats/bbb_seg_*: bbb 10-17 s (frames 240-407) in other codecs; cuts at 43 and 136 of 168 frames
for _name in ("bbb_seg_h264_aac.mov", "bbb_seg_hevc_aac.mkv", "bbb_seg_vp9_opus.webm", "bbb_seg_av1_opus.mp4",
              "bbb_seg_mpeg2_mp2.ts", "bbb_seg_rotate90.mp4"):  # fmt: skip
    SHOTS += [
        Shot(f"formats/{_name}", 0, 42, 24, "bbb-meadow", "bbb"),
        Shot(f"formats/{_name}", 43, 135, 24, "bbb-stream", "bbb"),
        Shot(f"formats/{_name}", 136, 167, 24, "bbb-bird", "bbb"),
    ]
SUBTITLES = ["Welcome back to the show", "Here is what happened next", "NO SIGNAL", "Chapter two: the river",
             "Live from the studio", "Breaking news", "[music]", "Thank you for watching"]  # fmt: skip


@dataclass
class Segment:
    shot: Shot
    start: int  # first source frame used
    frames: int  # frames in the sequence (at the sequence's rate)
    zoom: float
    cx: float  # crop centre, 0..1 of the free space
    cy: float
    flip: bool
    mods: list[str] = field(default_factory=list)  # dark, flash@k, strobe@k, pan, shake, ramp


@dataclass
class Sequence:
    name: str
    size: str
    fps: float
    vfr: bool
    logo: bool
    subtitles: bool
    negative: bool
    segments: list[Segment]
    joins: list[tuple[str, int]]  # (kind, blend frames) between segment i and i+1


def _source_frames(shot: Shot, seconds: float) -> int:
    return int(seconds * shot.fps) + 2


def _pick_segment(rng: random.Random, shot: Shot, frames: int, fps: float) -> Segment:
    need = _source_frames(shot, frames / fps)
    span = shot.last - shot.first + 1
    start = shot.first + rng.randrange(0, max(1, span - need + 1))
    return Segment(shot, start, frames, rng.uniform(1.0, 1.35), rng.random(), rng.random(), rng.random() < 0.3)


def _fits(shot: Shot, frames: int, fps: float) -> bool:
    return _source_frames(shot, frames / fps) <= shot.last - shot.first + 1


def plan_sequence(rng: random.Random, index: int) -> Sequence:
    size = ["720p", "1080p", "4:3", "720p"][index % 4]
    fps = [24.0, 25.0, 30000 / 1001, 30.0][(index // 4) % 4]
    kinds = PLAN[:]
    rng.shuffle(kinds)
    joins: list[tuple[str, int]] = []
    segments: list[Segment] = []
    dark_pairs = set(rng.sample(range(len(kinds)), 2))
    similar_joins = set(rng.sample(range(len(kinds)), 3))
    for k in range(len(kinds) + 1):
        blend_before = joins[k - 1][1] if k else 0
        blend_after = 0
        if k < len(kinds):
            kind = kinds[k]
            blend_after = round(rng.uniform(0.5, 1.2) * fps) if kind != "cut" else 0
            joins.append((kind, blend_after))
        frames = round(rng.uniform(0.8, 2.6) * fps) + blend_before + blend_after
        prev = segments[-1].shot if segments else None
        want_similar = k - 1 in similar_joins and prev is not None
        candidates = [
            s
            for s in SHOTS
            if _fits(s, frames, fps)
            and (prev is None or (s.setup != prev.setup and ((s.video == prev.video) == want_similar)))
        ]
        if not candidates:  # no other shot of that video is long enough: any other set-up
            candidates = [s for s in SHOTS if _fits(s, frames, fps) and (prev is None or s.setup != prev.setup)]
        seg = _pick_segment(rng, rng.choice(candidates), frames, fps)
        if k in dark_pairs or k - 1 in dark_pairs:
            seg.mods.append("dark")
        roll = rng.random()
        if roll < 0.12:
            seg.mods.append(f"flash@{rng.randrange(3, max(4, frames - 3))}")
        elif roll < 0.18:
            seg.mods.append(f"strobe@{rng.randrange(0, max(1, frames - 10))}")
        elif roll < 0.30:
            seg.mods.append("pan")
        elif roll < 0.40:
            seg.mods.append("shake")
        segments.append(seg)
    return Sequence(
        name=f"seq{index:02d}",
        size=size,
        fps=fps,
        vfr=index % 4 == 3,
        logo=index % 3 == 1,
        subtitles=index % 3 == 2,
        negative=False,
        segments=segments,
        joins=joins,
    )


def plan_negative(rng: random.Random, index: int) -> Sequence:
    """One long shot with motion and a lighting ramp (and a flash in half of them)."""
    fps = 25.0
    long_shots = [s for s in SHOTS if _fits(s, round(6 * fps), fps)]
    shot = long_shots[index % len(long_shots)]
    frames = min(round(20 * fps), int((shot.last - shot.first + 1) / shot.fps * fps) - 4)
    seg = _pick_segment(rng, shot, frames, fps)
    seg.mods += ["ramp", ["pan", "shake", "none", "pan"][index % 4]]
    if index % 2 == 0:
        seg.mods.append(f"flash@{frames // 2}")
    return Sequence(f"neg{index:02d}", "720p", fps, False, index % 2 == 1, False, True, [seg], [])


# --------------------------------------------------------------------------------------------------- rendering


def _segment_filter(i: int, seg: Segment, size: str, fps: float) -> str:
    w, h = SIZES[size]
    shot = seg.shot
    zw, zh = round(w * seg.zoom / 2) * 2, round(h * seg.zoom / 2) * 2
    last_source = seg.start + _source_frames(shot, seg.frames / fps) - 1
    chain = [
        f"trim=start_frame={seg.start}:end_frame={min(last_source, shot.last) + 1}",
        "setpts=PTS-STARTPTS",
        f"fps={fps}",
        f"scale={zw}:{zh}:force_original_aspect_ratio=increase:flags=bicubic",
        "setsar=1",
    ]
    if "pan" in seg.mods:  # sweep the crop window across a wider frame within the segment
        chain.append(f"scale=iw*1.6:ih*1.6,crop={w}:{h}:x='(iw-ow)*n/{max(1, seg.frames - 1)}':y='(ih-oh)/2'")
    elif "shake" in seg.mods:
        chain.append(
            f"scale=iw*1.12:ih*1.12,crop={w}:{h}:x='(iw-ow)/2+(iw-ow)/2*sin(n*1.9)':y='(ih-oh)/2+(ih-oh)/2*sin(n*2.7)'"
        )
    else:
        chain.append(f"crop={w}:{h}:x='(iw-ow)*{seg.cx:.3f}':y='(ih-oh)*{seg.cy:.3f}'")
    if seg.flip:
        chain.append("hflip")
    if "dark" in seg.mods:
        chain.append("eq=brightness=-0.28:contrast=0.55:saturation=0.25")
    if "ramp" in seg.mods:  # lighting that drifts over the shot: never a cut
        chain.append(f"eq=brightness='0.22*sin(2*PI*n/{seg.frames})':eval=frame")
    for mod in seg.mods:
        if mod.startswith("flash@"):
            k = int(mod.split("@")[1])
            chain.append(f"eq=brightness=0.55:contrast=0.6:enable='between(n,{k},{k + 1})'")
        if mod.startswith("strobe@"):
            k = int(mod.split("@")[1])
            chain.append(f"eq=brightness=0.4:enable='between(n,{k},{k + 8})*eq(mod(n,2),0)'")
    chain += ["setsar=1", "format=yuv420p", f"trim=end_frame={seg.frames}", "setpts=PTS-STARTPTS", "settb=AVTB"]
    return f"[{i}:v]" + ",".join(chain) + f"[s{i}]"


def segment_gray(seg: Segment, size: str, fps: float, media: Path, width: int = 160) -> list:
    """The segment rendered alone, as small grey frames (numpy arrays): the pieces a sequence is made of, to check
    that the sequence holds them at the frames its truth says."""
    import numpy as np

    w, h = SIZES[size]
    height = round(width * h / w / 2) * 2
    graph = _segment_filter(0, seg, size, fps) + f";[s0]scale={width}:{height},format=gray[g]"
    raw = subprocess.run(
        [common.ffmpeg_exe(), "-v", "error", "-i", str(media / seg.shot.path), "-filter_complex", graph,
         "-map", "[g]", "-f", "rawvideo", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, height, width)
    return list(frames)


def render(seq: Sequence, media: Path, dst: Path) -> dict:
    """Encode ``seq`` to ``dst`` (H.264) and return its truth.

    Built from lossless pieces (FFV1 in NUT), then joined by one ``concat``: each segment rendered alone, and each
    dissolve or fade rendered alone from the last frames of one segment and the first of the next (``xfade`` at
    offset 0). One graph with every source trimmed deep into it stalled in ffmpeg's input scheduling, and
    ``xfade`` chained after ``xfade`` lost a frame at each join; pieces joined by ``concat`` keep every count
    exact. The frame count of the result is checked against the truth."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="spliced_") as tmp:
        pieces = []
        for i, seg in enumerate(seq.segments):
            piece = Path(tmp) / f"seg{i:02d}.nut"
            graph = _segment_filter(0, seg, seq.size, seq.fps)
            common.ffmpeg("-i", str(media / seg.shot.path), "-filter_complex", graph, "-map", "[s0]", *LOSSLESS,
                          str(piece))  # fmt: skip
            pieces.append(piece)
        inputs: list[tuple[Path, int, int]] = []  # (file, first frame, frames) in order
        cuts: list[int] = []
        gradual: list[dict] = []
        length = 0
        head = 0  # frames of the current segment already used by the blend before it
        for k, seg in enumerate(seq.segments):
            kind, blend = seq.joins[k] if k < len(seq.joins) else ("end", 0)
            body = seg.frames - head - blend
            inputs.append((pieces[k], head, body))
            length += body
            if kind == "cut":
                cuts.append(length)
            elif kind != "end":
                blended = Path(tmp) / f"blend{k:02d}.nut"
                norm = f"setpts=PTS-STARTPTS,{_exact(seq.fps, blend)}"
                transition = "dissolve" if kind == "dissolve" else "fadeblack"
                graph = (
                    f"[0:v]trim=start_frame={seg.frames - blend}:end_frame={seg.frames},{norm}[a];"
                    f"[1:v]trim=end_frame={blend},{norm}[b];"
                    f"[a][b]xfade=transition={transition}:duration={blend / seq.fps:.6f}:offset=0,"
                    f"trim=end_frame={blend}[v]"
                )
                common.ffmpeg("-i", str(pieces[k]), "-i", str(pieces[k + 1]), "-filter_complex", graph, "-map", "[v]",
                              *LOSSLESS, str(blended))  # fmt: skip
                inputs.append((blended, 0, blend))
                gradual.append({"kind": kind, "frames": [length, length + blend - 1]})
                length += blend
            head = blend
        args: list[str] = []
        parts: list[str] = []
        for i, (path, first, frames) in enumerate(inputs):
            args += ["-i", str(path)]
            parts.append(f"[{i}:v]trim=start_frame={first}:end_frame={first + frames},setpts=PTS-STARTPTS,"
                         f"{_exact(seq.fps, frames)}[p{i}]")  # fmt: skip
        parts.append("".join(f"[p{i}]" for i in range(len(inputs))) + f"concat=n={len(inputs)}:v=1:a=0[joined]")
        truth = _encode(seq, args, parts, "[joined]", length, cuts, gradual, dst)
    import av

    with av.open(str(dst)) as container:
        decoded = sum(1 for _ in container.decode(video=0))
    if decoded != length:
        raise RuntimeError(f"{dst.name}: {decoded} frames decoded, the truth says {length}")
    return truth


LOSSLESS = ("-c:v", "ffv1", "-fps_mode", "passthrough", "-f", "nut")


def _exact(fps: float, frames: int) -> str:
    """Timestamps renumbered from the frame index at ``fps`` (exact at any rate), and exactly ``frames`` frames."""
    return f"settb=AVTB,setpts=N/({fps}*TB),fps={fps},trim=end_frame={frames},settb=AVTB,setsar=1"


def _encode(
    seq: Sequence,
    args: list[str],
    parts: list[str],
    acc: str,
    length: int,
    cuts: list[int],
    gradual: list[dict],
    dst: Path,
) -> dict:
    w, h = SIZES[seq.size]
    post: list[str] = []
    if seq.logo:
        post.append(f"drawbox=x={w - w // 6}:y={h // 20}:w={w // 8}:h={h // 12}:color=white@0.55:t=fill")
        post.append(
            f"drawtext=text='CH7':x={w - w // 6 + w // 40}:y={h // 20 + h // 60}:fontsize={h // 16}:fontcolor=black"
        )
    if seq.subtitles:
        step = 1.3
        n = int(length / seq.fps / step) + 1
        for j in range(n):
            text = SUBTITLES[j % len(SUBTITLES)].replace("'", "").replace(":", " ")
            post.append(
                f"drawtext=text='{text}':x=(w-tw)/2:y=h-th-{h // 12}:fontsize={h // 18}:fontcolor=white:"
                f"box=1:boxcolor=black@0.6:enable='between(t,{j * step:.2f},{(j + 1) * step - 0.01:.2f})'"
            )
    if seq.vfr:  # irregular frame durations, same frames: indices (the truth) are unchanged
        post.append(f"setpts='(N+0.35*sin(N*0.7))/({seq.fps}*TB)'")
    graph = ";".join(parts) + (f";{acc}{','.join(post)}[v]" if post else "")
    out_label = "[v]" if post else acc
    common.ffmpeg(*args, "-filter_complex", graph, "-map", out_label, "-c:v", "libx264", "-preset", "veryfast",
                  "-crf", "20", *(["-fps_mode", "vfr"] if seq.vfr else []), "-an", "-f", "mp4", str(dst))  # fmt: skip
    tags = _cut_tags(seq)
    return {
        "file": dst.name,
        "size": seq.size,
        "fps": round(seq.fps, 4),
        "frames": length,
        "vfr": seq.vfr,
        "logo": seq.logo,
        "subtitles": seq.subtitles,
        "negative": seq.negative,
        "cuts": cuts,
        "gradual": gradual,
        "cut_tags": tags,
        "events": _events(seq),
        "segments": [
            {
                "source": s.shot.path,
                "start": s.start,
                "frames": s.frames,
                "zoom": round(s.zoom, 3),
                "flip": s.flip,
                "mods": s.mods,
            }
            for s in seq.segments
        ],
    }


def _starts(seq: Sequence) -> list[int]:
    """Frame of the sequence where each segment starts."""
    starts, pos = [], 0
    for k, seg in enumerate(seq.segments):
        starts.append(pos)
        pos += seg.frames - (seq.joins[k][1] if k < len(seq.joins) else 0)
    return starts


def _events(seq: Sequence) -> list[dict]:
    """Flashes and strobes: frames where a cut would be false."""
    out = []
    for start, seg in zip(_starts(seq), seq.segments, strict=True):
        for mod in seg.mods:
            if mod.startswith(("flash@", "strobe@")):
                kind, k = mod.split("@")
                span = 1 if kind == "flash" else 8
                out.append({"kind": kind, "frames": [start + int(k), start + int(k) + span]})
    return out


def _cut_tags(seq: Sequence) -> dict[str, list[str]]:
    """Tags of every transition, keyed by its first frame."""
    tags: dict[str, list[str]] = {}
    starts = _starts(seq)
    for k, (kind, _blend) in enumerate(seq.joins):
        a, b = seq.segments[k], seq.segments[k + 1]
        first = starts[k + 1]  # a cut's first new frame, or a blend's first frame
        t = [kind, seq.size]
        if a.shot.video == b.shot.video:
            t.append("similar")
        if "dark" in a.mods and "dark" in b.mods:
            t.append("dark")
        for mod in (*a.mods, *b.mods):
            name = mod.split("@")[0]
            if name in SEGMENT_MODS and name != "dark" and name not in t:  # dark: only when both sides are
                t.append(name)
        t += [x for x, on in (("vfr", seq.vfr), ("logo", seq.logo), ("subtitles", seq.subtitles)) if on]
        tags[str(first)] = t
    return tags


def build(out_dir: Path, sequences: int = 30, negatives: int = 4, seed: int = 14) -> dict:
    """Plan and render the whole set into ``out_dir`` (cached: a set with the same parameters is reused)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_path = out_dir / "truth.json"
    key = {"version": SET_VERSION, "sequences": sequences, "negatives": negatives, "seed": seed}
    if truth_path.exists():
        truth = json.loads(truth_path.read_text())
        if truth.get("key") == key and all((out_dir / v["file"]).exists() for v in truth["videos"].values()):
            return truth
    media = common.media_dir()
    rng = random.Random(seed)
    plans = [plan_sequence(rng, i) for i in range(sequences)] + [plan_negative(rng, i) for i in range(negatives)]
    videos = {}
    for seq in plans:
        dst = out_dir / f"{seq.name}.mp4"
        print(f"[gen] {dst.name}: {seq.size} {seq.fps:.3f} fps, {len(seq.segments)} segments", file=sys.stderr)
        videos[seq.name] = render(seq, media, dst)
    truth = {"key": key, "videos": videos, "plans": [asdict(p) for p in plans]}
    truth_path.write_text(json.dumps(truth, indent=1))
    return truth


def summary(truth: dict) -> dict[str, int]:
    v = truth["videos"].values()
    return {
        "videos": len(truth["videos"]),
        "hard_cuts": sum(len(x["cuts"]) for x in v),
        "dissolves": sum(1 for x in v for g in x["gradual"] if g["kind"] == "dissolve"),
        "fades": sum(1 for x in v for g in x["gradual"] if g["kind"] == "fade"),
        "negatives": sum(1 for x in v if x["negative"]),
        "frames": sum(x["frames"] for x in v),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=30)
    parser.add_argument("--negatives", type=int, default=4)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--out", type=Path, default=common.CACHE_DIR / "spliced")
    args = parser.parse_args()
    truth = build(args.out, args.sequences, args.negatives, args.seed)
    print(json.dumps(summary(truth)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
