"""Latency of the networks themselves: PP-LCNet's scales and the MobileNets on every backend, and
how much of the CPU's peak they use. One set of interleaved rounds, three sections.

Every network (the eight PP-LCNet scales, MobileNetV1/V2/V3-small from ``paddle.vision.models``;
seeded random weights: latency does not depend on them) runs through ``lcnet_ov.bench`` in a
synchronous loop on all available cores, batch 1 and 8: OpenVINO FP32 and INT8 (quantized with
the SDK's defaults, ``lcnet_ov.export.quantization.quantize``), ONNX Runtime and Paddle Inference
(oneDNN), all FP32 at ``INFERENCE_PRECISION_HINT=f32``. A GEMM (``benchmarks/_peak.py``) runs in
the same rounds. From that one measurement:

* ``bench-scales``: every scale on every backend, batch 1 latency and batch 8 images/s;
* ``bench-seed``: the PP-LCNet paper's CPU comparison (PPLCNet_x1_0 against the MobileNets at
  batch 1), reproduced on this CPU next to the published figures (Xeon Gold 6148, Paddle +
  MKLDNN, 10 threads);
* ``bench-peak``: achieved FLOP/s against the measured FP32 and INT8 peaks.

(These were three scripts, ``scales_backends``, ``seed_comparison`` and ``peak_flops``, timing
the same networks the same way.)

    python -m benchmarks.networks [--seconds 3] [--rounds 3] [--write | --smoke]

``--write`` also saves docs/bench_scales.png, bench_seed.png and bench_peak.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

from benchmarks import _peak, harness
from benchmarks._models import fp32_ir, int8, mobilenet, pplcnet, published, scale_tag
from benchmarks.harness import Combined, md_table, ms, ratio_spread

MOBILENETS = ("MobileNetV1_x1_0", "MobileNetV2_x1_0", "MobileNetV3_small_x1_25")
SEED_BASE = "PPLCNet_x1_0"
SERIES = (  # (backend, precision, legend)
    ("paddle", "fp32", "Paddle Inference (oneDNN) FP32"),
    ("onnxruntime", "fp32", "ONNX Runtime FP32"),
    ("openvino", "fp32", "OpenVINO FP32"),
    ("openvino", "int8", "OpenVINO INT8"),
)

Data = dict[tuple, Combined]


def networks(smoke: bool) -> list[tuple[str, Path, float]]:
    """(name, Paddle folder, multiply-adds) of every network measured."""
    from lcnet_ov.export.arch import SCALES, complexity

    scales = (0.25,) if smoke else SCALES
    out = [(f"PPLCNet_{scale_tag(s)}", pplcnet(s), float(complexity(s).macs)) for s in scales]
    for name in MOBILENETS[-1:] if smoke else MOBILENETS:
        out.append((name, mobilenet(name), published()[name][1] * 1e6))
    return out


def measure(nets, seconds: float, rounds: int, sizes: tuple[int, ...]) -> tuple[Data, dict]:
    """Every network × backend × precision × batch, and the GEMMs, in ``rounds`` interleaved
    rounds of ``seconds / rounds`` each; numpy's GEMM before and after (its best)."""
    from lcnet_ov import bench

    cores = bench.available_cores()
    per_round = seconds / rounds
    jobs = [("OpenVINO GEMM", _peak.openvino_gemm_job(per_round, sizes))]
    for name, folder, _ in nets:
        fp32_ir(folder)
        int8(folder)

        def job(folder=folder, name=name) -> dict:
            result = bench.run(
                folder,
                precision=["fp32", "int8"],
                backend=["openvino", "onnxruntime", "paddle"],
                batch_size=[1, 8],
                threads=cores,
                mode="sync",
                time_s=per_round,
            )
            for skip in result.skipped:
                if skip.precision == "fp32":
                    print(f"{name}: skipped {skip.backend}: {skip.reason}", file=sys.stderr)
            return {
                (name, m.config.backend, m.config.precision, m.config.batch_size): m
                for m in result.results
            }

        jobs.append((name, job))
    before = _peak.numpy_gemm(per_round, sizes)
    data = harness.passes_over(jobs, rounds)
    after = _peak.numpy_gemm(per_round, sizes)
    return data, {n: max(before[n], after[n]) for n in sizes}


def _plot():
    from lcnet_ov._deps import require

    require("matplotlib", extra="bench")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def scales_section(data: Data, names: list[str], plot_path: Path | None) -> str:
    from lcnet_ov import zoo
    from lcnet_ov.export.arch import complexity

    keys = [(b, p) for b, p, _ in SERIES]
    scales = [n for n in names if n.startswith("PPLCNet_")]
    rows_b1, rows_b8 = [], []
    for name in scales:
        b1 = {k: data[(name, *k, 1)] for k in keys}
        b8 = {k: data[(name, *k, 8)] for k in keys}
        ov32, ov8, pd = b1[("openvino", "fp32")], b1[("openvino", "int8")], b1[("paddle", "fp32")]
        spec = zoo.get_spec(name)
        rows_b1.append(
            [
                name.removeprefix("PPLCNet_"),
                f"{complexity(spec.scale).flops / 1e6:.0f}",
                ms(spec.paper.latency_ms),
                *(b1[k].latency_cell() for k in keys),
                ratio_spread(pd.pass_medians, ov32.pass_medians),
                ratio_spread(ov32.pass_medians, ov8.pass_medians),
            ]
        )
        rows_b8.append([name.removeprefix("PPLCNet_"), *(b8[k].fps_cell() for k in keys)])
    if plot_path is not None:
        plt = _plot()
        x = range(len(scales))
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
        for backend, precision, legend in SERIES:
            ax1.plot(x, [data[(s, backend, precision, 1)].min_ms for s in scales], marker="o",
                     label=legend)  # fmt: skip
            ax2.plot(x, [data[(s, backend, precision, 8)].best_fps for s in scales], marker="o",
                     label=legend)  # fmt: skip
        paper = [zoo.get_spec(s).paper.latency_ms for s in scales]
        ax1.plot(x, paper, "k--", lw=1, label="paper: Xeon Gold 6148, 10 threads")
        ax1.set_ylabel("batch 1 latency, ms (fastest iteration)")
        ax2.set_ylabel("batch 8 images/s (8 / fastest iteration)")
        for ax in (ax1, ax2):
            ax.set_xticks(list(x), [s.removeprefix("PPLCNet_") for s in scales], fontsize=8)
            ax.grid(alpha=0.3)
        ax1.legend(fontsize=7)
        fig.suptitle("PP-LCNet scales on this CPU (sync loop, all cores)", fontsize=10)
        fig.tight_layout()
        fig.savefig(plot_path, dpi=90)
        plt.close(fig)
    names_ = [legend.removesuffix(" FP32") for _, _, legend in SERIES]
    return "\n".join(
        [
            "Every backend in a synchronous loop with all available cores, OpenVINO FP32 and "
            "INT8 both at `INFERENCE_PRECISION_HINT=f32`. Latency cells are the median over "
            "rounds of each round's median latency in ms, with the range over rounds in "
            "brackets; throughput cells the same for loop images/s. Speedups are the median "
            "(range) of the rounds' own ratios (both sides measured in the same round); a range "
            "that includes 1.0 is no difference. The plot shows the fastest iteration of each "
            "configuration (closest to an idle machine).",
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
                    *(f"{n} ms" for n in names_),
                    "Paddle ÷ OpenVINO FP32",
                    "OpenVINO FP32 ÷ INT8",
                ],
                rows_b1,
            ),
            "",
            "Batch 8, images/s:",
            "",
            md_table(["scale", *names_], rows_b8),
        ]
    )


def seed_section(data: Data, names: list[str], plot_path: Path | None) -> str:
    """The paper's table: PP-LCNet against the MobileNets at batch 1, FP32, every backend."""
    base_name = SEED_BASE if SEED_BASE in names else names[0]  # --smoke measures x0_25 only
    models = [base_name, *(n for n in names if n in MOBILENETS)]
    backends = [(b, legend) for b, p, legend in SERIES if p == "fp32"]
    figures = published()
    paper_base = figures[base_name][3]
    rows = []
    for name in models:
        params, flops, top1, paper_ms = figures[name]
        row = [name, f"{params}", f"{flops}", f"{top1}", f"{ms(paper_ms)} "
               f"({paper_ms / paper_base:.2f}×)"]  # fmt: skip
        for backend, _ in backends:
            c, base = (
                data.get((name, backend, "fp32", 1)),
                data.get((base_name, backend, "fp32", 1)),
            )
            if c is None or base is None:
                row.append("-")
            elif name == base_name:
                row.append(f"{c.latency_cell()}; 1.00×")
            else:
                row.append(f"{c.latency_cell()}; {ratio_spread(c.pass_medians, base.pass_medians)}")
        rows.append(row)
    if plot_path is not None:
        plt = _plot()
        series = [("paper", "paper (Xeon Gold 6148, Paddle+MKLDNN)"), *backends]
        width = 0.8 / len(series)
        fig, ax = plt.subplots(figsize=(9, 3.4))
        for i, (key, legend) in enumerate(series):
            values = [
                figures[m][3] if key == "paper" else data[(m, key, "fp32", 1)].min_ms
                for m in models
            ]
            offsets = [j + (i - (len(series) - 1) / 2) * width for j in range(len(models))]
            ax.bar(offsets, values, width, label=legend, color="0.6" if key == "paper" else None)
        ax.set_xticks(range(len(models)), models, fontsize=8)
        ax.set_ylabel("batch 1 latency, ms\n(here: fastest iteration)")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7)
        fig.suptitle("PP-LCNet x1.0 vs MobileNets, batch 1", fontsize=10)
        fig.tight_layout()
        fig.savefig(plot_path, dpi=90)
        plt.close(fig)
    return "\n".join(
        [
            "Batch-1 latency in ms: the median over rounds of each round's median, with the "
            "range over rounds in brackets; after the semicolon, the latency relative to "
            f"{base_name}'s on the same runtime (median and range of the rounds' ratios). All "
            "available cores, synchronous loop. Params, FLOPs (multiply-adds), top-1 and the "
            "paper's latency are the published figures (PaddleClas "
            "`docs/en/models/PP-LCNet_en.md`).",
            "",
            "![PP-LCNet vs MobileNets](bench_seed.png)",
            "",
            md_table(
                [
                    "model",
                    "params M",
                    "MFLOPs",
                    "top-1 %",
                    "paper ms (Xeon 6148)",
                    *(
                        f"{legend.removesuffix(' FP32')} FP32 ms"
                        if "OpenVINO" in legend
                        else f"{legend.removesuffix(' FP32')} ms"
                        for _, legend in backends
                    ),
                ],
                rows,
            ),
            "",
            "The MobileNets are `paddle.vision.models` builds (random weights), which follow the "
            "papers; PaddleClas' own MobileNetV3 differs slightly in its head.",
        ]
    )


def build_parser():
    parser = harness.parser(__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="per configuration, in all")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run = harness.start(args, __name__, argv)
    if run.smoke:
        args.seconds, args.rounds = 0.1, 1
    sizes = _peak.matmul_sizes(run.smoke)
    nets = networks(run.smoke)
    kernel = {n: _peak.gemm_kernel(_peak.matmul_ir(n, "int8")) for n in sizes}
    data, blas = measure(nets, args.seconds, args.rounds, sizes)
    names = [name for name, _, _ in nets]

    def png(name: str) -> Path | None:
        return args.docs / name if args.write else None

    lead = f"{args.seconds:g} s per configuration in {args.rounds} interleaved rounds. "
    scales = scales_section(data, names, png("bench_scales.png"))
    run.emit("benchmarks.md", "bench-scales", lead + scales)
    run.emit("benchmarks.md", "bench-seed", lead + seed_section(data, names, png("bench_seed.png")))
    peak_data = {
        (key[0], key[2], key[3]) if key[0] != "gemm" else key: c
        for key, c in data.items()
        if key[0] == "gemm" or key[1] == "openvino"
    }
    body = _peak.peak_section(
        peak_data,
        [(name, macs) for name, _, macs in nets],
        blas,
        kernel,
        sizes,
        args.rounds,
        png("bench_peak.png"),
    )
    run.emit("benchmarks.md", "bench-peak", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
