"""All eight PP-LCNet scales: OpenVINO FP32 and INT8 vs ONNX Runtime vs Paddle Inference.

Seeded random weights (latency does not depend on them), batch 1 and 8, every backend with all
available cores and a synchronous loop, so the three runtimes are timed identically. INT8 IRs
come from ``lcnet_ov.export.quantization.quantize`` with the SDK's defaults (what
``lcnet-ov quantize``
ships: 300 ImageNet-sample photos when ../shared/imagenet-sample exists, synthetic JPEGs
otherwise).

    python benchmarks/scales_backends.py [--seconds 3] [--passes 3]

Writes the ``bench-scales`` section of docs/benchmarks.md and docs/bench_scales.png.
"""

from __future__ import annotations

import argparse
import sys

from _bench_common import (
    DOCS,
    Combined,
    fp32_ir,
    int8,
    machine_line,
    md_table,
    ms,
    passes_over,
    pplcnet,
    ratio_spread,
    scale_tag,
    write_section,
)

SERIES = (  # (backend, precision, legend)
    ("paddle", "fp32", "Paddle Inference (oneDNN) FP32"),
    ("onnxruntime", "fp32", "ONNX Runtime FP32"),
    ("openvino", "fp32", "OpenVINO FP32"),
    ("openvino", "int8", "OpenVINO INT8"),
)


def measure(seconds: float, passes: int) -> dict[float, dict[tuple[str, str, int], Combined]]:
    """Every scale's eight configs, ``passes`` times ``seconds / passes`` each, interleaved."""
    from lcnet_ov import bench
    from lcnet_ov.export.arch import SCALES

    cores = bench.available_cores()
    jobs = []
    for scale in SCALES:
        folder = pplcnet(scale)
        fp32_ir(folder)
        int8(folder)

        def job(folder=folder, scale=scale) -> dict:
            result = bench.run(
                folder,
                precision=["fp32", "int8"],
                backend=["openvino", "onnxruntime", "paddle"],
                batch_size=[1, 8],
                threads=cores,
                mode="sync",
                time_s=seconds / passes,
            )
            return {
                (scale, m.config.backend, m.config.precision, m.config.batch_size): m
                for m in result.results
            }

        jobs.append((f"PPLCNet_{scale_tag(scale)}", job))
    out: dict[float, dict[tuple[str, str, int], Combined]] = {}
    for (scale, *key), combined in passes_over(jobs, passes).items():
        out.setdefault(scale, {})[tuple(key)] = combined
    return out


def plot(data: dict, path) -> None:
    from lcnet_ov._deps import require

    require("matplotlib", extra="bench")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scales = sorted(data)
    x = range(len(scales))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    for backend, precision, legend in SERIES:
        lat = [data[s][(backend, precision, 1)].min_ms for s in scales]
        fps = [data[s][(backend, precision, 8)].best_fps for s in scales]
        ax1.plot(x, lat, marker="o", label=legend)
        ax2.plot(x, fps, marker="o", label=legend)
    paper = [_paper_latency(s) for s in scales]
    ax1.plot(x, paper, "k--", lw=1, label="paper: Xeon Gold 6148, 10 threads")
    ax1.set_ylabel("batch 1 latency, ms (fastest iteration)")
    ax2.set_ylabel("batch 8 images/s (8 / fastest iteration)")
    for ax in (ax1, ax2):
        ax.set_xticks(list(x), [scale_tag(s) for s in scales], fontsize=8)
        ax.grid(alpha=0.3)
    ax1.legend(fontsize=7)
    fig.suptitle("PP-LCNet scales on this CPU (sync loop, all cores)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _paper_latency(scale: float) -> float:
    from lcnet_ov import zoo

    return zoo.get_spec(f"PPLCNet_{scale_tag(scale)}").paper.latency_ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per configuration")
    parser.add_argument("--passes", type=int, default=3, help="interleaved passes")
    args = parser.parse_args()
    from lcnet_ov.export.arch import complexity

    data = measure(args.seconds, args.passes)
    keys = [(b, p) for b, p, _ in SERIES]
    rows_b1, rows_b8 = [], []
    for scale in sorted(data):
        d = data[scale]
        b1 = {k: d[(*k, 1)] for k in keys}
        b8 = {k: d[(*k, 8)] for k in keys}
        ov32, ov8, pd = b1[("openvino", "fp32")], b1[("openvino", "int8")], b1[("paddle", "fp32")]
        rows_b1.append(
            [
                scale_tag(scale),
                f"{complexity(scale).flops / 1e6:.0f}",
                ms(_paper_latency(scale)),
                *(b1[k].latency_cell() for k in keys),
                ratio_spread(pd.pass_medians, ov32.pass_medians),
                ratio_spread(ov32.pass_medians, ov8.pass_medians),
            ]
        )
        rows_b8.append([scale_tag(scale), *(b8[k].fps_cell() for k in keys)])
    plot(data, DOCS / "bench_scales.png")
    names = [legend.removesuffix(" FP32") for _, _, legend in SERIES]
    body = "\n".join(
        [
            f"{args.seconds:g} s per configuration in {args.passes} interleaved passes, every "
            "backend in a synchronous loop with all available cores, OpenVINO FP32 and INT8 both "
            "at `INFERENCE_PRECISION_HINT=f32`. Latency cells are the median over passes of each "
            "pass's median latency in ms, with the range over passes in brackets; throughput "
            "cells the same for loop images/s. Speedups are the median (range) of the passes' "
            "own ratios (both sides measured in the same pass); a range that includes 1.0 is no "
            "difference. The plot shows the fastest iteration of each configuration (closest to "
            "an idle machine). Generated by `python benchmarks/scales_backends.py`.",
            "",
            "![PP-LCNet scales](bench_scales.png)",
            "",
            "Batch 1:",
            "",
            md_table(
                [
                    "scale",
                    "MFLOPs",
                    "paper ms (Xeon 6148)",
                    *(f"{n} ms" for n in names),
                    "Paddle ÷ OpenVINO FP32",
                    "OpenVINO FP32 ÷ INT8",
                ],
                rows_b1,
            ),
            "",
            "Batch 8, images/s:",
            "",
            md_table(["scale", *names], rows_b8),
            "",
            machine_line(),
        ]
    )
    write_section("bench-scales", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
