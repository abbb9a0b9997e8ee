"""Streams benchmark: frames/s of one video file vs the same frames as JPEG files vs in memory,
and live-mode lag and drops for an HTTP MJPEG camera at 25 and 60 fps.

    python -m benchmarks.streams [--frames 300] [--rounds 3] [--write | --smoke]

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
ended. Prints (``--write``: writes) the ``streams`` section of docs/benchmarks.md, with the
harness's provenance line (machine, load, commit).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2

from benchmarks import harness
from benchmarks.harness import md_table, spread

SECTION = "streams"
QUALITY = 90  # JPEG quality of the video's frames, the JPEG files' and the camera's


def timed(fn) -> tuple[float, int]:
    start = time.perf_counter()
    n = fn()
    return time.perf_counter() - start, n


def offline(clf, frames, work: Path, rounds: int, run) -> dict[str, list[float]]:
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
        "video file (`clf.stream(video)`)": lambda: sum(
            r.ok for r in clf.stream(video, live=False)
        ),
        "JPEG files (`clf.map(folder)`)": lambda: sum(1 for _ in clf.map([str(folder)])),
        "in memory (`clf.map(arrays)`)": lambda: sum(1 for _ in clf.map(frames)),
    }
    for fn in paths.values():  # warm-up: compile caches, thread pools, page cache
        fn()
    rates: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(rounds):
        run.sample_load()
        for name, fn in paths.items():  # interleaved, so load changes hit every path alike
            seconds, n = timed(fn)
            assert n == len(frames), (name, n)
            rates[name].append(n / seconds)
    return rates


def live(clf, frames, fps: float, seconds: float) -> dict[str, float]:
    from lcnet_ov.testing.streams import MjpegServer

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


def build_parser():
    parser = harness.parser(__doc__)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--side", type=int, default=480, help="frame side in pixels (square)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--live-seconds", type=float, default=8.0)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    run = harness.start(args, __name__, argv)
    if run.smoke:
        args.frames, args.rounds, args.live_seconds, args.side = 24, 1, 1.0, 240

    from lcnet_ov import AsyncClassifier, resolve_ir
    from lcnet_ov.testing.streams import turning_page

    frames = turning_page(args.frames, 25, side=args.side)
    xml = resolve_ir("text_image_orientation")
    with AsyncClassifier(xml, max_batch=args.batch) as clf, tempfile.TemporaryDirectory() as tmp:
        setup = (
            f"{clf.metadata.name}, max_batch {clf.max_batch}, {clf.num_requests} infer requests, "
            f"{clf.workers} prep threads; {args.frames} frames {args.side}×{args.side}, JPEG "
            f"quality {QUALITY}"
        )
        rates = offline(clf, frames, Path(tmp), args.rounds, run)
        lives = [live(clf, frames, fps, args.live_seconds) for fps in (25.0, 60.0)]
    for line in rates.items():
        print(line, file=sys.stderr)
    file_rate = rates[next(iter(rates))]
    rows = [
        (name, spread(values, ".1f"), harness.ratio_spread(values, file_rate))
        for name, values in rates.items()
    ]
    live_rows = [
        (
            f"{r['fps']:.0f}",
            f"{r['read']}/{r['sent']}",
            r["classified"],
            r["dropped"],
            f"{r['lag_median']:.0f} / {r['lag_max']}",
            f"{r['end_delay_s']:.2f}",
        )
        for r in lives
    ]
    body = "\n".join(
        [
            "## Streams",
            "",
            f"One `AsyncClassifier` ({setup}); frames of a page turning through four "
            f"orientations. Frames/s, median (range) of {args.rounds} interleaved rounds, and "
            "each path's rate ÷ the video file's in the same round:",
            "",
            md_table(["source", "frames/s", "÷ video file"], rows),
            "",
            f"Live HTTP MJPEG camera on 127.0.0.1 ({args.live_seconds:g} s at each rate, paced by "
            "the wall clock; lag in frames of the camera between a frame's arrival and its "
            "result):",
            "",
            md_table(
                [
                    "camera fps",
                    "read/sent",
                    "classified",
                    "dropped",
                    "lag median / max",
                    "ended s after the camera",
                ],
                live_rows,
            ),
        ]
    )
    run.emit("benchmarks.md", SECTION, body)


if __name__ == "__main__":
    main()
