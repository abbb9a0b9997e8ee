"""Several producer threads submit images to one shared AsyncClassifier; a consumer gathers
results as they complete. This is the shape of a web service: many callers, one model, and
micro-batching turning their single images into batches behind the scenes.

    python samples/producer_consumer.py --producers 4 --per-producer 25

Producers render pages turned by a known angle, so the consumer can score the answers of the
default text-orientation model. ``max_pending`` bounds the work in flight: when producers are
faster than the model, ``submit`` blocks instead of queueing without limit.
"""

from __future__ import annotations

import argparse
import queue
import threading
import time
from concurrent.futures import Future

from lcnet_ov import AsyncClassifier, resolve_ir
from lcnet_ov.testing import ORIENTATIONS, page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="text_image_orientation", help="zoo name or .xml")
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--per-producer", type=int, default=25)
    parser.add_argument("--max-pending", type=int, default=32)
    args = parser.parse_args()

    done: queue.SimpleQueue[tuple[int, int, Future]] = queue.SimpleQueue()
    with AsyncClassifier(resolve_ir(args.model), max_pending=args.max_pending) as clf:

        def produce(worker: int) -> None:
            for i in range(args.per_producer):
                orientation = (worker + i) % 4
                future = clf.submit(page(seed=worker * 1000 + i, orientation=orientation))
                future.add_done_callback(lambda f, w=worker, o=orientation: done.put((w, o, f)))

        start = time.perf_counter()
        threads = [threading.Thread(target=produce, args=(w,)) for w in range(args.producers)]
        for t in threads:
            t.start()
        total = args.producers * args.per_producer
        correct, per_worker = 0, [0] * args.producers
        for _ in range(total):  # the consumer: results in completion order
            worker, orientation, future = done.get(timeout=120)
            per_worker[worker] += 1
            correct += future.result().label_name == ORIENTATIONS[orientation]
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        stats = clf.stats
    print(f"results per producer: {per_worker}")
    print(
        f"{total} images from {args.producers} producers in {elapsed:.2f} s: "
        f"{total / elapsed:.1f} images/s"
    )
    print(f"batches: {stats.batches}, mean size {stats.mean_batch:.1f}, sizes {stats.sizes}")
    if clf.labels == ORIENTATIONS:
        print(f"orientation accuracy: {correct}/{total}")


if __name__ == "__main__":
    main()
