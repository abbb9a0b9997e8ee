"""The memory of `lcnet-ov serve` per request body and under bursts; prints (``--write``: writes)
the `serve-memory` section of docs/serving.md.

Admission control reserves body size × an inflation factor per request (``JSON_INFLATION``,
``BINARY_INFLATION`` in ``lcnet_ov/serving/__init__.py``) against ``--memory-budget-mb``. This
script measures where those factors come from and whether the bound holds:

* inflation: the peak RSS growth one request causes per byte of its body, for JSON ``pixels``
  numbers (v2 infer), base64 files (v1 ``:predict``) and binary tensor data (v2 infer), each on
  a fresh server (the allocator keeps freed memory, so only the first request of a kind on a
  fresh process shows its true cost) with the size limits raised so nothing is refused. The
  peak is the kernel's (``VmHWM``), reset through ``/proc/PID/clear_refs`` before each request,
  so no sampling can miss it;
* bursts: ``--burst`` concurrent maximum-size requests of each kind (and gRPC binary
  ``pixels`` at the message limit) against the default limits, a fresh server per burst: the
  answers (200 or 503 for what does not fit) and the peak RSS over idle.

Linux only (``/proc``). ``--smoke`` uses small limits, 1 MB bodies and bursts of 4, and one
server per table instead of one per row: it checks every path, its numbers mean nothing.

    python -m benchmarks.serve_memory [--burst 32] [--inflation-mb 16] [--write | --smoke]
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import harness
from benchmarks.harness import REPO, md_table

SECTION = "serve-memory"
MODEL = "text_image_orientation"
MB = 1024 * 1024
INFER = f"/v2/models/{MODEL}/infer"
PREDICT = f"/v1/models/{MODEL}:predict"
#: the limits a smoke run's bursts meet instead of the defaults: small enough that a burst of
#: 4 takes seconds and still overflows the budget (16 × 0.25 MB × 4 > 8 MB)
SMOKE_LIMITS = {"max_json_mb": 0.25, "max_body_mb": 0.5, "memory_budget_mb": 8}

BURST_HEADERS = ["burst", "body MB", "requests", "answers", "s", "idle RSS MB", "peak RSS MB",
                 "over idle MB"]  # fmt: skip
#: (path, body, headers) of an HTTP request, or (None, pixels, {}) of a gRPC one
Case = tuple[str | None, Any, dict[str, str]]


# ---- the server's memory, from /proc ------------------------------------------------------------


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    """``VmRSS`` (now) or ``VmHWM`` (peak since the last :func:`reset_peak`) of ``pid``, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def reset_peak(pid: int) -> None:
    """``VmHWM := VmRSS`` (Linux ≥ 4.0): the next peak read is this request's alone."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


# ---- request bodies of a given size ----------------------------------------------------------


def json_pixels_body(target: int, seed: int = 0) -> bytes:
    """A v2 JSON request of ``pixels`` (random uint8 numbers, ~3.6 bytes each) of at most
    ``target`` bytes: the most memory per body byte a client can make the server spend."""
    side = max(8, int((target / 3 / 3.6) ** 0.5))
    px = np.random.default_rng(seed).integers(0, 256, (1, side, side, 3), dtype=np.uint8)
    spec = {"name": "pixels", "datatype": "UINT8", "shape": list(px.shape)}
    body = json.dumps(
        {"inputs": [{**spec, "data": px.reshape(-1).tolist()}]}, separators=(",", ":")
    ).encode()
    return body if len(body) <= target else json_pixels_body(int(target * 0.97), seed)


def binary_pixels_body(target: int) -> tuple[bytes, dict[str, str]]:
    """A v2 request of ``pixels`` as binary tensor data (the JSON header, then the raw bytes)
    of at most ``target`` bytes, header included (a body at ``--max-body-mb`` must not be
    refused with 413), and the HTTP header that says where the JSON ends."""

    def head(side: int) -> bytes:
        spec = {"name": "pixels", "datatype": "UINT8", "shape": [1, side, side, 3]}
        params = {"binary_data_size": 3 * side * side}
        return json.dumps({"inputs": [{**spec, "parameters": params}]}).encode()

    side = int((target / 3) ** 0.5)
    while side > 1 and len(head(side)) + 3 * side * side > target:
        side -= 1
    px = np.random.default_rng(0).integers(0, 256, (1, side, side, 3), dtype=np.uint8)
    text = head(side)
    return text + px.tobytes(), {"Inference-Header-Content-Length": str(len(text))}


def v1_body(target: int, blob: bytes) -> bytes:
    """A v1 ``:predict`` request of the file ``blob`` base64-encoded as often as fits in
    ``target`` bytes (at most the server's 256 images per request)."""
    import base64

    n = max(1, min(256, int(target / (len(blob) * 4 / 3 + 12))))
    return json.dumps({"instances": [{"b64": base64.b64encode(blob).decode()}] * n}).encode()


def grpc_pixels(target: int) -> np.ndarray:
    """Binary ``pixels`` that fit in a gRPC message of ``target`` bytes (1 % for the framing)."""
    side = int((target * 0.99 / 3) ** 0.5)
    return np.random.default_rng(0).integers(0, 256, (1, side, side, 3), dtype=np.uint8)


# ---- sending ------------------------------------------------------------------------------------


def post(srv: Any, path: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    """POST ``body``; the HTTP status, 4xx/5xx included (a 503 is an answer here, not an error)."""
    import urllib.error

    try:
        with srv.urlopen(path, data=body, headers=headers or {}, timeout=300) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as err:
        err.read()
        return err.code


def grpc_post(srv: Any, px: np.ndarray) -> str:
    """One gRPC ``ModelInfer`` of ``px``; ``OK`` or the status name (``UNAVAILABLE``, ...)."""
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


def send(srv: Any, case: Case) -> int | str:
    path, body, headers = case
    return grpc_post(srv, body) if path is None else post(srv, path, body, headers)


def case_bytes(case: Case) -> int:
    return case[1].nbytes if case[0] is None else len(case[1])


def servers(
    xml: Path, extra: tuple[str, ...], cases: dict[str, Case], fresh: bool
) -> Iterator[tuple[Any, str, Case]]:
    """``(server, kind, case)`` for every case: a fresh server each (``fresh``), else one for
    all. Each server has answered one tiny request first, so the route's first-use costs are
    not counted against the first measured body."""
    from lcnet_ov.testing.server import ServerProcess

    log = harness.work() / "serve-memory.log"
    groups = [[item] for item in cases.items()] if fresh else [list(cases.items())]
    tiny = binary_pixels_body(3 * 64 * 64)
    for group in groups:
        with ServerProcess(xml, *extra, log=log) as srv:
            if post(srv, INFER, *tiny) != 200:
                sys.exit(f"the warm-up request failed; server log: {log}")
            for kind, case in group:
                yield srv, kind, case


# ---- the two tables -----------------------------------------------------------------------------


def inflation(xml: Path, size: int, page: bytes, fresh: bool) -> list[list[Any]]:
    """Peak RSS growth ÷ body size of the first and the second request of each kind."""
    limit = f"{4 * size / MB:g}"
    raised = ("--max-json-mb", limit, "--max-body-mb", limit, "--memory-budget-mb", "100000")
    kinds: dict[str, Case] = {
        "JSON `pixels` (v2 infer)": (INFER, json_pixels_body(size), {}),
        "base64 files (v1 :predict)": (PREDICT, v1_body(size, page), {}),
        "binary `pixels` (v2 infer)": (INFER, *binary_pixels_body(size)),
    }
    rows = []
    for srv, kind, case in servers(xml, raised, kinds, fresh):
        pid = srv.proc.pid
        growth = []
        for _ in range(2):
            base = rss_kb(pid)
            reset_peak(pid)
            status = send(srv, case)
            if status != 200:
                sys.exit(f"{kind}: the server answered {status} (log: {srv.log_path})")
            growth.append((rss_kb(pid, "VmHWM") - base) * 1024 / case_bytes(case))
        rows.append([kind, f"{case_bytes(case) / MB:.1f}", f"{growth[0]:.1f}", f"{growth[1]:.1f}"])
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def bursts(
    xml: Path, limits: dict[str, float], burst: int, page: bytes, fresh: bool
) -> list[list[Any]]:
    """``burst`` concurrent maximum-size requests per kind: answers, time, idle and peak RSS."""
    from lcnet_ov.serving import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_JSON_BYTES

    extra = tuple(a for k, v in limits.items() for a in (f"--{k.replace('_', '-')}", f"{v:g}"))
    json_max = int(limits.get("max_json_mb", DEFAULT_MAX_JSON_BYTES / MB) * MB)
    binary_max = int(limits.get("max_body_mb", DEFAULT_MAX_BODY_BYTES / MB) * MB)
    cases: dict[str, Case] = {
        "JSON `pixels` at --max-json-mb": (INFER, json_pixels_body(json_max), {}),
        "binary `pixels` at --max-body-mb": (INFER, *binary_pixels_body(binary_max)),
        "v1 base64 at --max-json-mb": (PREDICT, v1_body(json_max, page), {}),
        "gRPC binary `pixels` at --max-body-mb": (None, grpc_pixels(binary_max), {}),
    }
    rows = []
    for srv, kind, case in servers(xml, extra, cases, fresh):
        pid = srv.proc.pid
        idle = rss_kb(pid) / 1024
        reset_peak(pid)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(burst) as pool:
            futures = [pool.submit(send, srv, case) for _ in range(burst)]
            codes = Counter(f.result() for f in futures)
        seconds = time.perf_counter() - t0
        peak = rss_kb(pid, "VmHWM") / 1024
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(codes.items(), key=str))
        rows.append([kind, f"{case_bytes(case) / MB:.2f}", burst, answers, f"{seconds:.1f}",
                     f"{idle:.0f}", f"{peak:.0f}", f"{peak - idle:.0f}"])  # fmt: skip
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def build_parser():
    parser = harness.parser(__doc__)
    parser.add_argument("--burst", type=int, default=32, help="concurrent requests per burst")
    parser.add_argument(
        "--inflation-mb", type=float, default=16, help="body size of the inflation table"
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    run = harness.start(args, __name__, argv)
    if not Path("/proc/self/clear_refs").exists():
        sys.exit("benchmarks.serve_memory reads the peak RSS from /proc: Linux only")
    limits: dict[str, float] = {}
    if run.smoke:
        args.burst, args.inflation_mb, limits = 4, 1, SMOKE_LIMITS

    from lcnet_ov.export.resolve import resolve_ir
    from lcnet_ov.serving import (
        DEFAULT_MAX_BODY_BYTES,
        DEFAULT_MAX_INFLIGHT,
        DEFAULT_MAX_JSON_BYTES,
        DEFAULT_MEMORY_BUDGET_BYTES,
    )

    xml = resolve_ir(MODEL)
    page = (REPO / "samples" / "images" / "page_90deg.jpg").read_bytes()
    fresh = not run.smoke
    inflation_rows = inflation(xml, int(args.inflation_mb * MB), page, fresh)
    burst_rows = bursts(xml, limits, args.burst, page, fresh)

    shown = {
        "max_json_mb": DEFAULT_MAX_JSON_BYTES / MB,
        "max_body_mb": DEFAULT_MAX_BODY_BYTES / MB,
        "memory_budget_mb": DEFAULT_MEMORY_BUDGET_BYTES // MB,
        **limits,
    }
    flags = " ".join(f"--{k.replace('_', '-')} {v:g}" for k, v in shown.items())
    which = "the limits of a smoke run" if limits else "the default limits"
    per = "a fresh server per" if fresh else "(smoke) one server for every"
    body = "\n".join(
        [
            f"Peak RSS growth ÷ body size, one request at a time on {per} kind "
            f"(~{args.inflation_mb:g} MB bodies; the second request finds memory the allocator "
            "kept from the first, so the first is the bound); the admission constants "
            "`JSON_INFLATION` / `BINARY_INFLATION` round the first up:",
            "",
            md_table(["body", "MB", "first request", "second request"], inflation_rows),
            "",
            f"Bursts of {args.burst} concurrent maximum-size requests against {which} "
            f"(`{flags} --max-inflight {DEFAULT_MAX_INFLIGHT}`); {per} burst:",
            "",
            md_table(BURST_HEADERS, burst_rows),
        ]
    )
    run.emit("serving.md", SECTION, body, title="Serving")


if __name__ == "__main__":
    main()
