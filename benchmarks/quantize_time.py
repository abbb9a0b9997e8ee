"""How long INT8 quantization takes, and what INT8 buys over FP32 on this CPU.

* **Quantize time**: ``lcnet-ov quantize`` with 300 calibration images, run as a fresh process
  each time (interpreter start, imports, JPEG decoding, NNCF, saving: what a user waits for).
  Calibration images are ../shared/imagenet-sample photos when present (real JPEGs of mixed
  sizes), else rendered text pages. The bar: ≤ 30 s wall on 2 cores.
* **Speed**: FP32 (at ``INFERENCE_PRECISION_HINT=f32``) vs INT8 (quantized with the defaults),
  batch 1: synchronous latency with the LATENCY hint and asynchronous throughput with the
  THROUGHPUT hint and ``AsyncInferQueue``. Passes are interleaved so load from other jobs on a
  shared machine hits every configuration alike. ``lcnet-ov bench`` measures more thoroughly.

    python benchmarks/quantize_time.py [--runs 3] [--seconds 3] [--passes 3]

Writes the ``quantize`` section of docs/benchmarks.md (and nothing else in that file).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from quantize_study import (
    DOCS,
    IMAGENET_SAMPLE,
    WORK,
    machine_line,
    seeded_ir,
    text_model_ir,
    text_sets,
)

SECTION = "quantize"
SUBSET = 300


def calibration_data() -> tuple[Path, str]:
    if (IMAGENET_SAMPLE / "val_list.txt").is_file():
        return IMAGENET_SAMPLE, "ImageNet-sample JPEGs, 56×68 to 1632×2400 pixels"
    calib, _ = text_sets()
    return calib, "rendered text pages (JPEG)"


def time_cli(xml: Path, data: Path, runs: int) -> tuple[list[float], list[float]]:
    """Wall seconds of whole ``lcnet-ov quantize`` processes, and the library's own timing."""
    walls, inner = [], []
    for i in range(runs):
        out = WORK / "quantize-time" / f"run{i}" / "model.xml"
        cmd = [
            sys.executable,
            "-m",
            "lcnet_ov",
            "quantize",
            "-m",
            str(xml),
            "-d",
            str(data),
            "-n",
            str(SUBSET),
            "-o",
            str(out),
            "--json",
        ]
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
    load_crops(order, read_metadata(xml).preprocess, SUBSET)
    return time.perf_counter() - start


def int8_of(xml: Path, data: Path) -> Path:
    out = WORK / "quantize-time" / "int8" / xml.parent.parent.name / "model.xml"
    if not out.is_file():
        from lcnet_ov.export.quantization import quantize

        quantize(xml, data, output=out, progress=False)
    return out


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


def speed(models: dict[str, Path], seconds: float, passes: int) -> dict[tuple, dict]:
    """``{(model, precision, hint): {"lat": [...], "fps": [...], "hint": actual}}``, one value
    per pass; passes rotate the order so load bursts hit every configuration alike."""
    import openvino as ov

    core = ov.Core()
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    jobs = [
        (name, precision, hint, xml)
        for name, (fp32, int8) in models.items()
        for hint in HINTS
        for precision, xml in (("FP32", fp32), ("INT8", int8))
    ]
    out: dict[tuple, dict] = {}
    for p in range(passes):
        shift = p % len(jobs)
        for name, precision, hint, xml in jobs[shift:] + jobs[:shift]:
            cfg = {"INFERENCE_PRECISION_HINT": hint}
            entry = out.setdefault((name, precision, hint), {"lat": [], "fps": []})
            c = core.compile_model(str(xml), "CPU", {**cfg, "PERFORMANCE_HINT": "LATENCY"})
            entry["hint"] = c.get_property("INFERENCE_PRECISION_HINT").to_string()
            entry["lat"].append(latency_ms(c, x, seconds))
            c = core.compile_model(str(xml), "CPU", {**cfg, "PERFORMANCE_HINT": "THROUGHPUT"})
            entry["fps"].append(throughput(c, x, seconds))
        print(f"speed pass {p + 1}/{passes}", file=sys.stderr)
    return out


def spread(values: list[float], fmt: str = ".2f") -> str:
    """``median (min–max)`` over passes."""
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"


def int8_isa() -> str:
    """VNNI / AMX flags from /proc/cpuinfo: what decides how much INT8 can gain."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return "unknown"
    found = [f for f in ("avx512_vnni", "avx_vnni", "amx_int8") if f in flags]
    return ", ".join(found) if found else "none (no AVX-512 VNNI, AVX-VNNI or AMX)"


def write_section(body: str) -> None:
    """Replace only the text between this script's markers in docs/benchmarks.md."""
    doc = DOCS / "benchmarks.md"
    start, end = f"<!-- {SECTION}:start -->", f"<!-- {SECTION}:end -->"
    text = doc.read_text() if doc.is_file() else "# Benchmarks\n"
    block = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    text_xml, seeded_xml = text_model_ir(), seeded_ir()
    data, what = calibration_data()
    walls, inner = time_cli(text_xml, data, args.runs)
    decode = decode_seconds(text_xml, data)
    models = {
        "text orientation (4 classes)": (text_xml, int8_of(text_xml, data)),
        "PP-LCNet_x1_0, seeded (1000 classes)": (seeded_xml, int8_of(seeded_xml, data)),
    }
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
    load = f"{load_before:.1f} before and {os.getloadavg()[0]:.1f} after"
    body = f"""
## INT8 quantization: time and speed-up

Generated by `python benchmarks/quantize_time.py` on {datetime.date.today().isoformat()}.
Machine: {machine_line()}.

`lcnet-ov quantize` on the real text-orientation PP-LCNet_x1_0 with {SUBSET} calibration
images ({what}), default settings (see [quantization.md](quantization.md)), each run a fresh
process. Median wall time **{statistics.median(walls):.1f} s**, which {verdict} the 30 s bar
on {os.cpu_count()} cores. Decoding and cropping the {SUBSET} images takes {decode:.1f} s of
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
CPUs that have them. Load average (1 min): {load} on {os.cpu_count()} cores.

{chr(10).join(speed_rows)}
"""
    write_section(body)
    print(body)


if __name__ == "__main__":
    main()
