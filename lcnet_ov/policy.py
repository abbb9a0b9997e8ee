"""The preprocessing policy: one place that states how every entry point decodes and normalizes.

Every way of running a model (:class:`~lcnet_ov.runtime.classifier.Classifier`, ``lcnet-ov infer``,
:class:`~lcnet_ov.runtime.async_classifier.AsyncClassifier`, ``lcnet-ov serve`` and the Ray Data
job in
:mod:`lcnet_ov.distributed.job`) takes its defaults from here, so the same file gives the same
answer whichever door it comes through.

**Decode: exact everywhere** (:data:`FAST_DECODE` is ``False``). The exact decode is what
PaddleClas and PaddleX compute, on camera-size files too. Fast decode (libjpeg-turbo's DCT-domain
1/2-1/8 reduction, ``docs/fast_decode.md``) is several times faster on 12 MP JPEGs but is not a
rounding difference: measured over the first 300 JPEGs of the ImageNet sample, the photos whose
short side is ≥ 512 px moved by up to 0.31 in probability on the text-orientation model, and a
12 MP page by 4.7e-4. A speed/answer trade like that is the caller's to make
(``fast_decode=True``, ``--fast-decode``), never a silent default.

**Folding the normalization into the graph: only where it pays and stays within float
rounding.** Folded and exact preprocessing differ by float rounding only (≤ 1.4e-6 in probability
on the trained model, ``benchmarks/folding_parity.py``). :class:`AsyncClassifier` folds by
default (:data:`FOLD_PREPROCESSING_STREAMING`): its decode workers then hand the batcher uint8
crops, a quarter of the bytes, which is measurably faster end to end. Everything whose answers
are compared with PaddleClas' bit for bit (``Classifier`` and ``infer``, whose ``predict_probs``
takes PaddleClas' float tensors, the Ray job built on ``Classifier``, and ``serve``, whose answers
must equal ``infer``'s for the same file and options) does not fold by default
(:data:`FOLD_PREPROCESSING`).

**INT8 IRs fold everywhere** (:data:`FOLD_QUANTIZED`). An INT8 IR's first operation quantizes
the normalized image to 256 levels, and OpenVINO absorbs the folded mean and scale into that
quantizer's ranges: on the 1,000 ImageNet JPEGs every probability of the folded and the
unfolded INT8 PP-LCNet_x1_0 was bit-identical (tests/test_fold_policy.py checks the same on the
sample images), so nothing is traded, and the uint8 crops make ``infer DIR`` cheaper per image
(``e2e_throughput``'s "int8 folded" against "int8 exact"). Every entry point applies the same
rule through :func:`fold_by_default`, so ``serve`` still answers what ``infer`` prints.
"""

from __future__ import annotations

#: decode large JPEGs at a reduced DCT scale (every entry point): off, the exact decode
FAST_DECODE = False
#: normalization inside the compiled graph for Classifier, infer, serve and the Ray job: off
FOLD_PREPROCESSING = False
#: the same for AsyncClassifier used as a library (throughput; within float rounding)
FOLD_PREPROCESSING_STREAMING = True
#: INT8 IRs, every entry point: folded (measured bit-identical to the unfolded INT8 IR)
FOLD_QUANTIZED = True


def fold_by_default(precision: str) -> bool:
    """Whether an IR whose weights are ``precision`` (its metadata's ``fp32``/``fp16``/``int8``)
    runs with folded normalization when the caller leaves ``fold_preprocessing`` unset."""
    return FOLD_QUANTIZED if precision == "int8" else FOLD_PREPROCESSING
