"""How much of this CPU's FP32 compute do PP-LCNet and the MobileNets actually use?

The peak is measured, not looked up: a large FP32 matrix multiplication run by OpenVINO (an
IR holding one MatMul, timed by ``lcnet_ov.bench`` like any model) and by numpy's BLAS, best
of the two. Each network's achieved FLOP/s is 2 × multiply-adds × batch / latency at batch 1 and
8. Everything uses the *minimum* latency of a synchronous loop on all cores: on a shared
machine the median carries other jobs' load, while the fastest iteration is what the hardware
can do, for the GEMM and the networks alike. Multiply-adds of PP-LCNet come from
``lcnet_ov.arch.complexity``; of the MobileNets, from their published FLOPs (which count
multiply-adds, the PaddleClas convention).

    python benchmarks/peak_flops.py [--seconds 3] [--passes 3]

Writes the ``bench-peak`` section of docs/benchmarks.md and docs/bench_peak.png.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _bench_common import (
    DOCS,
    PUBLISHED,
    WORK,
    fp32_ir,
    machine_line,
    md_table,
    mobilenet,
    ms,
    passes_over,
    pplcnet,
    scale_tag,
    write_section,
)

MATMUL_SIZES = (1024, 2048)


def matmul_ir(n: int) -> Path:
    """An IR computing ``x[1, n, n] @ W[n, n]`` in f32: pure GEMM, nothing else to wait on."""
    import openvino as ov
    import openvino.opset13 as ops

    xml = WORK / "matmul" / f"n{n}" / "model.xml"
    if not xml.is_file():
        rng = np.random.default_rng(0)
        x = ops.parameter([1, n, n], ov.Type.f32, name="x")
        w = ops.constant(rng.standard_normal((n, n)).astype(np.float32))
        model = ov.Model([ops.matmul(x, w, False, False)], [x], f"matmul{n}")
        xml.parent.mkdir(parents=True, exist_ok=True)
        ov.save_model(model, str(xml), compress_to_fp16=False)
    return xml


def openvino_gemm_job(seconds: float) -> Callable[[], dict]:
    """A pass job timing each OpenVINO GEMM IR with one request on all cores."""

    def job() -> dict:
        from lcnet_ov import bench

        out = {}
        for n in MATMUL_SIZES:
            (m,) = bench.run(matmul_ir(n), mode="sync", time_s=seconds).results
            out[("gemm", n)] = m
        return out

    return job


def numpy_gemm(seconds: float) -> dict[int, float]:
    """GFLOP/s of numpy's BLAS sgemm, best repetition (what the library can reach at all)."""
    out = {}
    rng = np.random.default_rng(0)
    for n in MATMUL_SIZES:
        a = rng.standard_normal((n, n)).astype(np.float32)
        b = rng.standard_normal((n, n)).astype(np.float32)
        a @ b  # warm-up: thread pool, page faults
        best, start = float("inf"), time.perf_counter()
        while time.perf_counter() - start < seconds:
            t0 = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - t0)
        out[n] = 2.0 * n**3 / best / 1e9
    return out


def nominal_peak() -> tuple[float | None, str]:
    """cores × 2 FMA units × lanes × 2 × clock: a spec-sheet bound, for context only."""
    from lcnet_ov.bench import machine_info

    info = machine_info()
    text = (
        Path("/proc/cpuinfo").read_text(errors="replace") if Path("/proc/cpuinfo").exists() else ""
    )
    mhz = re.search(r"cpu MHz\s*:\s*([\d.]+)", text)
    if not mhz:
        return None, "clock unknown"
    lanes = 16 if "AVX512F" in info.isa else 8 if "AVX2" in info.isa else 4
    ghz = float(mhz.group(1)) / 1e3
    peak = info.available_cores * 2 * lanes * 2 * ghz
    return peak, (
        f"{info.available_cores} cores × 2 FMA units × {lanes} fp32 lanes × 2 × "
        f"{ghz:.2f} GHz (reported clock; turbo and FMA-unit count vary)"
    )


def models() -> list[tuple[str, Path, float]]:
    """(name, FP32 IR, multiply-adds) of every network compared."""
    from lcnet_ov.arch import SCALES, complexity

    out = [
        (f"PPLCNet_{scale_tag(s)}", fp32_ir(pplcnet(s)), float(complexity(s).macs)) for s in SCALES
    ]
    for name in ("MobileNetV1_x1_0", "MobileNetV2_x1_0", "MobileNetV3_small_x1_25"):
        out.append((name, fp32_ir(mobilenet(name)), PUBLISHED[name][1] * 1e6))
    return out


def plot(rows: list[tuple[str, float, float]], path: Path) -> None:
    from lcnet_ov._deps import require

    require("matplotlib", extra="bench")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r[0] for r in rows]
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.3 * len(rows)))
    ax.barh(y - 0.2, [r[1] for r in rows], 0.4, label="batch 1")
    ax.barh(y + 0.2, [r[2] for r in rows], 0.4, label="batch 8")
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("% of measured peak FP32 FLOP/s")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per configuration")
    parser.add_argument("--passes", type=int, default=3, help="interleaved passes")
    args = parser.parse_args()
    from lcnet_ov import bench

    nets = models()

    per_pass = args.seconds / args.passes
    jobs = [("OpenVINO GEMM", openvino_gemm_job(per_pass))]
    for name, xml, _ in nets:
        jobs.append(
            (
                name,
                lambda xml=xml, name=name: {
                    (name, m.config.batch_size): m
                    for m in bench.run(xml, mode="sync", batch_size=[1, 8], time_s=per_pass).results
                },
            )
        )
    blas_before = numpy_gemm(per_pass)
    data = passes_over(jobs, args.passes)
    blas_after = numpy_gemm(per_pass)
    # the GEMMs ran in every pass, like the networks, so the peak saw the same load
    gemm = {f"numpy sgemm {n}³": max(blas_before[n], blas_after[n]) for n in MATMUL_SIZES}
    for n in MATMUL_SIZES:
        gemm[f"OpenVINO MatMul {n}³"] = 2.0 * n**3 / (data[("gemm", n)].min_ms / 1e3) / 1e9
    peak_name, peak = max(gemm.items(), key=lambda kv: kv[1])
    nominal, nominal_how = nominal_peak()
    print(f"peak: {peak:.1f} GFLOP/s ({peak_name})", file=sys.stderr)
    rows, shares = [], []
    for name, _, macs in nets:
        b1, b8 = data[(name, 1)], data[(name, 8)]
        g1 = 2 * macs / (b1.min_ms / 1e3) / 1e9
        g8 = 2 * macs * 8 / (b8.min_ms / 1e3) / 1e9
        shares.append((name, 100 * g1 / peak, 100 * g8 / peak))
        rows.append(
            [
                name,
                f"{macs / 1e6:.0f}",
                f"{ms(b1.min_ms)}; {b1.latency_cell()}",
                f"{g1:.1f}",
                f"{100 * g1 / peak:.1f}%",
                f"{ms(b8.min_ms)}; {b8.latency_cell()}",
                f"{g8:.1f}",
                f"{100 * g8 / peak:.1f}%",
            ]
        )
    plot(shares, DOCS / "bench_peak.png")
    gemm_rows = [[k, f"{v:.1f}"] for k, v in sorted(gemm.items(), key=lambda kv: -kv[1])]
    nominal_line = (
        f"Nominal peak for comparison: {nominal:.0f} GFLOP/s = {nominal_how}." if nominal else ""
    )
    body = "\n".join(
        [
            f"Measured peak FP32: **{peak:.1f} GFLOP/s** ({peak_name}, fastest iteration over "
            f"{args.passes} passes interleaved with the networks). "
            f"{nominal_line} "
            "Generated by `python benchmarks/peak_flops.py`.",
            "",
            md_table(["GEMM", "GFLOP/s"], gemm_rows),
            "",
            "![share of peak](bench_peak.png)",
            "",
            "OpenVINO FP32 (f32 inference precision, all cores, sync); latency in ms as the "
            "fastest iteration, then the median over passes of each pass's median with the range "
            "over passes in brackets; achieved GFLOP/s = 2 × multiply-adds × batch / fastest "
            "iteration (a peak is a best case, so it is compared with best cases):",
            "",
            md_table(
                [
                    "model",
                    "M multiply-adds",
                    "b1 ms",
                    "b1 GFLOP/s",
                    "b1 % of peak",
                    "b8 ms",
                    "b8 GFLOP/s",
                    "b8 % of peak",
                ],
                rows,
            ),
            "",
            "Networks dominated by wide 1×1 convolutions (MobileNetV1, the larger PP-LCNets) come "
            "closest to the GEMM peak; depthwise convolutions, SE blocks and the small tensors of "
            "the narrow scales are memory- and latency-bound and use less of it, so FLOPs alone "
            "do not predict latency.",
            "",
            machine_line(),
        ]
    )
    write_section("bench-peak", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
