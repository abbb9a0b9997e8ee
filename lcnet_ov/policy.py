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
"""

from __future__ import annotations

#: decode large JPEGs at a reduced DCT scale (every entry point): off, the exact decode
FAST_DECODE = False
#: normalization inside the compiled graph for Classifier, infer, serve and the Ray job: off
FOLD_PREPROCESSING = False
#: the same for AsyncClassifier used as a library (throughput; within float rounding)
FOLD_PREPROCESSING_STREAMING = True
