"""Fast decode on camera-size JPEGs: accuracy against the exact path and end-to-end speed.

Builds a camera-size set once (ImageNet-sample photos upscaled so the long side is 4032 px, and
text pages rendered at 4032×3024, all JPEG quality 90; under ``$LCNET_OV_BENCH_WORK``), then:

* accuracy: the real text-orientation PP-LCNet on every image, exact decode vs fast decode
  (``min_short_side = resize_short``): top-1 agreement and |Δprob|. Both are also compared
  with an anti-aliased reference (full decode, ``INTER_AREA`` to the resize size), because at
  camera size PaddleClas' bilinear resize itself samples rather than averages;
* speed: ``AsyncClassifier.map`` over the files (decode included, the page cache warm),
  exact vs fast in interleaved rounds; the median, min–max and per-round ratio.

    python -m benchmarks.fast_decode [--photos 200] [--pages 200] [--write | --smoke]

Prints (``--write``: writes) the ``fast-decode`` section of ``docs/fast_decode.md``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from benchmarks import harness
from benchmarks.harness import IMAGENET_SAMPLE, md_table, ratios, spread, work

CAMERA = (4032, 3024)


def camera_set(photos: int, pages: int) -> tuple[list[Path], list[Path]]:
    """Camera-size JPEGs, generated once: upscaled sample photos and rendered text pages."""
    import cv2

    from lcnet_ov.inputs.files import list_images
    from lcnet_ov.testing import ROTATIONS, render_page

    folder = work() / "camera"
    folder.mkdir(parents=True, exist_ok=True)
    quality = [cv2.IMWRITE_JPEG_QUALITY, 90]
    photo_files = []
    for i, src in enumerate(list_images(IMAGENET_SAMPLE)[:photos] if photos else []):
        out = folder / f"photo_{i:04d}.jpg"
        if not out.is_file():
            img = cv2.imread(str(src))
            h, w = img.shape[:2]
            s = CAMERA[0] / max(h, w)
            big = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_CUBIC)
            cv2.imwrite(str(out), big, quality)
        photo_files.append(out)
    page_files = []
    rng = np.random.default_rng(0)
    for i in range(pages):
        out = folder / f"page_{i:04d}.jpg"
        page = render_page(rng)  # drawn every time so the generator stays in step
        if not out.is_file():
            big = cv2.resize(page, CAMERA, interpolation=cv2.INTER_CUBIC)
            turn = ROTATIONS[i % 4]
            cv2.imwrite(str(out), big if turn is None else cv2.rotate(big, turn), quality)
        page_files.append(out)
    return photo_files, page_files


def accuracy(clf, files: list[Path]) -> dict[str, float]:
    """Exact vs fast decode on one model: agreement, |Δprob|, and each vs an area reference."""
    import cv2

    from lcnet_ov.inputs.decode import decode_image
    from lcnet_ov.inputs.preprocess import plan_resize

    pp = clf.metadata.preprocess

    def area(path: Path) -> np.ndarray:
        img = decode_image(path)
        h, w = plan_resize(*img.shape[:2], pp)
        return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)

    exact = np.stack([clf.predict_probs([decode_image(f)])[0] for f in files])
    fast = np.stack(
        [clf.predict_probs([decode_image(f, min_short_side=pp.resize_short)])[0] for f in files]
    )
    ref = np.stack([clf.predict_probs([area(f)])[0] for f in files])
    delta = np.abs(fast - exact).max(axis=1)
    top = exact.argmax(1), fast.argmax(1), ref.argmax(1)
    return {
        "n": len(files),
        "agree": float((top[0] == top[1]).mean()),
        "max": float(delta.max()),
        "median": float(np.median(delta)),
        "exact_vs_ref": float((top[0] == top[2]).mean()),
        "fast_vs_ref": float((top[1] == top[2]).mean()),
    }


def rate(pool, files: list[Path]) -> float:
    start = time.perf_counter()
    failed = sum(1 for r in pool.map(files) if not hasattr(r, "class_ids"))
    if failed:
        raise SystemExit(f"{failed} images failed")
    return len(files) / (time.perf_counter() - start)


def build_parser():
    parser = harness.parser(__doc__)
    parser.add_argument("--model", default="text_image_orientation")
    parser.add_argument("--photos", type=int, default=200, help="upscaled ImageNet-sample photos")
    parser.add_argument("--pages", type=int, default=200, help="rendered camera-size pages")
    parser.add_argument("--speed-images", type=int, default=100, help="files per timed pass")
    parser.add_argument("--rounds", type=int, default=5)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    run = harness.start(args, __name__, argv)
    if run.smoke:
        args.photos, args.pages, args.speed_images, args.rounds = 2, 2, 4, 1

    from lcnet_ov import AsyncClassifier, Classifier

    photos, pages = camera_set(args.photos if IMAGENET_SAMPLE.is_dir() else 0, args.pages)
    with Classifier(args.model) as clf:
        acc = {"photos": accuracy(clf, photos), "pages": accuracy(clf, pages)}

    speed_files = (photos + pages)[: args.speed_images]
    for f in speed_files:  # warm the page cache: every pass reads the same bytes from memory
        f.read_bytes()
    with (
        AsyncClassifier(args.model, fast_decode=False) as exact,
        AsyncClassifier(args.model, fast_decode=True) as fast,
    ):
        rate(exact, speed_files[:8])  # warm-up
        rate(fast, speed_files[:8])
        runs = harness.interleave(
            [
                ("exact", lambda: rate(exact, speed_files)),
                ("fast", lambda: rate(fast, speed_files)),
            ],
            args.rounds,
        )
        rates = {False: runs["exact"], True: runs["fast"]}

    text = report(args, acc, rates, len(speed_files))
    run.emit("fast_decode.md", "fast-decode", text, title="Fast decode (camera-size photos)")


def report(args, acc, rates, n_speed: int) -> str:
    acc_rows = [
        (
            f"{name} ({a['n']})",
            f"{100 * a['agree']:.1f} %",
            f"{a['max']:.2g}",
            f"{a['median']:.2g}",
            f"{100 * a['exact_vs_ref']:.1f} %",
            f"{100 * a['fast_vs_ref']:.1f} %",
        )
        for name, a in acc.items()
        if a["n"]
    ]

    def cell(values: list[float]) -> str:
        return spread(values, ".1f")

    return "\n".join(
        [
            f"Model: {args.model}.",
            "",
            "Accuracy: top-1 agreement of fast decode with the exact (PaddleClas) path, "
            "max and median over the images of the largest absolute probability change, and "
            "each path's top-1 agreement with an anti-aliased reference (full decode, area "
            "resize to the same size).",
            "",
            md_table(
                (
                    "set",
                    "top-1 agree",
                    "max Δprob",
                    "median Δprob",
                    "exact vs ref",
                    "fast vs ref",
                ),
                acc_rows,
            ),
            "",
            f"Speed: `AsyncClassifier.map` over {n_speed} camera-size JPEGs, decode included, "
            f"{args.rounds} interleaved rounds; images/s median (min–max).",
            "",
            md_table(
                ("decode", "images/s", "fast ÷ exact"),
                [
                    ("exact (full decode)", cell(rates[False]), ""),
                    (
                        "fast (DCT-domain reduction)",
                        cell(rates[True]),
                        cell(ratios(rates[True], rates[False])),
                    ),
                ],
            ),
        ]
    )


if __name__ == "__main__":
    main()
