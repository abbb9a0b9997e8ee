"""Streams benchmark: frames/s of one video file vs the same frames as JPEG files vs in memory,
and live-mode lag and drops for an HTTP MJPEG camera at 25 and 60 fps.

    python benchmarks/streams.py [--model text_image_orientation] [--frames 300] [--rounds 3]

Self-contained: it writes its own video (a page turning through four orientations, MJPG/AVI,
``lcnet_ov.testing.streams``), the same frames as JPEG files at the same quality, and serves
them from a local camera on 127.0.0.1. Every path uses one ``AsyncClassifier`` with the same
settings, so the rows differ only in where frames come from:

* file: ``clf.stream(video, live=False)`` (FFmpeg decodes in the reader thread);
* JPEG files: ``clf.map(folder)`` (files read and decoded in the prep threads);
* in memory: ``clf.map(arrays)`` (no decoding at all: the ceiling).

Live: the camera sends ``--live-seconds`` of frames paced by the wall clock; reported are the
frames classified per second, the frames dropped (inference behind), the lag of handed-out
results in frames (median and max) and how long after the camera's last frame the stream
ended. It prints results, the machine and its load (``uptime`` before and after); it writes
nothing into docs/ (numbers measured on a shared, loaded machine are not findings).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lcnet_ov import AsyncClassifier  # noqa: E402
from lcnet_ov.testing.streams import MjpegServer, turning_page  # noqa: E402

QUALITY = 90  # JPEG quality of the video's frames, the JPEG files' and the camera's


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    try:
        from lcnet_ov.bench.machine import machine_info

        return machine_info().summary()
    except Exception as exc:  # the benchmark still runs without the bench extras
        return f"{os.cpu_count()} CPUs ({type(exc).__name__} reading the CPU model)"


def timed(fn) -> tuple[float, int]:
    start = time.perf_counter()
    n = fn()
    return time.perf_counter() - start, n


def offline(clf: AsyncClassifier, frames, work: Path, rounds: int) -> dict[str, list[float]]:
    video = work / "turning.avi"
    writer = cv2.VideoWriter(
        str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, frames[0].shape[1::-1]
    )
    writer.set(cv2.VIDEOWRITER_PROP_QUALITY, QUALITY)
    for frame in frames:
        writer.write(frame)
    writer.release()
    folder = work / "jpeg"
    folder.mkdir(exist_ok=True)
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"f{i:05d}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, QUALITY])
    paths = {
        "video file (stream)": lambda: sum(r.ok for r in clf.stream(video, live=False)),
        "same frames as JPEG files": lambda: sum(1 for _ in clf.map([str(folder)])),
        "same frames in memory": lambda: sum(1 for _ in clf.map(frames)),
    }
    for fn in paths.values():  # warm-up: compile caches, thread pools, page cache
        fn()
    rates: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(rounds):
        for name, fn in paths.items():  # interleaved, so load changes hit every path alike
            seconds, n = timed(fn)
            assert n == len(frames), (name, n)
            rates[name].append(n / seconds)
    return rates


def live(clf: AsyncClassifier, frames, fps: float, seconds: float) -> dict[str, float]:
    n = int(fps * seconds)
    sent = [frames[i % len(frames)] for i in range(n)]
    with MjpegServer(sent, fps=fps, quality=QUALITY) as cam:
        stream = clf.stream(cam.url)
        lags = []
        start = time.monotonic()
        for record in stream:
            lags.append(record.lag_frames)
        ended = time.monotonic()
    s = stream.stats
    return {
        "fps": fps,
        "sent": n,
        "read": s.frames_read,
        "classified": s.classified,
        "classified_per_s": s.classified / (ended - start),
        "dropped": s.dropped,
        "lag_median": statistics.median(lags) if lags else float("nan"),
        "lag_max": max(lags, default=0),
        "end_delay_s": ended - (cam.finished_at or ended),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="text_image_orientation", help="zoo name or .xml")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--side", type=int, default=480, help="frame side in pixels (square)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--live-seconds", type=float, default=8.0)
    args = parser.parse_args()

    from lcnet_ov import resolve_ir

    print(f"machine: {machine()}")
    print(f"before: {uptime()}")
    frames = turning_page(args.frames, 25, side=args.side)
    xml = resolve_ir(args.model)
    with AsyncClassifier(xml, max_batch=args.batch) as clf, tempfile.TemporaryDirectory() as tmp:
        print(
            f"model: {clf.metadata.name}; max_batch {clf.max_batch}, {clf.num_requests} infer "
            f"requests, {clf.workers} prep threads; {args.frames} frames {args.side}x{args.side}"
            f", JPEG quality {QUALITY}"
        )
        rates = offline(clf, frames, Path(tmp), args.rounds)
        print(f"\nframes/s, median of {args.rounds} rounds (min–max):")
        for name, values in rates.items():
            print(
                f"  {name:28s} {statistics.median(values):8.1f}  "
                f"({min(values):.1f}–{max(values):.1f})"
            )
        print(
            f"\nlive HTTP MJPEG camera, {args.live_seconds:g} s each (lag in frames of the camera):"
        )
        for fps in (25.0, 60.0):
            r = live(clf, frames, fps, args.live_seconds)
            print(
                f"  {fps:4.0f} fps: {r['read']}/{r['sent']} read, {r['classified']} classified "
                f"({r['classified_per_s']:.1f}/s), {r['dropped']} dropped, lag median "
                f"{r['lag_median']:.0f} max {r['lag_max']}, ended {r['end_delay_s']:.2f} s after "
                "the camera's last frame"
            )
    print(f"\nafter: {uptime()}")


if __name__ == "__main__":
    main()
