"""Classify the frames of a video as a stream: write a short MJPG ``.avi`` of a page turning
through 0/90/180/270 degrees, then classify it frame by frame with ``AsyncClassifier.stream``.

    python samples/video_frames.py --frames 24 --out /tmp/turning_page.avi

``stream`` reads the video on its own thread (OpenCV's FFmpeg), so decoding, resizing and
inference overlap and memory stays bounded however long the video is; the same call takes
``rtsp://``/``http://`` URLs and ``camera:0`` (docs/streams.md). Frames are square (the rotated
page is padded) so that a 90° turn keeps the frame size a video needs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from lcnet_ov import AsyncClassifier, resolve_ir
from lcnet_ov.testing import ORIENTATIONS, page

SIDE = 480


def frame(index: int, per_turn: int) -> np.ndarray:
    """The page at frame ``index``: a quarter turn clockwise every ``per_turn`` frames."""
    img = page(seed=7, orientation=(index // per_turn) % 4)
    canvas = np.full((SIDE, SIDE, 3), 245, np.uint8)
    h, w = img.shape[:2]
    y, x = (SIDE - h) // 2, (SIDE - w) // 2
    canvas[y : y + h, x : x + w] = img
    return canvas


def write_video(path: Path, frames: int, per_turn: int) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 12.0, (SIDE, SIDE))
    if not writer.isOpened():
        raise SystemExit(f"cannot write {path} (no MJPG encoder in this OpenCV build?)")
    for i in range(frames):
        writer.write(frame(i, per_turn))
    writer.release()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="text_image_orientation", help="zoo name or .xml")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--per-turn", type=int, default=6, help="frames per quarter turn")
    parser.add_argument("--out", type=Path, default=Path("turning_page.avi"))
    args = parser.parse_args()

    write_video(args.out, args.frames, args.per_turn)
    print(f"wrote {args.out} ({args.frames} frames)")
    correct = count = 0
    with AsyncClassifier(resolve_ir(args.model), max_batch=4) as clf:
        for result in clf.stream(args.out):  # FrameResult: frame index, time_s, top-k
            i = result.frame
            truth = ORIENTATIONS[(i // args.per_turn) % 4]
            correct += result.label_name == truth
            count += 1
            print(
                f"frame {i:3d} ({result.time_s:5.2f} s): {result.label_name:>6} "
                f"({result.score:.3f})  turned {truth}"
            )
    if clf.labels == ORIENTATIONS:
        print(f"frames classified correctly: {correct}/{count}")


if __name__ == "__main__":
    main()
