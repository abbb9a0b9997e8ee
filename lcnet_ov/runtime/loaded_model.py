"""An IR loaded for inference, shared by :mod:`lcnet_ov.runtime.classifier` and
:mod:`lcnet_ov.runtime.async_classifier`.

:class:`LoadedModel` reads everything a prediction needs from the IR itself
(:func:`~lcnet_ov.runtime.metadata.read_metadata`): labels, PaddleClas preprocessing, whether that
preprocessing is folded into the graph. Whether the graph already ends in Softmax is detected
from the graph itself (:func:`~lcnet_ov.runtime.metadata.ends_in_softmax`), not trusted from
metadata:
a logit IR gets softmax here, so "scores" are always probabilities, and never twice. Both
runtimes prepare images, pad batches and post-process through it, so the sync and async paths
cannot drift apart.

Anything that is not an image source (``None``, ``42``) fails as its own item with
:class:`~lcnet_ov.errors.InvalidInputError` (:func:`input_stream`, :meth:`LoadedModel.prepare`),
so one bad entry in a list never ends the whole call.

:class:`FailedPrediction` stands in a result stream where an input could not be classified, and
:func:`find_feature_output` locates the features that ``Classifier.embed`` returns.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from .. import paths
from .._util import last_line
from ..errors import (
    DeviceError,
    InferenceError,
    InvalidInputError,
    InvalidModelFileError,
    LabelFileError,
)
from ..inputs.decode import ImageSource, decode_image
from ..inputs.files import InputItem, iter_inputs
from ..inputs.labels import load_labels
from ..inputs.preprocess import fast_decode_side, preprocess_image, resize_crop
from ..policy import fold_by_default
from ..postprocess import Postprocess, softmax
from ..results import FailedPrediction, Result
from ..zoo import DEFAULT_MODEL
from .core import shared_core
from .folding import fold_preprocessing as _fold
from .locate import locate_ir
from .metadata import ModelMetadata, ends_in_softmax, read_metadata

DEFAULT_BATCH_SIZE = 8
#: what ``prepare`` decodes; anything else is an InvalidInputError for that item
_IMAGE_TYPES = (str, os.PathLike, bytes, bytearray, memoryview, np.ndarray)
#: values of ``INFERENCE_PRECISION_HINT`` we pass on (``None`` leaves the device default)
INFERENCE_PRECISIONS = ("f32", "bf16", "f16")
# ops allowed between the classifier MatMul and the model's result
_HEAD_OPS = frozenset({"Softmax", "LogSoftmax", "Add", "Convert", "Reshape", "Squeeze", "Multiply"})


def input_stream(inputs: object, *, recursive: bool = False) -> Iterator[InputItem]:
    """:func:`~lcnet_ov.inputs.files.iter_inputs`, taking a non-iterable (``None``, ``42``) as one
    item.

    Such an entry then fails as that item (:meth:`LoadedModel.prepare` raises
    :class:`InvalidInputError`) instead of a ``TypeError`` ending the whole call.
    """
    try:
        iter(inputs)  # type: ignore[call-overload]
    except TypeError:
        inputs = [inputs]
    return iter_inputs(inputs, recursive=recursive)


def compile_config(
    *,
    hint: str,
    threads: int | None = None,
    inference_precision: str | None = "f32",
    num_requests: int | None = None,
) -> dict[str, Any]:
    """OpenVINO compile properties from the few knobs this SDK exposes."""
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    if inference_precision is not None and inference_precision not in INFERENCE_PRECISIONS:
        raise ValueError(
            f"inference_precision must be one of {INFERENCE_PRECISIONS} or None, "
            f"got {inference_precision!r}"
        )
    config: dict[str, Any] = {"PERFORMANCE_HINT": hint}
    if threads is not None:
        config["INFERENCE_NUM_THREADS"] = threads
    if inference_precision is not None:
        config["INFERENCE_PRECISION_HINT"] = inference_precision
    if num_requests is not None:
        config["PERFORMANCE_HINT_NUM_REQUESTS"] = num_requests
    return config


def model_cache_config() -> dict[str, str]:
    """``{"CACHE_DIR": <home>/compiled}`` for OpenVINO's compiled-model cache, or ``{}``.

    Compiling an IR costs several times more than loading its cached blob (docs/benchmarks.md,
    section "startup"), and it is most of a one-image ``lcnet-ov infer``. The cache is
    an optimization only: an unwritable or read-only ``$LCNET_OV_HOME`` (a pre-filled cache
    mounted read-only) compiles as before, and ``LCNET_OV_COMPILE_CACHE=0`` turns it off.
    """
    if os.environ.get("LCNET_OV_COMPILE_CACHE", "1").strip().lower() in ("0", "false", "no"):
        return {}
    folder = paths.compiled_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return {}
    return {"CACHE_DIR": str(folder)} if os.access(folder, os.W_OK) else {}


def _is_constant(output: Any, depth: int = 0) -> bool:
    """True for weights: a Constant, possibly behind a short decompression/quantization chain
    (FP16 ``Convert``, INT8 ``Subtract``/``Multiply``/``FakeQuantize`` on constants)."""
    node = output.get_node()
    kind = node.get_type_name()
    if kind == "Constant":
        return True
    if kind == "Parameter" or depth >= 6:
        return False
    return all(_is_constant(v, depth + 1) for v in node.input_values())


def _activations(node: Any) -> list[Any]:
    return [v for v in node.input_values() if not _is_constant(v)]


def find_feature_output(model: Any) -> Any:
    """The ``ov.Output`` feeding the final classifier: PP-LCNet's flattened 1280-d features.

    Walks from the (only) result up through head ops (Softmax, bias ``Add``, ``Convert``, ...),
    following the one non-constant input of each, until the first ``MatMul``; its non-constant
    input is the flatten output. Weights are recognised as constant subgraphs rather than by
    name, which covers FP16 IRs (``Constant → Convert``) and INT8 IRs (``Constant(i8) → Convert
    → Multiply``). In an INT8 IR the features are the values the quantized classifier consumes
    (NNCF places a ``FakeQuantize`` before the flatten).
    """
    source = model.get_results()[0].input_value(0)
    for _ in range(8):
        node = source.get_node()
        kind = node.get_type_name()
        if kind == "MatMul":
            break
        acts = _activations(node)
        if kind not in _HEAD_OPS or len(acts) != 1:
            raise InvalidModelFileError(
                f"cannot find the classifier MatMul: reached {kind} {node.get_friendly_name()!r}"
            )
        source = acts[0]
    else:
        raise InvalidModelFileError("cannot find the classifier MatMul near the model output")
    acts = _activations(node)
    if len(acts) != 1:
        raise InvalidModelFileError(f"classifier MatMul has {len(acts)} non-constant inputs")
    feature = acts[0]
    if feature.get_partial_shape().rank.get_length() != 2:
        raise InvalidModelFileError(f"classifier input is not [N, C]: {feature}")
    return feature


class LoadedModel:
    """An IR read from disk with everything needed to feed it and read its output.

    Two input layouts exist: plain IRs take normalized float32 NCHW; IRs converted with
    ``--embed-preprocessing`` take uint8 NHWC BGR crops and normalize inside the graph, so
    :meth:`prepare` stops after resize and crop for them. ``fold_preprocessing=True`` gives a
    plain IR the second layout in memory (see :mod:`lcnet_ov.runtime.folding`); :attr:`folded` says
    whether that happened. Left ``None``, :func:`lcnet_ov.policy.fold_by_default` decides from
    the IR's precision (INT8 folds, FP32 stays exact).
    """

    def __init__(
        self,
        model: str | os.PathLike = DEFAULT_MODEL,
        *,
        precision: str | None = None,
        class_id_map_file: str | os.PathLike | None = None,
        fold_preprocessing: bool | None = False,
        fast_decode: bool = False,
        core: Any = None,
    ) -> None:
        self.core = core or shared_core()
        self.fast_decode = fast_decode
        self.xml = locate_ir(model, precision)
        try:
            self.ov_model = self.core.read_model(str(self.xml))
        except RuntimeError as exc:
            raise InvalidModelFileError(f"{self.xml}: OpenVINO cannot read it ({exc})") from exc
        meta = read_metadata(self.ov_model)
        # the graph is the truth: metadata may predate the stamp or the head may have been cut
        meta = meta.replace(outputs_probabilities=ends_in_softmax(self.ov_model))
        if len(self.ov_model.inputs) != 1:
            raise InvalidModelFileError(f"{self.xml}: expected one image input")
        shape = self.ov_model.input(0).get_partial_shape()
        self.uint8_input = self.ov_model.input(0).get_element_type().get_type_name() == "u8"
        if self.uint8_input != meta.embedded_preprocessing:
            raise InvalidModelFileError(
                f"{self.xml}: metadata says embedded_preprocessing={meta.embedded_preprocessing} "
                f"but the input is {self.ov_model.input(0).get_element_type()}"
            )
        side_dims = (1, 2) if self.uint8_input else (2, 3)
        hw = tuple(shape[d].get_length() if shape[d].is_static else None for d in side_dims)
        pp = meta.preprocess
        if None not in hw and hw != pp.input_hw:
            h, w = hw
            if pp.crop_size is not None and pp.resize_short is not None and h == w:
                # an IR reshaped at conversion (--input-size): crop to it, keeping the ratio
                pp = replace(
                    pp, crop_size=h, resize_short=round(h * pp.resize_short / pp.crop_size)
                )
            elif pp.crop_size is None and pp.resize_size is not None:
                pp = replace(pp, resize_size=(w, h))  # a fixed-size model reshaped: resize to it
            else:
                raise InvalidModelFileError(
                    f"{self.xml}: the IR takes {h}x{w} but its preprocessing gives "
                    f"{pp.input_hw[0]}x{pp.input_hw[1]}"
                )
            meta = meta.replace(preprocess=pp)
        self.static_batch: int | None = shape[0].get_length() if shape[0].is_static else None
        classes = self.ov_model.output(0).get_partial_shape()[-1]
        self.num_classes = classes.get_length() if classes.is_static else len(meta.labels)
        if class_id_map_file is not None:
            labels = load_labels(None, class_id_map_file)
            if len(labels) != self.num_classes:
                raise LabelFileError(
                    f"{class_id_map_file}: {len(labels)} labels for a model with "
                    f"{self.num_classes} classes"
                )
            meta = meta.replace(labels=labels)
            if meta.postprocess.labels is not None:
                meta = meta.replace(postprocess=replace(meta.postprocess, labels=labels))
        elif len(meta.labels) != self.num_classes:
            raise InvalidModelFileError(
                f"{self.xml}: metadata lists {len(meta.labels)} labels, model has "
                f"{self.num_classes} outputs"
            )
        self.metadata: ModelMetadata = meta
        if fold_preprocessing is None:  # the policy: INT8 IRs fold, the others stay exact
            fold_preprocessing = fold_by_default(meta.precision)
        self.folded = fold_preprocessing and not self.uint8_input
        if self.folded:
            self.ov_model = _fold(self.ov_model, meta.preprocess)
            self.uint8_input = True
        h, w = meta.preprocess.input_hw
        self.item_shape = (h, w, 3) if self.uint8_input else (3, h, w)
        self.dtype = np.uint8 if self.uint8_input else np.float32

    @property
    def labels(self) -> tuple[str, ...]:
        return self.metadata.labels

    def compile(self, device: str, config: dict[str, Any], model: Any = None) -> Any:
        """Compile for ``device``, through OpenVINO's model cache where the cache is writable
        (:func:`model_cache_config`): a later process loads the compiled blob instead."""
        try:
            return self.core.compile_model(
                model or self.ov_model, device, {**model_cache_config(), **config}
            )
        except RuntimeError as exc:
            raise DeviceError(
                f"cannot compile {self.metadata.name} for device {device!r}: {last_line(exc)}"
            ) from exc

    def prepare(self, source: ImageSource, name: str | None = None) -> np.ndarray:
        """One image → the tensor the IR takes for it (no batch axis); raises ImageDecodeError
        (:class:`InvalidInputError` for something that is no image source at all)."""
        if not isinstance(source, _IMAGE_TYPES):
            what = name or f"<{type(source).__name__}>"
            raise InvalidInputError(
                f"{what}: not an image: expected a path, encoded bytes or a uint8 array, "
                f"got {type(source).__name__}",
                name,
            )
        pp = self.metadata.preprocess
        if not self.uint8_input:
            return preprocess_image(source, pp, name=name, fast_decode=self.fast_decode)
        if name is None and isinstance(source, (str, os.PathLike)):
            name = str(source)
        img = decode_image(
            source, name=name, min_short_side=fast_decode_side(pp) if self.fast_decode else None
        )
        return np.ascontiguousarray(resize_crop(img, pp, name=name))

    def as_batch(self, images: np.ndarray | Sequence[ImageSource]) -> np.ndarray:
        """A model-ready ndarray is checked; a sequence of images is prepared (errors raise)."""
        if isinstance(images, np.ndarray):
            x = images[None] if images.shape == self.item_shape else images
            if x.ndim != 4 or x.shape[1:] != self.item_shape:
                layout = "NHWC uint8 BGR" if self.uint8_input else "NCHW float32"
                raise ValueError(
                    f"expected a prepared batch shaped (N, {', '.join(map(str, self.item_shape))})"
                    f" ({layout}), got {x.shape}; pass a list to have images prepared"
                )
            if x.dtype != self.dtype:
                if self.uint8_input:
                    who = "this model (preprocessing folded in)" if self.folded else "this IR"
                    raise ValueError(f"{who} takes uint8 BGR crops, got {x.dtype}")
                x = x.astype(np.float32)
            return np.ascontiguousarray(x)
        items = list(images)
        if not items:
            raise ValueError("no images given")
        out = np.empty((len(items), *self.item_shape), dtype=self.dtype)
        for i, image in enumerate(items):
            out[i] = self.prepare(image)
        return out

    def pad(self, batch: np.ndarray) -> np.ndarray:
        """Static-batch IRs take exactly ``static_batch`` rows: fill the rest with zeros."""
        n = len(batch)
        if self.static_batch is None or n == self.static_batch:
            return batch
        if n > self.static_batch:
            raise ValueError(f"batch of {n} for an IR fixed at batch {self.static_batch}")
        padded = np.zeros((self.static_batch, *batch.shape[1:]), dtype=batch.dtype)
        padded[:n] = batch
        return padded

    @property
    def default_topk(self) -> int:
        """The model's own top-k (its config's ``Topk.topk``; 5 for IRs without one)."""
        return self.metadata.postprocess.topk or 5

    def probabilities(self, raw: np.ndarray) -> np.ndarray:
        """Scores from raw outputs. Softmax is added only to a single-label (``topk`` or
        ``threshold``) model whose graph does not end in one; multi-label and attribute
        graphs end in their own Sigmoid and are taken as they are, never softmaxed."""
        if self.metadata.outputs_probabilities:
            return raw
        if self.metadata.postprocess.kind not in ("topk", "threshold"):
            return raw
        return softmax(raw, axis=-1)

    def results(
        self,
        probs: np.ndarray,
        items: Sequence[InputItem],
        k: int | None = None,
        *,
        rank_all: bool = False,
    ) -> list[Result]:
        """The model's post-processing per row (``k`` overrides a top-k model's own); a row
        with NaN/inf fails only its own item. ``rank_all``: every class ranked by score,
        whatever the model's kind, for callers that need the whole probability vector back
        (the server's outputs, smoothing streams) and apply the model's post-processing
        themselves."""
        finite = np.isfinite(probs).all(axis=1)
        good = [i for i in range(len(items)) if finite[i]]
        post = self.metadata.postprocess
        if rank_all:
            post, k = Postprocess(kind="topk", topk=max(1, probs.shape[1])), None
        names = [items[i].filename for i in good]
        preds = iter(post.apply(probs[good], names, labels=self.labels, k=k) if good else ())
        return [
            next(preds)
            if finite[i]
            else FailedPrediction.of(
                item, InferenceError(f"{item.name}: the model returned NaN/inf scores")
            )
            for i, item in enumerate(items)
        ]

    def feature_model(self) -> Any:
        """A copy of the graph whose only output is :func:`find_feature_output`."""
        import openvino as ov

        clone = self.ov_model.clone()
        return ov.Model([find_feature_output(clone)], clone.get_parameters(), "features")
