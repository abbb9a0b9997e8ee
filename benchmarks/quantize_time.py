"""How long INT8 quantization takes, and what INT8 buys over FP32 on this CPU.

* **Quantize time**: ``lcnet-ov quantize`` with 300 calibration images, run as a fresh process
  each time (interpreter start, imports, JPEG decoding, NNCF, saving: what a user waits for).
  Calibration images are ../shared/imagenet-sample photos when present (real JPEGs of mixed
  sizes), else rendered text pages. The bar: ≤ 30 s wall on 2 cores.
* **Speed**: FP32 (at ``INFERENCE_PRECISION_HINT=f32``) vs INT8 (quantized with the defaults),
  batch 1: synchronous latency with the LATENCY hint and asynchronous throughput with the
  THROUGHPUT hint and ``AsyncInferQueue``. Passes are interleaved so load from other jobs on a
  shared machine hits every configuration alike. ``lcnet-ov bench`` measures more thoroughly.

    python -m benchmarks.quantize_time [--runs 3] [--seconds 3] [--passes 3] [--write | --smoke]

Prints (``--write``: writes) the ``quantize`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import harness
from benchmarks._models import calibration_subset, int8_of, seeded_ir, text_model_ir, text_sets
from benchmarks.harness import IMAGENET_SAMPLE, spread, work


def calibration_data(smoke: bool) -> tuple[Path, str]:
    if (IMAGENET_SAMPLE / "val_list.txt").is_file() and not smoke:
        return IMAGENET_SAMPLE, "ImageNet-sample JPEGs, 56×68 to 1632×2400 pixels"
    calib, _ = text_sets(calibration_subset(), 8)
    return calib, "rendered text pages (JPEG)"


def time_cli(xml: Path, data: Path, runs: int) -> tuple[list[float], list[float]]:
    """Wall seconds of whole ``lcnet-ov quantize`` processes, and the library's own timing."""
    walls, inner = [], []
    for i in range(runs):
        out = work() / "quantize-time" / f"run{i}" / "model.xml"
        cmd = [
            sys.executable,
            "-m",
            "lcnet_ov",
            "quantize",
            "-m",
            str(xml),
            "-d",
            str(data),
            "--subset-size",
            str(calibration_subset()),
            "-o",
            str(out),
            "--json",
        ]
        shutil.rmtree(out.parent, ignore_errors=True)  # each run writes a new IR
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ))
        walls.append(time.perf_counter() - start)
        if proc.returncode != 0:
            sys.exit(f"quantize failed:\n{proc.stderr[-2000:]}")
        inner.append(json.loads(proc.stdout)["seconds"])
        print(f"run {i + 1}/{runs}: {walls[-1]:.1f} s", file=sys.stderr)
    return walls, inner


def decode_seconds(xml: Path, data: Path) -> float:
    """The share of a run spent decoding and cropping the 300 calibration images."""
    from lcnet_ov.inputs.datasets import CALIBRATION_LISTS, load_crops, open_image_set
    from lcnet_ov.runtime.metadata import read_metadata

    order = open_image_set(data, prefer=CALIBRATION_LISTS).balanced_order(0)
    start = time.perf_counter()
    load_crops(order, read_metadata(xml).preprocess, calibration_subset())
    return time.perf_counter() - start


def latency_ms(compiled, x: np.ndarray, seconds: float) -> float:
    request = compiled.create_infer_request()
    for _ in range(10):
        request.infer({0: x})
    times = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        request.infer({0: x})
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def throughput(compiled, x: np.ndarray, seconds: float) -> float:
    import openvino as ov

    queue = ov.AsyncInferQueue(compiled)
    for _ in range(2 * len(queue)):
        queue.start_async({0: x})
    queue.wait_all()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        queue.start_async({0: x})
        done += 1
    queue.wait_all()
    return done / (time.perf_counter() - start)


#: the inference precisions both models are measured at: f32 is what the SDK runs (and what
#: quantization was judged at); bf16 is OpenVINO's default on this CPU. INT8 vs FP32 is only
#: ever compared at the same one.
HINTS = ("f32", "bf16")


def speed(models: dict[str, tuple[Path, Path]], seconds: float, rounds: int) -> dict[tuple, dict]:
    """``{(model, precision, hint): {"lat": [...], "fps": [...], "hint": actual}}``, one value
    per round, in interleaved rounds (:func:`benchmarks.harness.interleave`)."""
    from lcnet_ov.runtime.core import shared_core

    core = shared_core()
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)

    def job(xml: Path, hint: str):
        def run() -> tuple[float, float, str]:
            cfg = {"INFERENCE_PRECISION_HINT": hint}
            c = core.compile_model(str(xml), "CPU", {**cfg, "PERFORMANCE_HINT": "LATENCY"})
            actual = c.get_property("INFERENCE_PRECISION_HINT").to_string()
            lat = latency_ms(c, x, seconds)
            c = core.compile_model(str(xml), "CPU", {**cfg, "PERFORMANCE_HINT": "THROUGHPUT"})
            return lat, throughput(c, x, seconds), actual

        return run

    keys = [
        (name, precision, hint)
        for name, (fp32, int8) in models.items()
        for hint in HINTS
        for precision, xml in (("FP32", fp32), ("INT8", int8))
    ]
    xmls = {(name, "FP32"): pair[0] for name, pair in models.items()}
    xmls |= {(name, "INT8"): pair[1] for name, pair in models.items()}
    runs = harness.interleave([(repr(k), job(xmls[k[:2]], k[2])) for k in keys], rounds)
    return {
        k: {
            "lat": [r[0] for r in runs[repr(k)]],
            "fps": [r[1] for r in runs[repr(k)]],
            "hint": runs[repr(k)][0][2],
        }
        for k in keys
    }


def int8_isa() -> str:
    """VNNI / AMX flags from /proc/cpuinfo: what decides how much INT8 can gain."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return "unknown"
    found = [f for f in ("avx512_vnni", "avx_vnni", "amx_int8") if f in flags]
    return ", ".join(found) if found else "none (no AVX-512 VNNI, AVX-VNNI or AMX)"


def build_parser():
    parser = harness.parser(__doc__)
    parser.add_argument("--runs", type=int, default=3, help="whole `lcnet-ov quantize` processes")
    parser.add_argument("--seconds", type=float, default=3.0, help="per speed measurement")
    parser.add_argument("--passes", type=int, default=3, help="interleaved speed rounds")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    run = harness.start(args, __name__, argv)
    if run.smoke:
        args.runs, args.seconds, args.passes = 1, 0.2, 1
    subset = calibration_subset()
    text_xml = text_model_ir()
    data, what = calibration_data(run.smoke)
    walls, inner = time_cli(text_xml, data, args.runs)
    decode = decode_seconds(text_xml, data)
    out = work() / "quantize-time" / "int8"
    models = {"text orientation (4 classes)": (text_xml, int8_of(text_xml, data, out / "text.xml"))}
    if not run.smoke:  # --smoke: the real model only (the seeded one needs a Paddle export)
        seeded_xml = seeded_ir()
        seeded8 = int8_of(seeded_xml, data, out / "seeded.xml")
        models["PP-LCNet_x1_0, seeded (1000 classes)"] = (seeded_xml, seeded8)
    results = speed(models, args.seconds, args.passes)

    verdict = "meets" if statistics.median(walls) <= 30 else "MISSES"
    rows = [
        "| run | wall s (whole process) | inside `quantize()` s |",
        "|---|---|---|",
        *(
            f"| {i + 1} | {w:.1f} | {s:.1f} |"
            for i, (w, s) in enumerate(zip(walls, inner, strict=True))
        ),
    ]
    speed_rows = [
        "| model | precision | runs in | latency ms (bs 1, sync) | throughput img/s (async) |",
        "|---|---|---|---|---|",
    ]
    for name in models:
        for hint in HINTS:
            for precision in ("FP32", "INT8"):
                r = results[(name, precision, hint)]
                speed_rows.append(
                    f"| {name} | {precision} | {r['hint']} | {spread(r['lat'])} | "
                    f"{spread(r['fps'], '.0f')} |"
                )
            f32, i8 = results[(name, "FP32", hint)], results[(name, "INT8", hint)]
            # ratios per pass (the two ran in the same pass), then their median and range
            lat_ratio = [a / b for a, b in zip(f32["lat"], i8["lat"], strict=True)]
            fps_ratio = [b / a for a, b in zip(f32["fps"], i8["fps"], strict=True)]
            speed_rows.append(
                f"| {name} | **INT8 ÷ FP32, both {f32['hint']}** | | "
                f"{spread(lat_ratio)}× faster | {spread(fps_ratio)}× |"
            )
    body = f"""
## INT8 quantization: time and speed-up

`lcnet-ov quantize` on the real text-orientation PP-LCNet_x1_0 with {subset} calibration
images ({what}), default settings (see [quantization.md](quantization.md)), each run a fresh
process. Median wall time **{statistics.median(walls):.1f} s**, which {verdict} the 30 s bar
on {os.cpu_count()} cores. Decoding and cropping the {subset} images takes {decode:.1f} s of
it (file cache warm); NNCF's statistics collection with an instrumented model and fast bias
correction take most of the rest.

{chr(10).join(rows)}

FP32 vs INT8, batch 1: each cell is the median over {args.passes} interleaved passes of
{args.seconds:g} s, with the range over passes in brackets; a ratio is the median (range) of the
passes' own ratios. Both precisions are measured at the same inference precision, `f32` (what
`Classifier` and `evaluate` use) and `bf16` (OpenVINO's default on this CPU: the layers NNCF
left in float run in bf16), and only compared within one. A ratio whose range includes 1.0 is
not a difference. INT8 dot-product instructions on this CPU: {int8_isa()}; without VNNI/AMX
an INT8 convolution saves memory traffic more than arithmetic, so gains are smaller than on
CPUs that have them.

{chr(10).join(speed_rows)}
"""
    run.emit("benchmarks.md", "quantize", body)


if __name__ == "__main__":
    main()
