"""Numerical verification of a converted IR against the framework it came from.

The IR is compiled with ``INFERENCE_PRECISION_HINT=f32``: on CPUs with AVX512-BF16/AMX,
OpenVINO would otherwise run an fp32 IR in bf16 and the comparison would measure bf16 rounding,
not the conversion. The reference is Paddle Inference for Paddle sources and ONNX Runtime for
ONNX sources, fed the same fixed-seed images.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._util import captured_native_output
from .errors import VerificationError

if TYPE_CHECKING:  # pragma: no cover
    from .conversion import ConvertOptions, Source
    from .metadata import ModelMetadata
    from .zoo import Preprocess

#: max |Δprob| accepted for an fp32-weight IR (the issue's bar; observed: 0 to ~1e-7)
ATOL_FP32 = 1e-5
#: fp16-compressed weights round every weight; top-1 must still agree
ATOL_FP16 = 2e-3
VERIFY_SEED = 20210930  # PP-LCNet's arXiv date


@dataclass(frozen=True)
class Verification:
    reference: str
    max_abs_diff: float
    top1_agree: bool
    top5_agree: bool
    atol: float
    batch: int
    inference_precision: str = "f32"
    skipped: str | None = None

    @property
    def passed(self) -> bool:
        if self.skipped:  # a check that did not run passed nothing
            return False
        ok = self.max_abs_diff <= self.atol and self.top1_agree
        return ok and (self.top5_agree or self.atol > ATOL_FP32)

    def summary(self) -> str:
        if self.skipped:
            return f"verification skipped: {self.skipped}"
        verdict = "OK" if self.passed else "FAILED"
        return (
            f"verified vs {self.reference} on {self.batch} images "
            f"(inference precision {self.inference_precision}): max |Δprob| "
            f"{self.max_abs_diff:.2e} (limit {self.atol:.0e}), top-1 "
            f"{'identical' if self.top1_agree else 'DIFFERS'}, top-5 "
            f"{'identical' if self.top5_agree else 'differs'}: {verdict}"
        )

    def raise_if_failed(self) -> None:
        if self.skipped:
            raise VerificationError(
                f"the converted model could not be verified: {self.skipped}. Install it with "
                'pip install "lcnet-ov[convert]", or pass --no-verify (verify=False) to keep '
                "an unverified IR"
            )
        if not self.passed:
            raise VerificationError(self.summary())

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def sample_images(batch: int, size: int, seed: int = VERIFY_SEED) -> np.ndarray:
    """Smooth random u8 BGR images (NHWC): noise upsampled, so activations look image-like."""
    rng = np.random.default_rng(seed)
    import cv2

    out = np.empty((batch, size, size, 3), np.uint8)
    for i in range(batch):
        small = rng.integers(0, 256, (max(size // 16, 2), max(size // 16, 2), 3), np.uint8)
        out[i] = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
    return out


def normalize(images_bgr: np.ndarray, pp: Preprocess) -> np.ndarray:
    """NHWC u8 BGR → NCHW float32 exactly as PaddleClas' NormalizeImage + ToCHW."""
    x = images_bgr[..., ::-1] if pp.channel_order == "RGB" else images_bgr
    x = x.astype(np.float32) * np.float32(pp.scale)
    x = (x - np.asarray(pp.mean, np.float32)) / np.asarray(pp.std, np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def paddle_inference(program: Path, params: Path, x: np.ndarray) -> np.ndarray:
    """Run a Paddle inference model with Paddle Inference (the deploy runtime, oneDNN on CPU)."""
    from ._deps import require

    require("paddle", extra="convert")
    from paddle import inference

    with captured_native_output():
        config = inference.Config(str(program), str(params))
        config.disable_glog_info()
        # Paddle's own graph fusions (conv+BN, oneDNN activation fusing) reorder float
        # arithmetic by ~1e-5; off, the reference computes the graph exactly as written
        config.switch_ir_optim(False)
        predictor = inference.create_predictor(config)
        handle = predictor.get_input_handle(predictor.get_input_names()[0])
        handle.reshape(list(x.shape))
        handle.copy_from_cpu(np.ascontiguousarray(x))
        predictor.run()
        out = predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()
    return np.asarray(out)


def onnxruntime_inference(path: Path, x: np.ndarray) -> np.ndarray:
    from ._deps import require

    ort = require("onnxruntime", extra="convert")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def openvino_inference(xml: Path, x: np.ndarray, precision: str = "f32") -> np.ndarray:
    import openvino as ov

    compiled = ov.Core().compile_model(str(xml), "CPU", {"INFERENCE_PRECISION_HINT": precision})
    return np.asarray(compiled(x)[0])


def _topk_sets(p: np.ndarray, k: int) -> list[list[int]]:
    return [list(np.argsort(-row, kind="stable")[:k]) for row in p]


def compare(reference: np.ndarray, candidate: np.ndarray) -> tuple[float, bool, bool]:
    """max |Δ|, identical top-1, identical top-5 (as ordered lists)."""
    diff = float(np.max(np.abs(reference.astype(np.float64) - candidate.astype(np.float64))))
    top1 = bool(np.array_equal(reference.argmax(1), candidate.argmax(1)))
    k = min(5, reference.shape[1])
    top5 = _topk_sets(reference, k) == _topk_sets(candidate, k)
    return diff, top1, top5


def verify_ir(xml: Path, src: Source, meta: ModelMetadata, options: ConvertOptions) -> Verification:
    size = options.input_size or meta.preprocess.crop_size
    batch = options.batch_size or 2
    atol = ATOL_FP16 if options.compress_to_fp16 else ATOL_FP32
    images = sample_images(batch, size)
    x = normalize(images, meta.preprocess)
    if src.kind == "paddle":
        assert src.program is not None and src.params is not None
        reference = paddle_inference(src.program, src.params, x)
        ref_name = "Paddle Inference"
    else:
        try:
            reference = onnxruntime_inference(src.path, x)
        except ImportError as exc:  # MissingDependencyError is an ImportError
            return Verification(
                "ONNX Runtime",
                float("nan"),
                False,
                False,
                atol,
                batch,
                skipped=f"onnxruntime is not installed ({type(exc).__name__})",
            )
        ref_name = "ONNX Runtime"
    candidate = openvino_inference(xml, images if meta.embedded_preprocessing else x)
    diff, top1, top5 = compare(reference, candidate)
    return Verification(ref_name, diff, top1, top5, atol, batch)
