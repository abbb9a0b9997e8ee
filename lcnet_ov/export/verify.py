"""Numerical verification of an IR against a reference implementation of the same network.

:func:`compare` knows nothing of where the IR came from: the caller hands it a reference
callable (normalized NCHW float32 in, scores out: Paddle Inference, ONNX Runtime, anything) and
the images to feed both. The IR is compiled with ``INFERENCE_PRECISION_HINT=f32``: on CPUs with
AVX512-BF16/AMX, OpenVINO would otherwise run an fp32 IR in bf16 and the comparison would
measure bf16 rounding, not the conversion. An IR that takes uint8 pixels (preprocessing folded
in) gets the images themselves; the reference always gets PaddleClas' exact float tensor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import VerificationError
from ..inputs.preprocess import normalize
from ..postprocess import topk_ids
from ..zoo import Preprocess

#: max |Δprob| accepted for an fp32-weight IR (docs/conversion.md has what conversions reach)
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

    @classmethod
    def skip(cls, reference: str, reason: str, atol: float, batch: int) -> Verification:
        """A check that could not run (the reference runtime is missing); it does not fail."""
        return cls(reference, float("nan"), False, False, atol, batch, skipped=reason)

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


def sample_images(batch: int, size: int | tuple[int, int], seed: int = VERIFY_SEED) -> np.ndarray:
    """Smooth random u8 BGR images (NHWC), ``size`` square or ``(height, width)``: noise
    upsampled, so activations look image-like."""
    rng = np.random.default_rng(seed)
    import cv2

    h, w = (size, size) if isinstance(size, int) else size
    out = np.empty((batch, h, w, 3), np.uint8)
    for i in range(batch):
        small = rng.integers(0, 256, (max(h // 16, 2), max(w // 16, 2), 3), np.uint8)
        out[i] = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return out


def paddle_inference(program: Path, params: Path, x: np.ndarray) -> np.ndarray:
    """Run a Paddle inference model with Paddle Inference (the deploy runtime, oneDNN on CPU).

    In a child interpreter (:mod:`lcnet_ov.export._child`): Paddle prints from C++ to fds 1/2, which
    this process must not redirect (a conversion can start inside someone's server)."""
    from .._deps import ensure_installed
    from ..errors import VerificationError
    from ._child import call_in_child

    ensure_installed("paddle", extra="convert")
    out, _ = call_in_child(
        "lcnet_ov.export.verify:_paddle_inference_here",
        program,
        params,
        np.ascontiguousarray(x),
        error=VerificationError,
        what=f"Paddle Inference on {program}",
    )
    return out


def _paddle_inference_here(program: Path, params: Path, x: np.ndarray) -> np.ndarray:
    """The reference run itself, in the child process."""
    from .._deps import require

    require("paddle", extra="convert")
    from paddle import inference

    config = inference.Config(str(program), str(params))
    config.disable_glog_info()
    # Paddle's own graph fusions (conv+BN, oneDNN activation fusing) reorder float
    # arithmetic by ~1e-5; off, the reference computes the graph exactly as written
    config.switch_ir_optim(False)
    predictor = inference.create_predictor(config)
    handle = predictor.get_input_handle(predictor.get_input_names()[0])
    handle.reshape(list(x.shape))
    handle.copy_from_cpu(x)
    predictor.run()
    return np.asarray(predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu())


def onnxruntime_inference(path: Path, x: np.ndarray) -> np.ndarray:
    from .._deps import require

    ort = require("onnxruntime", extra="convert")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def openvino_inference(xml: Path, x: np.ndarray, precision: str = "f32") -> np.ndarray:
    from ..runtime.core import shared_core

    compiled = shared_core().compile_model(str(xml), "CPU", {"INFERENCE_PRECISION_HINT": precision})
    return np.asarray(compiled(x)[0])


def agreement(reference: np.ndarray, candidate: np.ndarray) -> tuple[float, bool, bool]:
    """max |Δ|, identical top-1, identical top-5 (as ordered lists)."""
    diff = float(np.max(np.abs(reference.astype(np.float64) - candidate.astype(np.float64))))
    top1 = bool(np.array_equal(reference.argmax(1), candidate.argmax(1)))
    top5 = bool(np.array_equal(topk_ids(reference, 5), topk_ids(candidate, 5)))
    return diff, top1, top5


def takes_uint8(xml: Path) -> bool:
    """Whether the IR's input is raw uint8 pixels (preprocessing folded into the graph)."""
    from ..runtime.core import shared_core

    model = shared_core().read_model(str(xml))
    return model.input(0).get_element_type().get_type_name() == "u8"


def compare(
    xml: Path,
    reference: Callable[[np.ndarray], np.ndarray],
    images: np.ndarray,
    preprocess: Preprocess,
    atol: float,
    *,
    reference_name: str = "reference",
) -> Verification:
    """Run ``xml`` and ``reference`` on ``images`` (uint8 BGR ``N×H×W×3``) and judge the gap.

    ``reference`` receives the images normalized by ``preprocess`` exactly as PaddleClas does;
    passing means max |Δ| ≤ ``atol``, identical top-1 and, at the fp32 bar, identical top-5.
    """
    x = normalize(images, preprocess)
    expected = np.asarray(reference(x))
    candidate = openvino_inference(xml, images if takes_uint8(xml) else x)
    diff, top1, top5 = agreement(expected, candidate)
    return Verification(reference_name, diff, top1, top5, atol, len(images))
