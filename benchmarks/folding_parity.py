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

    python -m benchmarks.folding_parity [--pages 64] [--write | --smoke]

Prints (``--write``: writes) the ``folding`` section of docs/benchmarks.md; README quotes it
(``tests/test_docs_claims.py`` checks the quotes against this section).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from benchmarks import harness
from benchmarks._models import calibration_folder, fp32_ir, int8_of, pplcnet
from benchmarks.harness import IMAGENET_SAMPLE, REPO, md_table, work

SECTION = "folding"


def rendered_pages(n: int) -> list[np.ndarray]:
    from lcnet_ov.testing import text_orientation_set

    images, _ = text_orientation_set(n, seed=123)
    return list(images)


def image_sets(pages: int, photos: int | None) -> list[tuple[str, list]]:
    from lcnet_ov.inputs.files import list_images

    sets = []
    if (IMAGENET_SAMPLE / "val_list.txt").is_file():
        sets.append(("ImageNet sample", list_images(IMAGENET_SAMPLE)[:photos]))
    sets.append(("samples/images pages", list_images(REPO / "samples" / "images")))
    sets.append((f"{pages} rendered pages", rendered_pages(pages)))
    return sets


def models(smoke: bool) -> list[tuple[str, str, Path]]:
    """(model, precision, xml): the real model in FP32 and INT8, a 1000-class seeded one."""
    from lcnet_ov.export.resolve import resolve_ir

    text = resolve_ir("text_image_orientation")
    int8 = int8_of(text, calibration_folder(), work() / "folding" / "text-int8" / "model.xml")
    scale = 0.25 if smoke else 1.0
    tag = "x0_25" if smoke else "x1_0"
    return [
        ("text orientation (4 classes)", "FP32", text),
        ("text orientation (4 classes)", "INT8", int8),
        (f"PP-LCNet_{tag} seeded (1000 classes)", "FP32", fp32_ir(pplcnet(scale))),
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
    """The sentence README quotes, computed from the rows."""

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


def build_parser():
    parser = harness.parser(__doc__)
    parser.add_argument("--pages", type=int, default=64, help="rendered text pages")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    run = harness.start(args, __name__, argv)
    if run.smoke:
        args.pages = 8
    sets = image_sets(args.pages, 16 if run.smoke else None)
    rows, results = [], []
    for model, precision, xml in models(run.smoke):
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
        ]
    )
    run.emit("benchmarks.md", SECTION, body)


if __name__ == "__main__":
    main()
