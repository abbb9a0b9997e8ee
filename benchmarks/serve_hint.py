"""`lcnet-ov serve --hint throughput` against `--hint latency`: images/s and latency per request at
1, 8 and 32 closed-loop HTTP clients; prints (``--write``: writes) the `serve-hint` section of
docs/serving.md.

Why the option exists: under THROUGHPUT (the default) OpenVINO runs one inference stream per
core, so a lone request's inference gets one core; LATENCY runs one stream on every core (the
server gives it two infer requests, so a batch still forms while another infers). The table
shows what that trades at each concurrency.

Both servers run at once on this machine (an idle one costs no CPU), one JPEG per request on
the `/classify` route (the file as the body, keep-alive connections), the clients on the same
cores. Rounds are interleaved (each round measures every (clients, hint), in alternating hint
order) and the ratios latency ÷ throughput are taken within a round.

    python -m benchmarks.serve_hint [--rounds 3] [--seconds 3] [--write | --smoke]
"""

from __future__ import annotations

import http.client
import json
import sys
from contextlib import contextmanager
from pathlib import Path

from benchmarks import harness
from benchmarks._closed_loop import closed_loop
from benchmarks.harness import IMAGENET_SAMPLE, md_table, spread

SECTION = "serve-hint"
MODEL = "text_image_orientation"
CONCURRENCY = (1, 8, 32)
HINTS = ("throughput", "latency")
HEADERS = ("clients", "server", "images/s", "÷ throughput", "p50 ms", "p50 ÷ throughput", "p99 ms")


def build_parser():
    parser = harness.parser(__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--data", type=Path, default=IMAGENET_SAMPLE, help="folder of JPEGs")
    return parser


def http_clients(url: str, images: list[bytes]):
    """``closed_loop``'s client factory: a keep-alive connection posting image ``n`` to the
    `/classify` route and checking that a class came back."""
    host, port = url.rsplit(":", 1)
    path = f"/v2/models/{MODEL}/classify?topk=1"

    @contextmanager
    def client():
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        try:

            def send(n: int) -> None:
                conn.request("POST", path, body=images[n % len(images)])
                resp = conn.getresponse()
                body = resp.read()
                if resp.status != 200 or not json.loads(body)["class_ids"]:
                    raise RuntimeError(f"HTTP {resp.status}: {body[:200]!r}")

            yield send
        finally:
            conn.close()

    return client


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    run = harness.start(args, __name__, argv)
    if run.smoke:
        args.rounds, args.seconds, args.images = 1, 0.3, 8

    from lcnet_ov.export.resolve import resolve_ir
    from lcnet_ov.testing.server import ServerProcess

    xml = resolve_ir(MODEL)
    files = sorted(args.data.glob("*.JPEG"))[: args.images]
    if not files:
        sys.exit(f"no JPEGs in {args.data} (pass --data DIR)")
    images = [f.read_bytes() for f in files]

    results: dict[tuple[str, int], list[dict]] = {}
    with (
        ServerProcess(xml, "--hint", "throughput") as wide,
        ServerProcess(xml, "--hint", "latency") as lone,
    ):
        clients = {
            "throughput": http_clients(wide.http_url, images),
            "latency": http_clients(lone.http_url, images),
        }
        for hint in HINTS:  # connections, and the batch sizes each concurrency forms
            for c in CONCURRENCY:
                closed_loop(clients[hint], c, 0.5, hint)
        for r in range(args.rounds):
            run.sample_load()
            for c in CONCURRENCY:
                for hint in HINTS if r % 2 == 0 else HINTS[::-1]:
                    res = closed_loop(clients[hint], c, args.seconds, hint)
                    results.setdefault((hint, c), []).append(res)
                    print(
                        f"round {r} c={c:2d} {hint:10s} {res['ips']:7.1f} img/s "
                        f"p50 {res['p50']:6.1f} ms p99 {res['p99']:6.1f} ms",
                        flush=True,
                    )

    rows = []
    for c in CONCURRENCY:
        base = results[("throughput", c)]
        for hint in HINTS:
            runs = results[(hint, c)]
            rate = [x["ips"] / b["ips"] for x, b in zip(runs, base, strict=True)]
            p50 = [x["p50"] / b["p50"] for x, b in zip(runs, base, strict=True)]
            rows.append([
                c, f"`--hint {hint}`",
                spread([x["ips"] for x in runs], ".0f"),
                "1.00" if hint == "throughput" else spread(rate),
                spread([x["p50"] for x in runs], ".1f"),
                "1.00" if hint == "throughput" else spread(p50),
                spread([x["p99"] for x in runs], ".1f"),
            ])  # fmt: skip
    body = "\n".join(
        [
            f"{args.rounds} interleaved rounds of {args.seconds:g} s per (clients, hint); model "
            f"{MODEL} (PP-LCNet_x1_0, FP32), {len(images)} ImageNet JPEGs, one per request on "
            "`/classify`; both servers with `infer`'s defaults otherwise. Median over rounds "
            "(min–max); ratios within each round.",
            "",
            md_table(HEADERS, rows),
        ]
    )
    run.emit("serving.md", SECTION, body, title="Serving")


if __name__ == "__main__":
    main()
