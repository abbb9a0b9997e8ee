"""Folded vs exact preprocessing: how far apart are the probabilities, measured.

``fold_preprocessing=True`` (the ``AsyncClassifier`` default, ``--fold-preprocessing``) hands the
compiled graph the uint8 crop and lets OpenVINO convert, swap channels and normalize; the exact
path builds PaddleClas' float tensor in numpy/OpenCV. Both run the same IR with
``INFERENCE_PRECISION_HINT=f32``. This script runs every image through both and reports the
largest and the mean |Δprob| and the top-1 agreement, per model and image set:

* the real text-orientation PP-LCNet_x1_0 (4 classes, FP32 and INT8 quantized with the SDK's
  defaults), and a seeded PP-LCNet_x1_0 with the 1000-class head (FP32);
* the ImageNet sample (../shared/imagenet-sample, when present), the four pages in
  samples/images, and rendered text pages (0/90/180/270).

    python benchmarks/folding_parity.py [--pages 64]

Writes the ``folding`` section of docs/benchmarks.md; README, docs and docstrings that say how
close folded is to exact quote it.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import numpy as np
from _bench_common import (
    IMAGENET_SAMPLE,
    REPO,
    WORK,
    calibration_folder,
    fp32_ir,
    machine_line,
    md_table,
    pplcnet,
    write_section,
)

SECTION = "folding"


def rendered_pages(n: int) -> list[np.ndarray]:
    from lcnet_ov.testing import text_orientation_set

    images, _ = text_orientation_set(n, seed=123)
    return list(images)


def image_sets(pages: int) -> list[tuple[str, list]]:
    from lcnet_ov.inputs.files import list_images

    sets = []
    if (IMAGENET_SAMPLE / "val_list.txt").is_file():
        sets.append(("ImageNet sample", list_images(IMAGENET_SAMPLE)))
    sets.append(("samples/images pages", list_images(REPO / "samples" / "images")))
    sets.append((f"{pages} rendered pages", rendered_pages(pages)))
    return sets


def models() -> list[tuple[str, str, Path]]:
    """(model, precision, xml): the real model in FP32 and INT8, a 1000-class seeded one."""
    from lcnet_ov import quantize
    from lcnet_ov.export.resolve import resolve_ir

    text = resolve_ir("text_image_orientation")
    int8 = WORK / "folding" / "text_orientation-int8" / "model.xml"
    if not int8.is_file():
        quantize(text, calibration_folder(), output=int8, progress=False)
    return [
        ("text orientation (4 classes)", "FP32", text),
        ("text orientation (4 classes)", "INT8", int8),
        ("PP-LCNet_x1_0 seeded (1000 classes)", "FP32", fp32_ir(pplcnet(1.0))),
    ]


def compare(xml: Path, images: list) -> dict[str, float]:
    from lcnet_ov import Classifier

    probs = {}
    for fold in (False, True):
        with Classifier(xml, fold_preprocessing=fold, batch_size=16) as clf:
            assert clf.model.folded is fold
            probs[fold] = clf.predict_probs(images).astype(np.float64)
    diff = np.abs(probs[True] - probs[False])
    return {
        "images": len(images),
        "max": float(diff.max()),
        "mean": float(diff.mean()),
        "top1": float(np.mean(probs[True].argmax(1) == probs[False].argmax(1))),
    }


def summary(results: list[tuple[str, str, dict]]) -> str:
    """The sentence README and docstrings quote, computed from the rows."""

    def worst(model_part: str, precision: str) -> float:
        return max(r["max"] for m, p, r in results if model_part in m and p == precision)

    top1 = min(r["top1"] for _, _, r in results)
    int8 = worst("text", "INT8")
    int8_text = (
        "INT8: identical on every image (the input FakeQuantize rounds both to the same levels)"
        if int8 == 0
        else f"INT8: at most {int8:.1e}"
    )
    return (
        f"Worst case, trained model FP32: **{worst('text', 'FP32'):.1e}**; {int8_text}; the "
        f"seeded 1000-class network FP32: {worst('seeded', 'FP32'):.1e} (its random BatchNorm "
        "statistics amplify the one-ulp differences of the folded arithmetic). "
        + (
            "Top-1 identical on every image."
            if top1 == 1.0
            else f"Top-1 identical on at least {top1:.1%} of the images of each row."
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=64, help="rendered text pages")
    ap.add_argument("--dry-run", action="store_true", help="print, do not write docs")
    args = ap.parse_args()
    sets = image_sets(args.pages)
    rows, results = [], []
    for model, precision, xml in models():
        for set_name, images in sets:
            r = compare(xml, images)
            results.append((model, precision, r))
            rows.append(
                (
                    model,
                    precision,
                    set_name,
                    r["images"],
                    f"{r['max']:.2e}",
                    f"{r['mean']:.1e}",
                    f"{r['top1']:.1%}",
                )
            )
            print(rows[-1], file=sys.stderr)
    body = "\n".join(
        [
            "## Folded vs exact preprocessing",
            "",
            f"`python benchmarks/folding_parity.py` · {datetime.date.today().isoformat()}",
            "",
            "Every image through the same IR twice, `INFERENCE_PRECISION_HINT=f32`: exact "
            "(PaddleClas' float tensor built in numpy/OpenCV) and folded "
            "(`fold_preprocessing=True`: the uint8 crop goes in, OpenVINO normalizes inside the "
            "graph). |Δprob| is over every class of every image.",
            "",
            md_table(
                [
                    "model",
                    "precision",
                    "images",
                    "count",
                    "max abs Δprob",
                    "mean abs Δprob",
                    "top-1 identical",
                ],
                rows,
            ),
            "",
            summary(results),
            "",
            machine_line(),
        ]
    )
    print(body)
    if not args.dry_run:
        write_section(SECTION, body)


if __name__ == "__main__":
    main()
