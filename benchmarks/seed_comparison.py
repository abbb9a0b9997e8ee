"""The PP-LCNet paper's CPU comparison, reproduced on this machine.

PPLCNet_x1_0 against MobileNetV1_x1_0, MobileNetV2_x1_0 and MobileNetV3_small_x1_25 at batch 1:
the paper ran Paddle Inference with MKLDNN on a Xeon Gold 6148 (10 threads). Here the same
four networks (random weights; MobileNets from ``paddle.vision.models``) run on Paddle
Inference with oneDNN, ONNX Runtime and OpenVINO, all with every available core.

    python benchmarks/seed_comparison.py [--seconds 3] [--passes 3]

Writes the ``bench-seed`` section of docs/benchmarks.md and docs/bench_seed.png.
"""

from __future__ import annotations

import argparse
import sys

from _bench_common import (
    DOCS,
    PUBLISHED,
    Combined,
    fp32_ir,
    machine_line,
    md_table,
    mobilenet,
    ms,
    passes_over,
    pplcnet,
    ratio_spread,
    write_section,
)

MODELS = ("PPLCNet_x1_0", "MobileNetV1_x1_0", "MobileNetV2_x1_0", "MobileNetV3_small_x1_25")
BACKENDS = (
    ("paddle", "Paddle Inference (oneDNN)"),
    ("onnxruntime", "ONNX Runtime"),
    ("openvino", "OpenVINO FP32"),
)


def measure(seconds: float, passes: int) -> dict[str, dict[str, Combined]]:
    """Batch-1 latency per model and backend, ``passes`` interleaved passes."""
    from lcnet_ov import bench

    cores = bench.available_cores()
    jobs = []
    for name in MODELS:
        folder = pplcnet(1.0) if name.startswith("PPLCNet") else mobilenet(name)
        fp32_ir(folder)

        def job(folder=folder, name=name) -> dict:
            result = bench.run(
                folder,
                backend=[b for b, _ in BACKENDS],
                threads=cores,
                mode="sync",
                time_s=seconds / passes,
            )
            for skip in result.skipped:
                print(f"{name}: skipped {skip.backend}: {skip.reason}", file=sys.stderr)
            return {(name, m.config.backend): m for m in result.results}

        jobs.append((name, job))
    out: dict[str, dict[str, Combined]] = {}
    for (name, backend), combined in passes_over(jobs, passes).items():
        out.setdefault(name, {})[backend] = combined
    return out


def plot(data: dict[str, dict[str, Combined]], path) -> None:
    from lcnet_ov._deps import require

    require("matplotlib", extra="bench")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = [("paper", "paper (Xeon Gold 6148, Paddle+MKLDNN)"), *BACKENDS]
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(9, 3.4))
    for i, (key, legend) in enumerate(series):
        values = [
            PUBLISHED[m][3] if key == "paper" else data[m][key].min_ms if key in data[m] else 0.0
            for m in MODELS
        ]
        ax.bar(
            [j + (i - (len(series) - 1) / 2) * width for j in range(len(MODELS))],
            values,
            width,
            label=legend,
            color="0.6" if key == "paper" else None,
        )
    ax.set_xticks(range(len(MODELS)), MODELS, fontsize=8)
    ax.set_ylabel("batch 1 latency, ms\n(here: fastest iteration)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    fig.suptitle("PP-LCNet x1.0 vs MobileNets, batch 1", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per configuration")
    parser.add_argument("--passes", type=int, default=3, help="interleaved passes")
    args = parser.parse_args()
    data = measure(args.seconds, args.passes)
    base = data["PPLCNet_x1_0"]
    paper_base = PUBLISHED["PPLCNet_x1_0"][3]
    rows = []
    for name in MODELS:
        params, flops, top1, paper_ms = PUBLISHED[name]
        row = [
            name,
            f"{params}",
            f"{flops}",
            f"{top1}",
            f"{ms(paper_ms)} ({paper_ms / paper_base:.2f}×)",
        ]
        for backend, _ in BACKENDS:
            if backend not in data[name]:
                row.append("-")
                continue
            c = data[name][backend]
            if name == "PPLCNet_x1_0":  # the reference itself
                row.append(f"{c.latency_cell()}; 1.00×")
                continue
            rel = ratio_spread(c.pass_medians, base[backend].pass_medians)
            row.append(f"{c.latency_cell()}; {rel}")
        rows.append(row)
    plot(data, DOCS / "bench_seed.png")
    body = "\n".join(
        [
            "Batch-1 latency in ms: the median over passes of each pass's median, with the range "
            "over passes in brackets; after the semicolon, the latency relative to "
            "PPLCNet_x1_0's on the same runtime (median and range of the passes' ratios). "
            f"{args.seconds:g} s per configuration in {args.passes} "
            "interleaved passes, all available cores, "
            "synchronous loop. Params, FLOPs (multiply-adds), top-1 and the paper's latency are "
            "the published figures (PaddleClas `docs/en/models/PP-LCNet_en.md`). "
            "Generated by `python benchmarks/seed_comparison.py`.",
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
                    *(f"{legend} ms" for _, legend in BACKENDS),
                ],
                rows,
            ),
            "",
            "The MobileNets are `paddle.vision.models` builds (random weights), which follow the "
            "papers; PaddleClas' own MobileNetV3 differs slightly in its head.",
            "",
            machine_line(),
        ]
    )
    write_section("bench-seed", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
