"""Does ``lcnet-ov bench`` measure what ``benchmark_app`` measures? Run both, alternating.

Same IR (seeded PP-LCNet x1.0, static batch 1), same device settings (hint, streams, threads,
f32 inference precision), same duration. Runs alternate A B, B A, ... so drift in machine load
hits both tools alike; the ratio is the median over rounds of each round's lcnet-ov/benchmark_app
ratio (each tool's own figure is its median over rounds). Targets: async throughput
≥ 0.97× benchmark_app's, sync median latency ≤ 1.03× benchmark_app's.

    python -m benchmarks.benchmark_app_agreement [--seconds 3] [--rounds 6] [--write | --smoke]

Prints (``--write``: writes) the ``bench-agreement`` section of docs/benchmarks.md; exits 1 if
a target is missed (not under ``--smoke``, whose 1 s runs say nothing about agreement).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import harness
from benchmarks._models import fp32_ir, pplcnet
from benchmarks.harness import md_table, spread

THROUGHPUT_TARGET = 0.97
LATENCY_TARGET = 1.03


def cases(cores: int) -> list[tuple[str, list[str], dict]]:
    """(name, benchmark_app flags, lcnet_ov.bench.run options) measuring the same thing."""
    return [
        (
            "async, hint throughput",
            ["-api", "async", "-hint", "throughput"],
            {"mode": "async", "hint": "throughput"},
        ),
        (
            "sync, hint latency",
            ["-api", "sync", "-hint", "latency"],
            {"mode": "sync", "hint": "latency"},
        ),
        (
            f"async, hint none, {cores} streams, {cores} threads",
            ["-api", "async", "-hint", "none", "-nstreams", str(cores), "-nthreads", str(cores)],
            {"mode": "async", "hint": "none", "streams": cores, "threads": cores},
        ),
        (
            f"sync, hint none, 1 stream, {cores} threads",
            ["-api", "sync", "-hint", "none", "-nstreams", "1", "-nthreads", str(cores)],
            {"mode": "sync", "hint": "none", "streams": 1, "threads": cores},
        ),
    ]


def benchmark_app(xml: Path, flags: list[str], seconds: int) -> dict[str, float]:
    """One benchmark_app run; its JSON statistics report, as floats."""
    exe = shutil.which("benchmark_app")
    cmd = [exe] if exe else [sys.executable, "-m", "openvino.tools.benchmark.main"]
    with tempfile.TemporaryDirectory() as report:
        cmd += [
            "-m",
            str(xml),
            "-d",
            "CPU",
            "-t",
            str(seconds),
            "-shape",
            "[1,3,224,224]",
            "-infer_precision",
            "f32",
            "-report_type",
            "no_counters",
            "-json_stats",
            "-report_folder",
            report,
            *flags,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"benchmark_app failed: {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        stats = json.loads((Path(report) / "benchmark_report.json").read_text())
    results = stats["execution_results"]
    return {
        "fps": float(results["throughput"]),
        "median_ms": float(results["latency (ms)"]),
        "iterations": float(results["total number of iterations"]),
    }


def ours(xml: Path, options: dict, seconds: int) -> dict[str, float]:
    from lcnet_ov import bench

    (m,) = bench.run(xml, time_s=seconds, infer_precision="f32", **options).results
    return {
        "fps": m.throughput_fps,
        "median_ms": m.latency.median,
        "iterations": float(m.iterations),
    }


def build_parser():
    parser = harness.parser(__doc__)
    parser.add_argument("--seconds", type=int, default=3, help="per run (benchmark_app -t)")
    parser.add_argument("--rounds", type=int, default=6, help="A B alternations per case")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run = harness.start(args, __name__, argv)
    if run.smoke:
        args.seconds, args.rounds = 1, 1

    from lcnet_ov.bench import available_cores

    xml = fp32_ir(pplcnet(0.25 if run.smoke else 1.0))
    cores = available_cores()
    rows, raw, ok = [], [], True
    for name, flags, options in cases(cores)[: 2 if run.smoke else None]:
        # both tools once per round, the first alternating, so neither always gets the
        # quieter slot
        runs = harness.interleave(
            [
                ("benchmark_app", lambda flags=flags: benchmark_app(xml, flags, args.seconds)),
                ("lcnet-ov", lambda options=options: ours(xml, options, args.seconds)),
            ],
            args.rounds,
            log=False,
        )
        for tool, values in runs.items():
            for value in values:
                print(f"{name:45s} {tool:13s} {value['fps']:8.1f} FPS  median "
                      f"{value['median_ms']:.2f} ms", file=sys.stderr)  # fmt: skip
        is_async = options["mode"] == "async"
        key = "fps" if is_async else "median_ms"
        ref = spread([r[key] for r in runs["benchmark_app"]])
        got = spread([r[key] for r in runs["lcnet-ov"]])
        per_round = harness.ratios(
            [r[key] for r in runs["lcnet-ov"]], [r[key] for r in runs["benchmark_app"]]
        )
        # each round's pair ran back to back, so its ratio cancels slow drift in machine load;
        # the median over rounds discards the rounds another job disturbed
        ratio = statistics.median(per_round)
        passed = ratio >= THROUGHPUT_TARGET if is_async else ratio <= LATENCY_TARGET
        ok &= passed
        target = f"≥ {THROUGHPUT_TARGET}" if is_async else f"≤ {LATENCY_TARGET}"
        metric = "throughput, FPS" if is_async else "median latency, ms"
        rows.append(
            [
                name,
                metric,
                ref,
                got,
                f"**{ratio:.3f}** ({min(per_round):.3f}–{max(per_round):.3f})",
                target,
                "yes" if passed else "NO",
            ]
        )
        raw.append(
            f"- {name}: benchmark_app "
            + ", ".join(f"{r[key]:.2f}" for r in runs["benchmark_app"])
            + "; lcnet-ov "
            + ", ".join(f"{r[key]:.2f}" for r in runs["lcnet-ov"])
        )
    body = "\n".join(
        [
            f"Seeded PP-LCNet {'x0.25' if run.smoke else 'x1.0'} IR, batch 1, f32 inference "
            f"precision, {args.seconds} s per run, "
            f"{args.rounds} alternating rounds; each tool's figure is its median over rounds "
            "with the range over rounds in brackets, the ratio is the median (range) of the "
            "per-round ratios (pairs run back to back).",
            "",
            md_table(
                ["case", "metric", "benchmark_app", "lcnet-ov bench", "ratio", "target", "met"],
                rows,
            ),
            "",
            "Per-round values (in run order):",
            "",
            *raw,
        ]
    )
    run.emit("benchmarks.md", "bench-agreement", body)
    return 0 if ok or run.smoke else 1


if __name__ == "__main__":
    sys.exit(main())
