"""Start-up time: `lcnet-ov --help`, a whole `lcnet-ov infer one.jpg` process and `lcnet-ov
serve`'s start to ready, the last two with and without OpenVINO's compiled-model cache, and
where the time goes inside one process.

Each round runs the command once with the cache off (``LCNET_OV_COMPILE_CACHE=0``) and once
with it warm, interleaved, so both see the same machine load; the page cache and the model
cache (IR already converted) are warm for both.

    python -m benchmarks.startup [--rounds 7] [--serve-rounds 3] [--write | --smoke]

Prints (``--write``: writes) the ``startup`` and ``cli-startup`` sections of
``docs/benchmarks.md``. (``--help`` was timed by ``conversion_parity``; it is a start-up time
like the others, so it is measured here.)
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from benchmarks import harness
from benchmarks.harness import REPO, md_table, ratios, spread

IMAGE = REPO / "samples" / "images" / "page_90deg.jpg"


def run_infer(model: str, cache: bool) -> float:
    env = {**os.environ, "LCNET_OV_COMPILE_CACHE": "1" if cache else "0"}
    cmd = [sys.executable, "-m", "lcnet_ov", "infer", "-m", model, str(IMAGE)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    return elapsed


def serve_ready(model: str, cache: bool) -> float:
    """Seconds from starting `lcnet-ov serve` to its first 200 on /v2/health/ready."""
    from lcnet_ov.testing.server import ServerProcess

    env = {"LCNET_OV_COMPILE_CACHE": "1" if cache else "0"}
    with ServerProcess(model, env=env) as srv:
        ready = srv.ready_seconds
    if srv.returncode != 0 or ready is None:
        raise SystemExit(f"lcnet-ov serve exited with {srv.returncode}")
    return ready


def stages(model: str) -> dict[str, float]:
    """One process's import, read and compile times (seconds), measured in a fresh child."""
    code = f"""
import json, time
t0 = time.perf_counter()
import openvino, cv2, numpy
from lcnet_ov.runtime.loaded_model import LoadedModel, compile_config
t1 = time.perf_counter()
m = LoadedModel({model!r})
t2 = time.perf_counter()
c = m.compile("CPU", compile_config(hint="LATENCY"))
t3 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "read": t2 - t1, "compile": t3 - t2}}))
"""
    out = {}
    for cache in (False, True):
        env = {**os.environ, "LCNET_OV_COMPILE_CACHE": "1" if cache else "0"}
        proc = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        import json

        for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items():
            out[f"{k} ({'cache' if cache else 'no cache'})"] = v
    return out


def help_startup() -> float:
    """Wall seconds of one ``lcnet-ov --help`` process (this checkout's code: PYTHONPATH)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lcnet_ov", "--help"], check=True,
                   capture_output=True, env=env)  # fmt: skip
    return time.perf_counter() - t0


def build_parser():
    parser = harness.parser(__doc__)
    parser.add_argument("--model", default="text_image_orientation")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--serve-rounds", type=int, default=3, help="rounds that start a server")
    parser.add_argument("--help-runs", type=int, default=15, help="`lcnet-ov --help` processes")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    run = harness.start(args, __name__, argv)
    if run.smoke:
        args.rounds, args.serve_rounds, args.help_runs = 1, 1, 2

    run_infer(args.model, cache=True)  # converts if needed, fills the compiled cache
    run_infer(args.model, cache=False)
    serve_ok = importlib.util.find_spec("kserve") is not None
    jobs = [
        ("infer, no cache", lambda: run_infer(args.model, False)),
        ("infer, cache", lambda: run_infer(args.model, True)),
    ]
    got = harness.interleave(jobs, args.rounds)
    times = {False: got["infer, no cache"], True: got["infer, cache"]}
    serve: dict[bool, list[float]] = {False: [], True: []}
    if serve_ok:
        jobs = [("serve, no cache", lambda: serve_ready(args.model, False)),
                ("serve, cache", lambda: serve_ready(args.model, True))]  # fmt: skip
        got = harness.interleave(jobs, args.serve_rounds)
        serve = {False: got["serve, no cache"], True: got["serve, cache"]}
    inside = [stages(args.model) for _ in range(1 if run.smoke else 3)]
    keys = list(inside[0])
    ratio = ratios(times[True], times[False])
    serve_ratio = ratios(serve[True], serve[False])
    serve_rows = (
        [
            md_table(
                ("`lcnet-ov serve`, start to ready", "seconds", "cache ÷ no cache"),
                [
                    ("cache off", spread(serve[False]), ""),
                    ("cache on (default, warm)", spread(serve[True]), spread(serve_ratio)),
                ],
            ),
            "",
        ]
        if serve[True]
        else ["(`lcnet-ov serve` not measured: the `[serve]` extra is not installed.)", ""]
    )
    warm = statistics.median(times[True])
    text = "\n".join(
        [
            f"Model {args.model}, {args.rounds} interleaved rounds.",
            "",
            "Whole process `lcnet-ov infer -m MODEL one.jpg` (warm page cache, IR converted), "
            "seconds, median (min–max):",
            "",
            md_table(
                ("compiled-model cache", "seconds", "cache ÷ no cache"),
                [
                    ("off (`LCNET_OV_COMPILE_CACHE=0`)", spread(times[False]), ""),
                    ("on (default, warm)", spread(times[True]), spread(ratio)),
                ],
            ),
            "",
            *serve_rows,
            f"Against the target of a warm `infer` of one image under 0.5 s: median {warm:.2f} s, "
            f"{'met' if warm < 0.5 else 'not met'} on this machine; "
            f"{sum(t < 0.5 for t in times[True])} of {len(times[True])} runs under 0.5 s.",
            "",
            f"Inside one process (median of {len(inside)} fresh processes, ms):",
            "",
            md_table(
                ("stage", "ms"),
                [(k, f"{1000 * statistics.median(s[k] for s in inside):.0f}") for k in keys],
            ),
        ]
    )
    run.emit("benchmarks.md", "startup", text)
    helps = [help_startup() for _ in range(args.help_runs)]
    q1, med, q3 = np.percentile(helps, [25, 50, 75])
    run.emit(
        "benchmarks.md",
        "cli-startup",
        f"`lcnet-ov --help` (`python -m lcnet_ov --help`, a fresh process each time): median "
        f"**{med * 1000:.0f} ms** (IQR {q1 * 1000:.0f}–{q3 * 1000:.0f} ms, min–max "
        f"{min(helps) * 1000:.0f}–{max(helps) * 1000:.0f} ms) over {len(helps)} runs; it "
        "imports neither OpenVINO, Paddle, paddle2onnx nor NNCF.",
    )


if __name__ == "__main__":
    main()
