"""PaddleClas normalization folded into an OpenVINO graph (``PrePostProcessor``).

Used twice: ``convert --embed-preprocessing`` saves it into the IR, and the runtimes
(``fold_preprocessing=True``, the :class:`~lcnet_ov.runtime.async_classifier.AsyncClassifier`
default)
apply it to the in-memory model at load time without touching the file.

Why fold: after resize and crop, the numpy path still turns a 150 KB uint8 crop into a 600 KB
float32 tensor through a lookup table, then that tensor is copied into a batch and read by the
first convolution. Folded, the uint8 crop is what crosses threads and the batch is 4× smaller;
OpenVINO fuses the element conversion, channel swap, mean and scale into the input stage of the
graph, where they cost almost nothing (measured in ``docs/benchmarks.md``). The price is
float rounding: ``(x - mean/scale) / (std/scale)`` is not bit-identical to PaddleClas'
``(x * scale - mean) / std`` (one ulp on some inputs; what that does to probabilities is
measured in docs/benchmarks.md, section "folding"; the tests bound it by 1e-5).
"""

from __future__ import annotations

from typing import Any

from ..inputs.preprocess import folded_normalization
from ..zoo import Preprocess


def fold_preprocessing(model: Any, pp: Preprocess) -> Any:
    """u8 NHWC BGR in; element conversion, channel swap and normalization run inside the graph.

    Returns the built ``ov.Model`` (``PrePostProcessor`` edits ``model`` in place too). The
    caller still decodes, resizes and crops (:func:`lcnet_ov.inputs.preprocess.resize_crop`).
    """
    import openvino as ov
    from openvino.preprocess import ColorFormat, PrePostProcessor

    ppp = PrePostProcessor(model)
    inp = ppp.input()
    inp.tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC")).set_color_format(
        ColorFormat.BGR
    )
    inp.model().set_layout(ov.Layout("NCHW"))
    steps = inp.preprocess().convert_element_type(ov.Type.f32)
    to_rgb, mean, std = folded_normalization(pp)
    if to_rgb:
        steps.convert_color(ColorFormat.RGB)
    steps.mean(mean).scale(std)
    return ppp.build()
