"""PaddleX 3's basic serving as a measured peer of ``lcnet-ov serve``: closed-loop HTTP clients
on the same model and the same JPEGs. Prints (``--write``: writes) the ``paddlex-serve`` section
of ``docs/benchmarks.md``.

    python -m benchmarks.paddlex_serve [--rounds 3] [--seconds 3] [--images 64] [--write | --smoke]

The model is the seeded PP-LCNet_x1_0 in PaddleX's folder layout that ``paddlex_peer`` times
(:mod:`lcnet_ov.testing.paddlex_export`). Two servers run on 127.0.0.1 at once, each with its
defaults:

* PaddleX: ``paddlex --serve --pipeline image_classification.yaml`` (PaddleX's shipped file
  with ``model_name``/``model_dir`` set to the folder, plus ``Serving.visualize: false``) in its
  own environment (``$LCNET_OV_PADDLEX_PYTHON``, default ``/work/pdx-venv/bin/python``, with
  ``paddlex[serving]``'s and ``paddlex[cv]``'s packages); its route ``POST /image-classification``
  takes ``{"image": <base64 file>, "topk": 1, "visualize": false}``.
* lcnet-ov: ``lcnet-ov serve -m FOLDER`` (converted once beforehand, the cache reused), KServe
  v1 ``POST /v1/models/NAME:predict`` with ``{"instances": [{"b64": ...}], "parameters":
  {"topk": 1}}`` (JSON and base64 like PaddleX's) and ``POST /v2/models/NAME/classify?topk=1``
  with the JPEG itself as the body.

``topk`` is 1 on every route because PaddleX 3.7.2's route answers HTTP 500 for any larger
``topk``, its default 5 included (its predictor hands each image a ``[1, k]`` array of class
ids, which the response model rejects as ``categories.0.id``); the script sends that default
request once and reports what came back, so a fixed PaddleX shows up here.

Closed-loop clients: C threads (C = 1, 8, 32), one keep-alive ``http.client`` connection each,
one JPEG per request (bodies built before the clock starts), the answer parsed before the next
request. Per (route, C) images/s over the window and p50/p99 latency per request; the rounds
are interleaved (every (route, C) once per round, rotated) and the ratio lcnet-ov ÷ PaddleX is
taken per round at the same C. Before timing, both servers classify the first images and their
top-1 answers are compared (class id, score), which is what makes the rates comparable.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks import harness
from benchmarks._closed_loop import closed_loop
from benchmarks.harness import IMAGENET_SAMPLE, md_table, spread

SECTION = "paddlex-serve"
NAME = "PP-LCNet_x1_0"
DEFAULT_PYTHON = "/work/pdx-venv/bin/python"
CONCURRENCY = (1, 8, 32)
HOST = "127.0.0.1"
#: PaddleX's basic-serving route for the image_classification pipeline
PDX_ROUTE = "/image-classification"
#: what PaddleX's serving imports at start (``paddlex[serving]`` + ``paddlex[cv]``, which the
#: image_classification pipeline requires); the probe prints the missing ones
PROBE = """
import json
from paddlex.utils.deps import EXTRAS, is_dep_available
missing = sorted({d for e in ("serving", "cv") for d in EXTRAS[e] if not is_dep_available(d)})
print(json.dumps(missing))
"""
PIPELINE_YAML = """pipeline_name: image_classification

SubModules:
  ImageClassification:
    module_name: image_classification
    model_name: {name}
    model_dir: {model_dir}
    batch_size: 4
    topk: 5

Serving:
  visualize: false
"""


# ---- the routes ----------------------------------------------------------------------------------


@dataclass
class Route:
    """One server route: where to POST, each image's body, and how to read the top-1 answer."""

    key: str
    label: str
    port: int
    path: str
    bodies: list[bytes]
    headers: dict[str, str]
    top1: Callable[[dict], tuple[int, float]]

    def post(self, conn: http.client.HTTPConnection, i: int) -> tuple[int, float]:
        conn.request("POST", self.path, self.bodies[i % len(self.bodies)], self.headers)
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{self.label}: HTTP {resp.status}: {data[:300]!r}")
        return self.top1(json.loads(data))

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(HOST, self.port, timeout=120)

    @contextmanager
    def client(self) -> Iterator[Callable[[int], tuple[int, float]]]:
        """One closed-loop client: its own keep-alive connection, closed when it is done."""
        conn = self.connect()
        try:
            yield lambda n: self.post(conn, n)
        finally:
            conn.close()


def _pdx_top1(answer: dict) -> tuple[int, float]:
    cat = answer["result"]["categories"][0]
    return int(cat["id"]), float(cat["score"])


def _v1_top1(answer: dict) -> tuple[int, float]:
    pred = answer["predictions"][0]
    return int(pred["class_ids"][0]), float(pred["scores"][0])


def _classify_top1(answer: dict) -> tuple[int, float]:
    return int(answer["class_ids"][0]), float(answer["scores"][0])


JSON = {"Content-Type": "application/json"}


def paddlex_route(port: int, images: list[bytes]) -> Route:
    bodies = [
        json.dumps({"image": base64.b64encode(b).decode(), "topk": 1, "visualize": False}).encode()
        for b in images
    ]
    return Route(
        "paddlex", "PaddleX `/image-classification` (JSON, base64)", port, PDX_ROUTE, bodies,
        JSON, _pdx_top1,
    )  # fmt: skip


def lcnet_routes(port: int, name: str, images: list[bytes]) -> list[Route]:
    v1 = [
        json.dumps(
            {"instances": [{"b64": base64.b64encode(b).decode()}], "parameters": {"topk": 1}}
        ).encode()
        for b in images
    ]
    octet = {"Content-Type": "application/octet-stream"}
    return [
        Route("v1", "lcnet-ov v1 `:predict` (JSON, base64)", port,
              f"/v1/models/{name}:predict", v1, JSON, _v1_top1),
        Route("classify", "lcnet-ov `/classify` (JPEG body)", port,
              f"/v2/models/{name}/classify?topk=1", images, octet, _classify_top1),
    ]  # fmt: skip


# ---- PaddleX's server ----------------------------------------------------------------------------


def paddlex_python() -> tuple[str | None, str]:
    """PaddleX's interpreter with its serving packages, or None and why not."""
    python = os.environ.get("LCNET_OV_PADDLEX_PYTHON", DEFAULT_PYTHON)
    if not Path(python).is_file():
        return None, f"no interpreter at {python} ($LCNET_OV_PADDLEX_PYTHON)"
    probe = subprocess.run(
        [python, "-c", PROBE], capture_output=True, text=True, env=_pdx_env(), timeout=120
    )
    if probe.returncode != 0:
        return None, f"paddlex does not import in {python}"
    missing = json.loads(probe.stdout.strip().splitlines()[-1])
    if missing:
        return None, (
            f"PaddleX's serving packages are missing in {python}: "
            f"`{python} -m pip install {' '.join(missing)}`"
        )
    return python, ""


def _pdx_env() -> dict[str, str]:
    # nothing of this checkout's venv on its path; no model-source check (it goes online)
    return dict(
        os.environ,
        PYTHONPATH="",
        PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK="True",
        GLOG_minloglevel="2",
    )


class PaddleXServer:
    """``paddlex --serve`` as a child process on a free port, ready once ``/health`` answers."""

    def __init__(self, python: str, model_dir: Path, folder: Path, timeout: float = 180) -> None:
        from lcnet_ov.testing.server import free_port

        folder.mkdir(parents=True, exist_ok=True)
        self.yaml = folder / "image_classification.yaml"
        self.yaml.write_text(PIPELINE_YAML.format(name=NAME, model_dir=model_dir))
        self.log = folder / "paddlex-serve.log"
        self.port = free_port(HOST)
        argv = [python, "-m", "paddlex", "--serve", "--pipeline", str(self.yaml),
                "--device", "cpu", "--host", HOST, "--port", str(self.port)]  # fmt: skip
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                argv, env=_pdx_env(), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"paddlex --serve exited with {self.proc.returncode}; "
                                   f"log: {self.log}")  # fmt: skip
            try:
                with urllib.request.urlopen(f"http://{HOST}:{self.port}/health", timeout=2) as r:
                    if r.status == 200:
                        self.ready_seconds = time.perf_counter() - t0
                        return
            except OSError:
                pass
            time.sleep(0.2)
        self.close()
        raise RuntimeError(f"paddlex --serve not ready after {timeout:g} s; log: {self.log}")

    def default_request(self, image: bytes) -> str:
        """What PaddleX answers to its route's default request (``topk`` unset, so 5): the
        status and, for a 500, the validation error its log shows."""
        body = json.dumps({"image": base64.b64encode(image).decode(), "visualize": False})
        req = urllib.request.Request(
            f"http://{HOST}:{self.port}{PDX_ROUTE}", data=body.encode(), headers=JSON
        )
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                return f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            status = exc.code
        time.sleep(0.2)  # the traceback reaches the log after the answer
        text = self.log.read_text(errors="replace")
        m = re.search(r"validation error for (\w+)\n(\S+)\n\s+(.*?) \[type=(\w+), "
                      r"input_value=(.*?), input_type=(\w+)\]", text, re.S)  # fmt: skip
        if not m:
            return f"HTTP {status}"
        value = " ".join(m[5].split())
        return (f"HTTP {status}; its log: `{m[1]}` `{m[2]}`: {m[3]} (`{m[4]}`), "
                f"got `{value}` (`{m[6]}`)")  # fmt: skip

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)


# ---- the run -------------------------------------------------------------------------------------


def build_parser():
    parser = harness.parser(__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="window per (route, clients)")
    parser.add_argument("--images", type=int, default=64, help="JPEGs cycled by the clients")
    parser.add_argument("--agree", type=int, default=32, help="images whose answers are compared")
    parser.add_argument("--data", type=Path, default=IMAGENET_SAMPLE, help="folder of JPEGs")
    return parser


def agreement(routes: list[Route], count: int) -> dict:
    """Top-1 of every route on the first ``count`` images, against the first route's."""
    conns = [r.connect() for r in routes]
    answers = [[r.post(c, i) for i in range(count)] for r, c in zip(routes, conns, strict=True)]
    for c in conns:
        c.close()
    ref = answers[0]
    out = {}
    for route, got in zip(routes[1:], answers[1:], strict=True):
        same = sum(a[0] == b[0] for a, b in zip(ref, got, strict=True))
        diff = max(abs(a[1] - b[1]) for a, b in zip(ref, got, strict=True))
        out[route.key] = (same, diff)
    return out


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    run = harness.start(args, __name__, argv)
    if run.smoke:
        args.rounds, args.seconds, args.images, args.agree = 1, 0.3, 8, 4
    files = sorted(args.data.glob("*.JPEG"))[: args.images] if args.data.is_dir() else []
    if not files:
        run.emit("benchmarks.md", SECTION, f"Not measured: no JPEGs in `{args.data}` "
                 "(`--data DIR`, or `$LCNET_OV_IMAGENET_SAMPLE`).")  # fmt: skip
        return
    images = [f.read_bytes() for f in files]

    from lcnet_ov.export.resolve import resolve_ir
    from lcnet_ov.testing.paddlex_export import write_paddlex_model
    from lcnet_ov.testing.server import ServerProcess

    # the folder paddlex_peer times (a smoke run's own weights, seed 1, in its own scratch)
    model_dir = harness.work() / "paddlex" / NAME
    if not (model_dir / "inference.yml").is_file():
        write_paddlex_model(model_dir, 1.0, seed=1 if run.smoke else 0)
    resolve_ir(model_dir)  # converted once, cached: the server start is not a conversion

    python, why_not = paddlex_python()
    pdx = None
    default_answer = ""
    log = harness.work() / "paddlex-serve-lcnet.log"
    with ServerProcess(model_dir, log=log) as srv:
        try:
            routes = lcnet_routes(srv.http_port, srv.name, images)
            if python is not None:
                pdx = PaddleXServer(python, model_dir, harness.work() / "paddlex-serve")
                default_answer = pdx.default_request(images[0])
                routes.insert(0, paddlex_route(pdx.port, images))
            agreed = agreement(routes, min(args.agree, len(images)))
            for route in routes:  # warm every route (connections, first-shape costs)
                closed_loop(route.client, 2, 0.5, route.label)
            jobs = [
                (
                    f"{route.key}-{c}",
                    lambda r=route, c=c: closed_loop(r.client, c, args.seconds, r.label),
                )
                for c in CONCURRENCY
                for route in routes
            ]
            results = harness.interleave(jobs, args.rounds)
        finally:
            if pdx is not None:
                pdx.close()
    body = report(results, routes, agreed, args, len(images), python, why_not, default_answer)
    run.emit("benchmarks.md", SECTION, body)


def report(results, routes, agreed, args, n, python, why_not, default_answer) -> str:
    pdx = python is not None
    rows = []
    for c in CONCURRENCY:
        for route in routes:
            runs = results[f"{route.key}-{c}"]
            ips = [r["ips"] for r in runs]
            if route.key == "paddlex" or not pdx:
                ratio = "–"
            else:
                ratio = harness.ratio_spread(ips, [r["ips"] for r in results[f"paddlex-{c}"]])
            rows.append((c, route.label, spread(ips, ".0f"), ratio,
                         spread([r["p50"] for r in runs], ".1f"),
                         spread([r["p99"] for r in runs], ".1f")))  # fmt: skip
    table = md_table(
        ("clients", "server, route", "images/s", "× PaddleX", "p50 ms", "p99 ms"), rows
    )
    ref = routes[0].label
    count = min(args.agree, n)
    agree = "; ".join(
        f"{next(r.label for r in routes if r.key == key)}: top-1 class the same on {same}/{count}"
        f" images, largest top-1 score difference {diff:.5f}"
        for key, (same, diff) in agreed.items()
    )
    if pdx:
        peer = (
            f"PaddleX 3.7.2's basic serving in `{python}` (`paddlex --serve`, its defaults: "
            "one pipeline call at a time, one image per call, `cpu_threads` 10). Its default "
            f"request (`topk` unset, so 5) answered {default_answer}; with `topk` 1 it answers, so "
            "every route here asks for the top-1 class"
        )
    else:
        peer = f"PaddleX: not measured ({why_not}); only lcnet-ov's routes ran"
    return (
        f"Seeded {NAME} in PaddleX's folder layout, the same weights on both sides; "
        f"`lcnet-ov serve -m FOLDER` with its defaults (FP32, `--max-batch 8 --max-wait-ms 2`, "
        f"exact preprocessing). {peer}. Closed-loop clients (threads, one keep-alive connection "
        f"each, one JPEG per request, {n} ImageNet JPEGs cycled) on the same cores as both "
        f"servers; {args.rounds} interleaved round(s) of {args.seconds:g} s per (route, "
        f"clients), median (range); × PaddleX is per round at the same clients.\n\n"
        f"Answers compared with {ref} before timing: {agree}.\n\n{table}"
    )


if __name__ == "__main__":
    main()
