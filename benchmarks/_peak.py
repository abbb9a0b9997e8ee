"""The peak half of ``benchmarks.networks``: how much of this CPU's FP32 and INT8 compute the
networks actually use.

The peaks are measured, not looked up. FP32: a large matrix multiplication run by OpenVINO (an
IR holding one MatMul, timed by ``lcnet_ov.bench`` like any model, in the same interleaved rounds
as the networks) and by numpy's BLAS, best of the two. INT8: the same MatMul IR quantized by
NNCF (8-bit activations and weights, as in the networks' INT8 IRs), which OpenVINO runs on the
CPU's integer dot-product units (VNNI, or AMX tiles where present): the integer limit the INT8
networks are compared with.

Each network's achieved FLOP/s is 2 × multiply-adds × batch / latency at batch 1 and 8, from the
*minimum* latency of a synchronous loop on all cores: on a shared machine the median carries
other jobs' load, while the fastest iteration is what the hardware can do, for the GEMM and the
networks alike. Multiply-adds of PP-LCNet come from ``lcnet_ov.export.arch.complexity``; of the
MobileNets, from their published FLOPs (which count multiply-adds, the PaddleClas convention).
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.harness import md_table, ms, spread, work


def matmul_sizes(smoke: bool) -> tuple[int, ...]:
    return (256,) if smoke else (1024, 2048)


def matmul_ir(n: int, precision: str = "fp32") -> Path:
    """An IR computing ``x[1, n, n] @ W[n, n]``: pure GEMM, nothing else to wait on.

    ``precision="int8"``: the same IR quantized by NNCF on three random inputs, so the MatMul
    runs as u8 × i8 with i32 accumulation, the way the INT8 networks' convolutions do.
    """
    import openvino as ov
    import openvino.opset13 as ops

    xml = work() / "matmul" / f"n{n}-{precision}" / "model.xml"
    if not xml.is_file():
        rng = np.random.default_rng(0)
        x = ops.parameter([1, n, n], ov.Type.f32, name="x")
        w = ops.constant(rng.standard_normal((n, n)).astype(np.float32))
        model = ov.Model([ops.matmul(x, w, False, False)], [x], f"matmul{n}")
        if precision == "int8":
            import nncf

            data = [rng.standard_normal((1, n, n)).astype(np.float32) for _ in range(3)]
            model = nncf.quantize(model, nncf.Dataset(data), subset_size=len(data))
        xml.parent.mkdir(parents=True, exist_ok=True)
        ov.save_model(model, str(xml), compress_to_fp16=False)
    return xml


def gemm_kernel(xml: Path) -> str:
    """The kernel OpenVINO's CPU plugin picked for the GEMM (``brgemm_avx512_amx_I8``, ...):
    which unit the integer limit was measured on."""
    from lcnet_ov.runtime.core import shared_core

    compiled = shared_core().compile_model(str(xml), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    for op in compiled.get_runtime_model().get_ordered_ops():
        info = op.get_rt_info()
        if str(info["layerType"].astype(str)) in ("FullyConnected", "MatMul"):
            kernel = info["primitiveType"].astype(str)
            precision = info["runtimePrecision"].astype(str)
            return f"{kernel} ({precision})"
    return "unknown"


def openvino_gemm_job(seconds: float, sizes: tuple[int, ...]) -> Callable[[], dict]:
    """A round job timing each OpenVINO GEMM IR with one request on all cores."""

    def job() -> dict:
        from lcnet_ov import bench

        out = {}
        for n in sizes:
            for precision in ("fp32", "int8"):
                xml = matmul_ir(n, precision)
                (m,) = bench.run(xml, mode="sync", time_s=seconds).results
                out[("gemm", precision, n)] = m
        return out

    return job


def numpy_gemm(seconds: float, sizes: tuple[int, ...]) -> dict[int, float]:
    """GFLOP/s of numpy's BLAS sgemm, best repetition (what the library can reach at all)."""
    out = {}
    rng = np.random.default_rng(0)
    for n in sizes:
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


def _clock_ghz() -> float | None:
    path = Path("/proc/cpuinfo")
    text = path.read_text(errors="replace") if path.exists() else ""
    mhz = re.search(r"cpu MHz\s*:\s*([\d.]+)", text)
    return float(mhz.group(1)) / 1e3 if mhz else None


def nominal_peak() -> tuple[float | None, str]:
    """cores × 2 FMA units × lanes × 2 × clock: a spec-sheet bound, for context only."""
    from lcnet_ov.bench import machine_info

    info, ghz = machine_info(), _clock_ghz()
    if ghz is None:
        return None, "clock unknown"
    lanes = 16 if "AVX512F" in info.isa else 8 if "AVX2" in info.isa else 4
    peak = info.available_cores * 2 * lanes * 2 * ghz
    return peak, (
        f"{info.available_cores} cores × 2 FMA units × {lanes} fp32 lanes × 2 × "
        f"{ghz:.2f} GHz (reported clock; turbo and FMA-unit count vary)"
    )


def nominal_int8_peaks() -> list[str]:
    """Spec-sheet integer bounds: VNNI (``vpdpbusd``: 4 u8×i8 products per 32-bit lane, on
    each FMA unit) and, where present, AMX (1024 int8 multiply-adds per cycle per core)."""
    from lcnet_ov.bench import machine_info

    info, ghz = machine_info(), _clock_ghz()
    if ghz is None:
        return []
    cores, out = info.available_cores, []
    if "AVX512-VNNI" in info.isa or "AVX-VNNI" in info.isa:
        lanes = 16 if "AVX512-VNNI" in info.isa else 8
        vnni = cores * 2 * lanes * 4 * 2 * ghz
        out.append(
            f"VNNI {vnni:.0f} GOP/s = {cores} cores × 2 units × {lanes} lanes × 4 int8 "
            f"products × 2 × {ghz:.2f} GHz"
        )
    if "AMX-INT8" in info.isa:
        amx = cores * 1024 * 2 * ghz
        out.append(
            f"AMX {amx:.0f} GOP/s = {cores} cores × 1024 int8 multiply-adds × 2 × {ghz:.2f} GHz"
        )
    return out


def plot(rows: list[tuple[str, float, float, float, float]], path: Path) -> None:
    """Share of the measured limit per network: FP32 of the FP32 peak, INT8 of the INT8 one."""
    from lcnet_ov._deps import require

    require("matplotlib", extra="bench")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r[0] for r in rows]
    y = np.arange(len(rows))
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.9 + 0.3 * len(rows)), sharey=True)
    for ax, offset, title in (
        (axes[0], 1, "FP32, % of FP32 peak"),
        (axes[1], 3, "INT8, % of INT8 peak"),
    ):
        ax.barh(y - 0.2, [r[offset] for r in rows], 0.4, label="batch 1")
        ax.barh(y + 0.2, [r[offset + 1] for r in rows], 0.4, label="batch 8")
        ax.set_title(title, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, names, fontsize=8)
    axes[0].invert_yaxis()
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def scatter_line(data: dict, peak8: float, sizes: tuple[int, ...]) -> str:
    """A warning when the INT8 GEMM's fastest iteration lies far above its typical one: the
    shares of the INT8 limit are then lower bounds whose level moves from run to run."""
    typical = max(
        statistics.median(gflops(n**3, 1, t) for t in data[("gemm", "int8", n)].pass_medians)
        for n in sizes
    )
    if peak8 < 1.5 * typical:
        return ""
    return (
        f" The INT8 GEMM's fastest iteration ran {peak8 / typical:.1f}× faster than its rounds' "
        f"median ({typical:.0f} GOP/s): on this shared 2-core machine the integer limit "
        "scatters far more than the FP32 one, so the INT8 shares below are lower bounds whose "
        "level moves between runs; their order across networks is what to read."
    )


def gflops(macs: float, batch: int, min_ms: float) -> float:
    """2 × multiply-adds × batch / fastest iteration, in G(FL)OP/s."""
    return 2 * macs * batch / (min_ms / 1e3) / 1e9


def peak_section(
    data: dict,
    nets: list[tuple[str, float]],
    blas: dict[int, float],
    kernel: dict[int, str],
    sizes: tuple[int, ...],
    rounds: int,
    plot_path: Path | None,
) -> str:
    """The ``bench-peak`` section. ``data``: ``{(network, precision, batch) | ("gemm",
    precision, n): Combined}`` of OpenVINO, measured in the same rounds; ``nets``: (network,
    multiply-adds); ``blas``: numpy's best GFLOP/s per size, measured before and after."""
    gemm = {f"numpy sgemm {n}³": blas[n] for n in sizes}
    gemm8 = {}
    for n in sizes:
        gemm[f"OpenVINO MatMul {n}³"] = gflops(n**3, 1, data[("gemm", "fp32", n)].min_ms)
        gemm8[f"OpenVINO INT8 MatMul {n}³, {kernel[n]}"] = gflops(
            n**3, 1, data[("gemm", "int8", n)].min_ms
        )
    peak_name, peak = max(gemm.items(), key=lambda kv: kv[1])
    peak8_name, peak8 = max(gemm8.items(), key=lambda kv: kv[1])
    nominal, nominal_how = nominal_peak()
    print(f"peak: {peak:.1f} GFLOP/s ({peak_name}); INT8 {peak8:.0f} GOP/s", file=sys.stderr)
    rows, rows8, shares, slower = [], [], [], []
    for name, macs in nets:
        m = {(p, b): data[(name, p, b)] for p in ("fp32", "int8") for b in (1, 8)}
        g = {key: gflops(macs, key[1], c.min_ms) for key, c in m.items()}
        share = [100 * g[("fp32", b)] / peak for b in (1, 8)]
        share8 = [100 * g[("int8", b)] / peak8 for b in (1, 8)]
        speedup = [m[("fp32", b)].min_ms / m[("int8", b)].min_ms for b in (1, 8)]
        shares.append((name, *share, *share8))
        if min(speedup) < 1:
            slower.append(name)
        rows.append(
            [name, f"{macs / 1e6:.0f}"]
            + [
                cell
                for b, sh in zip((1, 8), share, strict=True)
                for cell in (
                    f"{ms(m[('fp32', b)].min_ms)}; {m[('fp32', b)].latency_cell()}",
                    f"{g[('fp32', b)]:.1f}",
                    f"{sh:.1f}%",
                )
            ]
        )
        rows8.append(
            [name]
            + [
                cell
                for b, sh, up in zip((1, 8), share8, speedup, strict=True)
                for cell in (
                    f"{ms(m[('int8', b)].min_ms)}; {m[('int8', b)].latency_cell()}",
                    f"{g[('int8', b)]:.0f}",
                    f"{sh:.1f}%",
                    f"{up:.2f}×",
                )
            ]
        )
    if plot_path is not None:
        plot(shares, plot_path)
    # the OpenVINO GEMMs' rate at each round's median latency: how much the best case scattered
    at_median = {
        f"OpenVINO {'INT8 ' if p == 'int8' else ''}MatMul {n}³"
        + (f", {kernel[n]}" if p == "int8" else ""): spread(
            [gflops(n**3, 1, t) for t in data[("gemm", p, n)].pass_medians], ".0f"
        )
        for n in sizes
        for p in ("fp32", "int8")
    }
    gemm_rows = [
        [k, f"{v:.1f}", at_median.get(k, "–")]
        for k, v in sorted(gemm.items(), key=lambda kv: -kv[1])
    ]
    gemm8_rows = [
        [k, f"{v:.0f}", at_median[k]] for k, v in sorted(gemm8.items(), key=lambda kv: -kv[1])
    ]
    nominal_line = (
        f"Nominal peak for comparison: {nominal:.0f} GFLOP/s = {nominal_how}." if nominal else ""
    )
    nominal8 = nominal_int8_peaks()
    nominal8_line = (
        f"Nominal integer limits for comparison: {'; '.join(nominal8)} (reported clock)."
        if nominal8
        else "This CPU has no integer dot-product instructions (VNNI or AMX)."
    )
    # (share, model, batch) of every INT8 run: the range the closing sentence states
    int8_shares = [(r[3 + i], r[0], b) for r in shares for i, b in enumerate((1, 8))]
    low, high = min(int8_shares), max(int8_shares)
    body = "\n".join(
        [
            f"Measured peak FP32: **{peak:.1f} GFLOP/s** ({peak_name}, fastest iteration over "
            f"{rounds} rounds interleaved with the networks). "
            f"{nominal_line}",
            "",
            md_table(["GEMM", "GFLOP/s", "at the rounds' median latency"], gemm_rows),
            "",
            f"Measured INT8 limit: **{peak8:.0f} GOP/s** ({peak8_name}: the FP32 MatMul IR "
            "quantized by NNCF, u8 × i8 with i32 accumulation, same rounds). "
            f"{nominal8_line}{scatter_line(data, peak8, sizes)}",
            "",
            md_table(
                ["INT8 GEMM (kernel, runtime precision)", "GOP/s", "at the rounds' median latency"],
                gemm8_rows,
            ),
            "",
            "![share of peak](bench_peak.png)",
            "",
            "OpenVINO FP32 (f32 inference precision, all cores, sync); latency in ms as the "
            "fastest iteration, then the median over rounds of each round's median with the range "
            "over rounds in brackets; achieved GFLOP/s = 2 × multiply-adds × batch / fastest "
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
            "OpenVINO INT8 (each network quantized with the SDK's defaults: preset `mixed`, 300 "
            "calibration images; f32 inference precision for the layers NNCF left in float), "
            "same rounds and cells; achieved GOP/s counts the network's multiply-adds as if all "
            "ran in int8, and the share is of the measured INT8 limit above. INT8 ÷ FP32 is the "
            "ratio of fastest iterations:",
            "",
            md_table(
                [
                    "model",
                    "b1 ms",
                    "b1 GOP/s",
                    "b1 % of INT8 limit",
                    "b1 INT8 ÷ FP32",
                    "b8 ms",
                    "b8 GOP/s",
                    "b8 % of INT8 limit",
                    "b8 INT8 ÷ FP32",
                ],
                rows8,
            ),
            "",
            "Networks dominated by wide 1×1 convolutions (MobileNetV1, the larger PP-LCNets) come "
            "closest to the GEMM peak; depthwise convolutions, SE blocks and the small tensors of "
            "the narrow scales are memory- and latency-bound and use less of it, so FLOPs alone "
            "do not predict latency. In INT8 the gap to the limit is far wider: the integer "
            "units make the 1×1 convolutions so cheap that what stays in float or moves data "
            "(depthwise convolutions, SE blocks, quantize/dequantize and reorders; see "
            "[int8_profile.md](int8_profile.md)) sets the latency, so the networks reach "
            f"between {low[0]:.1f}% ({low[1]}, b{low[2]}) and {high[0]:.1f}% ({high[1]}, "
            f"b{high[2]}) of the INT8 limit."
            + (
                f" INT8 is slower than FP32 at one batch size or both for {', '.join(slower)}: "
                "for these narrow networks FP32 is the faster choice on this CPU (where their "
                "INT8 time goes: the x0_25 sections of [int8_profile.md](int8_profile.md))."
                if slower
                else ""
            ),
        ]
    )
    return body
