"""Classify every image in a folder with the async batched inferencer; print the top-1 of each
and the end-to-end rate.

    python samples/classify_folder.py ../shared/imagenet-sample --model PPLCNet_x1_0
    python samples/classify_folder.py samples/images          # text orientation, works offline

Decoding runs in a thread pool while OpenVINO infers earlier batches. Both share the CPU's
cores, so the rate approaches cores / (decode CPU time + inference CPU time per image), not the
slower stage's own rate (measured in docs/benchmarks.md). Unreadable files are listed, not fatal.
"""

from __future__ import annotations

import argparse
import time

from lcnet_ov import AsyncClassifier, resolve_ir
from lcnet_ov.results import FailedPrediction


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", help="folder of images (or a glob pattern)")
    parser.add_argument("--model", default="text_image_orientation", help="zoo name or .xml")
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None, help="inference threads")
    args = parser.parse_args()

    failed = 0
    with AsyncClassifier(
        resolve_ir(args.model), max_batch=args.max_batch, threads=args.threads
    ) as clf:
        start = time.perf_counter()
        count = 0
        for result in clf.map(args.folder):
            count += 1
            if isinstance(result, FailedPrediction):
                failed += 1
                print(f"FAILED  {result.reason}")
            else:
                print(f"{result.label_name:>24}  {result.score:.3f}  {result.filename}")
        elapsed = time.perf_counter() - start
        stats = clf.stats
    print(
        f"{count} images ({failed} failed) in {elapsed:.2f} s: {count / elapsed:.1f} images/s, "
        f"mean batch {stats.mean_batch:.1f}"
    )


if __name__ == "__main__":
    main()
