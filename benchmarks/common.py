"""Shared helpers for the benchmarks: media location, generated inputs, timing, child RSS, tables.

Nothing here is imported by the package; each benchmark puts ``benchmarks/`` on ``sys.path`` and imports it
as ``common`` (run them from the repository root: ``.venv/bin/python benchmarks/<name>.py``).

Media is read in place from the shared folder (``$MEDIA_ASSETS_TEST_MEDIA``, default ``<repo>/../shared/media``)
and never copied into the repository. Generated inputs live in ``benchmarks/.cache/`` (gitignored) and are
reused when present.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO_ROOT / "benchmarks"
CACHE_DIR = BENCH_DIR / ".cache"
PYTHON = sys.executable


# ----------------------------------------------------------------------------------------------------------
# media
# ----------------------------------------------------------------------------------------------------------
def media_dir() -> Path:
    """The shared media folder; ``$MEDIA_ASSETS_TEST_MEDIA`` overrides ``<repo>/../shared/media``."""
    d = Path(os.environ.get("MEDIA_ASSETS_TEST_MEDIA", REPO_ROOT.parent / "shared" / "media")).resolve()
    if not (d / "truth.json").exists():
        raise SystemExit(f"shared media not found at {d} (set MEDIA_ASSETS_TEST_MEDIA)")
    return d


def load_truth() -> dict[str, Any]:
    return json.loads((media_dir() / "truth.json").read_text())


def hard_cut_truth() -> dict[str, list[int]]:
    """Every video of truth.json with hard-cut ground truth: relative path -> first frames of new shots.

    - video/bbb_0_30.webm: ``cuts_helper_measured``; video/megamind.avi: ``cuts_helper_measured``;
      video/composite_bbb_cuts_jfk_speech.mp4 and formats/bbb_seg_*: ``cuts``;
    - video/psd_testvideo.mp4: the two hard cuts (to/from black) of ``transitions_helper_measured``
      (frames 30 and 180; its other transitions are fades, not cuts);
    - negatives (no cut at all): video/opencv_vtest.avi (``expected_cuts``), video/psd_fades.mp4
      (``expected_hard_cuts``), formats/opencv_tree_cinepak.avi (``expected_cuts``).
    """
    t = load_truth()
    out: dict[str, list[int]] = {}
    v = t["video"]
    out["video/bbb_0_30.webm"] = list(v["video/bbb_0_30.webm"]["cuts_helper_measured"])
    out["video/megamind.avi"] = list(v["video/megamind.avi"]["cuts_helper_measured"])
    out["video/composite_bbb_cuts_jfk_speech.mp4"] = list(v["video/composite_bbb_cuts_jfk_speech.mp4"]["cuts"])
    out["video/psd_testvideo.mp4"] = [
        x["frame"] for x in v["video/psd_testvideo.mp4"]["transitions_helper_measured"] if x["type"] == "cut"
    ]
    out["video/opencv_vtest.avi"] = list(v["video/opencv_vtest.avi"]["expected_cuts"])
    out["video/psd_fades.mp4"] = list(v["video/psd_fades.mp4"]["expected_hard_cuts"])
    for k, entry in t["formats"].items():
        if k.startswith("formats/bbb_seg_") and "cuts" in entry:
            out[k] = list(entry["cuts"])
        elif isinstance(entry, dict) and "expected_cuts" in entry and k.endswith((".avi", ".mp4", ".mkv", ".webm")):
            out[k] = list(entry["expected_cuts"])
    return out


# ----------------------------------------------------------------------------------------------------------
# generated inputs
# ----------------------------------------------------------------------------------------------------------
# bbb_0_30.webm (720 frames @ 24 fps) has hard cuts at 283, 376 and 551; looped twice the second copy starts
# at frame 720 with a cut from the last shot into the dark first frame of the clip.
_BBB_CUTS = (283, 376, 551)
GENERATED_CUTS: tuple[int, ...] = (*_BBB_CUTS, 720, *(720 + c for c in _BBB_CUTS))
GENERATED_FRAMES = 1440
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}


def ffmpeg_exe() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise SystemExit("ffmpeg not found on PATH (needed only to generate benchmark inputs)")
    return exe


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", *args], check=True)


def _atomic(dst: Path, make: Callable[[Path], None]) -> Path:
    """Build ``dst`` through a temporary name so an interrupted run never leaves a half-written cache file."""
    if dst.exists() and dst.stat().st_size > 0:
        return dst
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".tmp-{os.getpid()}-{dst.name}")
    try:
        make(tmp)
        tmp.replace(dst)
    finally:
        tmp.unlink(missing_ok=True)
    return dst


def generated_video(res: str) -> Path:
    """60 s H.264/AAC file at 24 fps: bbb_0_30.webm looped twice, scaled to ``res`` ('720p' or '1080p').

    Constructed truth: ``GENERATED_CUTS`` (first frames of new shots), ``GENERATED_FRAMES`` frames.
    """
    w, h = SIZES[res]
    src = media_dir() / "video" / "bbb_0_30.webm"
    dst = CACHE_DIR / f"bbb_loop2_{res}_v2.mp4"

    def make(tmp: Path) -> None:
        print(f"[gen] {dst.name} (ffmpeg libx264 -preset fast -crf 22, 24 fps, {w}x{h})", file=sys.stderr)
        ffmpeg(
            "-stream_loop",
            "1",
            "-i",
            str(src),
            # Timestamps from the frame counter: the clip has 720 frames and starts at pts 0.003, so an fps
            # filter would duplicate a frame at the loop point and shift the second copy by one.
            "-vf",
            f"setpts=N/(24*TB),scale={w}:{h}:flags=bicubic",
            "-r",
            "24",
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "fast",
            "-crf",
            "22",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-t",
            "60",
            "-f",
            "mp4",
            str(tmp),
        )

    return _atomic(dst, make)


def generated_hour(res: str = "1080p", copies: int = 60) -> Path:
    """About one hour: the 60 s generated file concatenated ``copies`` times (concat demuxer, ``-c copy``).

    The 60 s file carries an AAC track, so the long file has audio throughout.
    """
    one = generated_video(res)
    return concat_copy(CACHE_DIR / f"bbb_loop2_{res}_v2_x{copies}.mp4", [one] * copies, f"{copies} x {one.name}")


def concat_copy(dst: Path, parts: Sequence[Path], label: str) -> Path:
    """``parts`` joined into ``dst`` by the concat demuxer without re-encoding (``-c copy``), cached."""

    def make(tmp: Path) -> None:
        print(f"[gen] {dst.name} ({label}, -c copy)", file=sys.stderr)
        lst = tmp.with_suffix(".txt")
        lst.write_text("".join(f"file '{part.as_posix()}'\n" for part in parts))
        try:
            ffmpeg("-f", "concat", "-safe", "0", "-i", str(lst), "-c", "copy", "-f", "mp4", str(tmp))
        finally:
            lst.unlink(missing_ok=True)

    return _atomic(dst, make)


def generated_clips(n: int = 50) -> Path:
    """``n`` distinct short clips (3.0-4.0 s, 640x360 @ 24 fps, H.264 + AAC sine tone) in one folder.

    Each clip is two lavfi sources joined by a hard cut, with per-clip parameters (start offset, hue,
    source pair, Game-of-Life / cellular-automaton seed, tone frequency), so every file has distinct bytes
    and therefore a distinct content hash.
    """
    d = CACHE_DIR / f"clips_{n}"
    marker = d / ".complete"
    if marker.exists() and len(list(d.glob("*.mp4"))) == n:
        return d
    d.mkdir(parents=True, exist_ok=True)
    seconds = [3.0 + (i % 5) * 0.25 for i in range(n)]  # 3.0, 3.25, ..., 4.0
    for i in range(n):
        dst = d / f"clip_{i:02d}.mp4"
        dur = seconds[i]
        a = round(dur * (0.35 + 0.3 * ((i * 7) % 10) / 10), 3)  # where the cut is
        b = round(dur - a, 3)
        first = f"testsrc2=size=640x360:rate=24:duration={a}"
        second = [
            f"smptebars=size=640x360:rate=24:duration={b}",
            f"life=size=640x360:rate=24:seed={1000 + i}:mold=10:life_color=#00ff{i * 5 % 256:02x}"
            f":death_color=#202020,trim=duration={b}",
            f"cellauto=size=640x360:rate=24:seed={2000 + i}:rule={18 + i % 90},trim=duration={b}",
            f"mandelbrot=size=640x360:rate=24:start_scale={2 + i * 0.05:.2f},trim=duration={b}",
        ][i % 4]
        graph = (
            f"{first},trim=start=0,setpts=PTS-STARTPTS,hue=h={i * 7}[a];"
            f"{second},format=yuv420p,setpts=PTS-STARTPTS[b];"
            f"[a][b]concat=n=2:v=1:a=0,format=yuv420p[v];"
            f"sine=frequency={220 + 13 * i}:sample_rate=44100:duration={dur}[s]"
        )

        def make(tmp: Path, graph: str = graph) -> None:
            ffmpeg(
                "-filter_complex",
                graph,
                "-map",
                "[v]",
                "-map",
                "[s]",
                "-c:v",
                "libx264",
                "-preset",
                "fast",
                "-crf",
                "23",
                "-c:a",
                "aac",
                "-b:a",
                "96k",
                "-shortest",
                "-f",
                "mp4",
                str(tmp),
            )

        _atomic(dst, make)
    marker.write_text(str(n))
    return d


# Real footage for generated talk-style clips: (file under video/, usable seconds).
FOOTAGE = (
    ("bbb_0_30.webm", 29.0),
    ("opencv_vtest.avi", 78.0),
    ("megamind.avi", 10.5),
    ("psd_testvideo.mp4", 23.0),
)
TOPICS = (
    "the quarterly budget review",
    "a new hiring plan for the design team",
    "how the test suite found a memory leak",
    "the road trip across the northern lakes",
    "a recipe for bread with a crisp crust",
    "the history of the local football club",
    "why the river flooded the old mill",
    "the launch of the new mobile application",
    "a lecture on the physics of rainbows",
    "the results of the customer survey",
)


def talk_sentence(i: int) -> str:
    return (
        f"Welcome to clip number {i}. Today we talk about {TOPICS[i % len(TOPICS)]}, "
        f"and then about {TOPICS[(i * 3 + 1) % len(TOPICS)]}."
    )


def generated_talk_clips(n: int = 50, seconds: float = 10.0, res: str = "720p") -> Path:
    """``n`` distinct talk-style clips: three shots of real footage from the shared media joined by hard cuts
    (seeded offsets), a caption overlay, and espeak-ng speech (a different sentence per clip), H.264 + AAC.

    Every clip has distinct bytes (distinct offsets, captions and speech), so each is its own partition.
    """
    import random

    w, h = {"720p": (1280, 720), "1080p": (1920, 1080), "360p": (640, 360)}[res]
    d = CACHE_DIR / f"talk_clips_{n}_{int(seconds)}s_{res}"
    marker = d / ".complete"
    if marker.exists() and len(list(d.glob("*.mp4"))) == n:
        return d
    d.mkdir(parents=True, exist_ok=True)
    espeak = shutil.which("espeak-ng") or shutil.which("espeak")
    if espeak is None:
        raise SystemExit("espeak-ng is needed to generate speech (make setup installs it)")
    video = media_dir() / "video"
    rng = random.Random(1234)
    for i in range(n):
        dst = d / f"talk_{i:03d}.mp4"
        shots = rng.sample(FOOTAGE, 3)
        lengths = [round(seconds / 3, 3)] * 2 + [round(seconds - 2 * round(seconds / 3, 3), 3)]
        starts = [round(rng.uniform(0, usable - length), 2) for (_, usable), length in zip(shots, lengths, strict=True)]
        sentence = talk_sentence(i)

        def make(tmp: Path, shots=shots, lengths=lengths, starts=starts, sentence=sentence, i=i) -> None:
            wav = tmp.with_suffix(".wav")
            subprocess.run([espeak, "-s", "160", "-w", str(wav), sentence], check=True, capture_output=True)
            args: list[str] = []
            for (name, _), start, length in zip(shots, starts, lengths, strict=True):
                args += ["-ss", str(start), "-t", str(length), "-i", str(video / name)]
            args += ["-i", str(wav)]
            parts = "".join(
                f"[{k}:v]scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,"
                f"fps=25,setsar=1,format=yuv420p,setpts=PTS-STARTPTS[v{k}];"
                for k in range(3)
            )
            caption = f"Clip {i} - {TOPICS[i % len(TOPICS)]}".replace(":", " ").replace("'", "")
            graph = (
                parts + "[v0][v1][v2]concat=n=3:v=1:a=0,"
                f"drawtext=text='{caption}':fontcolor=white:fontsize={h // 24}:box=1:boxcolor=black@0.6:"
                f"x=(w-tw)/2:y=h-th-{h // 12}[v];"
                f"[3:a]aresample=44100,adelay=500,apad,atrim=0:{seconds}[a]"
            )
            try:
                ffmpeg(*args, "-filter_complex", graph, "-map", "[v]", "-map", "[a]", "-t", str(seconds),
                       "-c:v", "libx264", "-preset", "fast", "-crf", "23", "-c:a", "aac", "-b:a", "96k",
                       "-f", "mp4", str(tmp))  # fmt: skip
            finally:
                wav.unlink(missing_ok=True)

        _atomic(dst, make)
    marker.write_text(str(n))
    return d


def generated_talk_hour(minutes: int = 60, res: str = "720p") -> Path:
    """About ``minutes`` of talk-style video: the 10 s talk clips concatenated in turn (``-c copy``)."""
    clips = sorted(generated_talk_clips(50, 10.0, res).glob("*.mp4"))
    count = minutes * 6
    parts = [clips[k % len(clips)] for k in range(count)]
    return concat_copy(CACHE_DIR / f"talk_{minutes}min_{res}.mp4", parts, f"{count} talk clips")


# ----------------------------------------------------------------------------------------------------------
# timing
# ----------------------------------------------------------------------------------------------------------
@dataclass
class Timing:
    """Repeated measurements: wall seconds, and per run the CPU seconds of this workload and the average
    number of cores other processes kept busy meanwhile (a contamination indicator on a shared machine)."""

    runs: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    others: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def min(self) -> float:
        return min(self.runs)

    @property
    def max(self) -> float:
        return max(self.runs)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu) if self.cpu else float("nan")

    @property
    def others_median(self) -> float:
        return statistics.median(self.others) if self.others else float("nan")

    def spread_pct(self) -> float:
        """(max - min) / median, in percent."""
        return 100.0 * (self.max - self.min) / self.median if self.median else 0.0

    def fmt(self) -> str:
        return f"{self.median:.2f} s [{self.min:.2f}-{self.max:.2f}]"

    def fmt_cpu(self) -> str:
        return f"{self.cpu_median:.2f} s [{min(self.cpu):.2f}-{max(self.cpu):.2f}]" if self.cpu else "-"

    def add(self, wall: float, cpu: float | None = None, others: float | None = None) -> None:
        self.runs.append(wall)
        if cpu is not None:
            self.cpu.append(cpu)
        if others is not None:
            self.others.append(others)

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "median_s": round(self.median, 4),
            "min_s": round(self.min, 4),
            "max_s": round(self.max, 4),
            "runs_s": [round(x, 4) for x in self.runs],
        }
        if self.cpu:
            d["cpu_median_s"] = round(self.cpu_median, 4)
            d["cpu_runs_s"] = [round(x, 4) for x in self.cpu]
        if self.others:
            d["others_cores_median"] = round(self.others_median, 3)
            d["others_cores_runs"] = [round(x, 3) for x in self.others]
        return d


_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_busy_s() -> float:
    """Seconds of CPU time the whole machine has spent busy (all cores, from /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            parts = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return float("nan")
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)  # idle + iowait
    return (sum(parts[:8]) - idle) / _CLK_TCK


def wait_for_quiet(max_wait_s: float = 180.0, max_other_cores: float = 0.5, window_s: float = 2.0) -> float:
    """Wait (up to ``max_wait_s``) until other processes use fewer than ``max_other_cores`` cores over a
    ``window_s`` window. Returns the load seen in the last window. Disabled with BENCH_NO_WAIT=1."""
    if os.environ.get("BENCH_NO_WAIT"):
        return float("nan")
    deadline = time.monotonic() + max_wait_s
    while True:
        b0, c0 = cpu_busy_s(), time.process_time()
        time.sleep(window_s)
        load = max(0.0, (cpu_busy_s() - b0 - (time.process_time() - c0)) / window_s)
        if load < max_other_cores or time.monotonic() > deadline:
            return load


def time_once(fn: Callable[[], Any]) -> tuple[float, Any, float, float]:
    """Wall seconds, result, CPU seconds of this process (all threads), cores used by other processes."""
    b0, c0, t0 = cpu_busy_s(), time.process_time(), time.perf_counter()
    result = fn()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    others = max(0.0, (cpu_busy_s() - b0 - cpu) / wall) if wall > 0 else 0.0
    return wall, result, cpu, others


def timeit(fn: Callable[[], Any], n: int = 5, warmup: int = 1) -> Timing:
    """Median/min/max of ``n`` timed calls of ``fn`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    t = Timing()
    for _ in range(n):
        wait_for_quiet()
        wall, _, cpu, others = time_once(fn)
        t.add(wall, cpu, others)
    return t


def interleaved(fns: dict[str, Callable[[], Any]], n: int = 5, warmup: int = 1) -> dict[str, Timing]:
    """Time several workloads round-robin (A B C A B C ...), so background load drifts hit all of them alike;
    before each round, wait for the machine to be quiet (see wait_for_quiet)."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    out = {k: Timing() for k in fns}
    for i in range(n):
        load = wait_for_quiet()
        print(f"  round {i + 1}/{n} (other processes: {load:.2f} cores)", flush=True)
        for k, fn in fns.items():
            wall, _, cpu, others = time_once(fn)
            out[k].add(wall, cpu, others)
    return out


# ----------------------------------------------------------------------------------------------------------
# child processes: wall time and peak RSS
# ----------------------------------------------------------------------------------------------------------
@dataclass
class ChildRun:
    wall_s: float
    cpu_s: float  # user + system CPU of the child (and reaped descendants)
    others_cores: float  # cores other processes kept busy meanwhile
    maxrss_mb: float  # peak resident set of the child (and of any descendants it waited for)
    returncode: int
    stdout: str
    stderr: str


def run_child(
    cmd: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float | None = None,
) -> ChildRun:
    """Run ``cmd``; return its wall time and its own peak RSS (``wait4`` rusage of that one child).

    ``wait4`` gives the rusage of exactly this child (Linux folds in the maxima of the descendants it
    reaped), unlike ``getrusage(RUSAGE_CHILDREN)``, whose ``ru_maxrss`` is the maximum over every child
    this process ever waited for.
    """
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        b0 = cpu_busy_s()
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, env=env, cwd=cwd)
        deadline = None if timeout is None else t0 + timeout
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG if deadline else 0)
            if pid:
                break
            if deadline and time.perf_counter() > deadline:
                proc.kill()
                pid, status, ru = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        cpu = ru.ru_utime + ru.ru_stime
        others = max(0.0, (cpu_busy_s() - b0 - cpu) / wall) if wall > 0 else 0.0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ChildRun(
            wall,
            cpu,
            others,
            ru.ru_maxrss / 1024.0,
            proc.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )


def repeat_child(cmd: Sequence[str], n: int = 3, **kw: Any) -> tuple[Timing, list[ChildRun]]:
    t = Timing()
    runs = []
    for _ in range(n):
        wait_for_quiet()
        r = run_child(cmd, **kw)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-3000:]}")
        runs.append(r)
        t.add(r.wall_s, r.cpu_s, r.others_cores)
    return t, runs


# ----------------------------------------------------------------------------------------------------------
# reporting
# ----------------------------------------------------------------------------------------------------------
def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> str:
    """Print (and return) a Markdown table, so the output can be pasted into BENCHMARKS.md as is."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    if title:
        lines.append(f"\n### {title}\n")
    lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(cells[0], widths, strict=True)) + " |")
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in cells[1:]:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def _fmt(c: Any) -> str:
    if isinstance(c, float):
        return f"{c:.3f}" if abs(c) < 10 else f"{c:.1f}"
    return str(c)


def machine_info() -> dict[str, Any]:
    import av

    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "pyav": av.__version__,
        "ffmpeg_libs": getattr(av, "ffmpeg_version_info", "?"),
    }
    try:
        loadavg = os.getloadavg()
        info["loadavg_at_start"] = [round(x, 2) for x in loadavg]
    except OSError:
        pass
    return info


def save_results(name: str, data: dict[str, Any]) -> Path:
    """Write the raw results to ``benchmarks/.cache/results/<name>.json`` (for BENCHMARKS.md)."""
    p = CACHE_DIR / "results" / f"{name}.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(data, indent=1, default=str))
    return p


def report(name: str, data: dict[str, Any], missed: list[str], met: str) -> int:
    """Save the raw results, say which targets were missed (or ``met``), and return the exit status."""
    print(f"\nraw results: {save_results(name, data)}")
    if missed:
        print("TARGETS MISSED:\n  " + "\n  ".join(missed))
        return 1
    print(met)
    return 0


# ----------------------------------------------------------------------------------------------------------
# cut scoring
# ----------------------------------------------------------------------------------------------------------
@dataclass
class CutScore:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: CutScore) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def match_cuts(pred: Sequence[int], truth: Sequence[int], tol: int = 1) -> list[tuple[int, int]]:
    """One-to-one matching of predicted and true cut frames within ``tol`` frames (closest pairs first):
    (index in ``pred``, index in ``truth``) of every match."""
    pairs = sorted((abs(p - t), i, j) for i, p in enumerate(pred) for j, t in enumerate(truth) if abs(p - t) <= tol)
    used_p: set[int] = set()
    used_t: set[int] = set()
    matches = []
    for _, i, j in pairs:
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
            matches.append((i, j))
    return matches


def score_cuts(pred: Sequence[int], truth: Sequence[int], tol: int = 1) -> CutScore:
    """Hits, false cuts and misses of :func:`match_cuts`."""
    tp = len(match_cuts(pred, truth, tol))
    return CutScore(tp=tp, fp=len(pred) - tp, fn=len(truth) - tp)
