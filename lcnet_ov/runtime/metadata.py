"""Self-describing IRs: model metadata stored in the OpenVINO model's ``rt_info``.

Everything a runtime needs to use an IR correctly (labels, preprocessing, whether preprocessing
is folded in, precision, provenance) is written under ``rt_info["lcnet_ov"]`` at conversion time
and read back on load, so an ``.xml``/``.bin`` pair needs no side files. A subset is mirrored to
``rt_info["model_info"]`` in the keys OpenVINO's Model API reads, so its ``ClassificationModel``
can open our IRs too.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidModelFileError
from ..postprocess import Postprocess
from ..zoo import Preprocess

NAMESPACE = "lcnet_ov"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ModelMetadata:
    name: str
    labels: tuple[str, ...]
    preprocess: Preprocess
    #: True when resize-free preprocessing (u8 NHWC BGR → normalized NCHW) is inside the IR
    embedded_preprocessing: bool = False
    #: weights precision of the IR: fp32, fp16 (compressed weights) or int8
    precision: str = "fp32"
    #: True when the graph ends in Softmax (:func:`ends_in_softmax`, stamped at conversion).
    #: Runtimes re-detect it from the graph on load, so an IR whose head was edited afterwards
    #: (or one from before this field was stamped) still gets softmax exactly once.
    outputs_probabilities: bool = True
    source: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    quantization: dict[str, Any] = field(default_factory=dict)
    #: the model's own post-processing (its config's PostProcess); IRs from before configs
    #: were read load as :meth:`Postprocess.default` (top-5)
    postprocess: Postprocess = field(default_factory=Postprocess.default)

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def to_rt_info(self) -> dict[str, str]:
        """Flat ``str -> str`` map; nested values are JSON so any OpenVINO version keeps them."""
        return {
            "schema_version": str(SCHEMA_VERSION),
            "name": self.name,
            "labels": json.dumps(list(self.labels), ensure_ascii=False),
            "preprocess": json.dumps(self.preprocess.to_dict()),
            "embedded_preprocessing": str(self.embedded_preprocessing).lower(),
            "precision": self.precision,
            "outputs_probabilities": str(self.outputs_probabilities).lower(),
            "source": json.dumps(self.source),
            "versions": json.dumps(self.versions),
            "quantization": json.dumps(self.quantization),
            "postprocess": json.dumps(self.postprocess.to_dict(), ensure_ascii=False),
        }

    @classmethod
    def from_rt_info(cls, info: dict[str, str], where: str = "model") -> ModelMetadata:
        try:
            return cls(
                name=info["name"],
                labels=tuple(json.loads(info["labels"])),
                preprocess=Preprocess.from_dict(json.loads(info["preprocess"])),
                embedded_preprocessing=info.get("embedded_preprocessing", "false") == "true",
                precision=info.get("precision", "fp32"),
                outputs_probabilities=info.get("outputs_probabilities", "true") == "true",
                source=json.loads(info.get("source", "{}")),
                versions=json.loads(info.get("versions", "{}")),
                quantization=json.loads(info.get("quantization", "{}")),
                postprocess=Postprocess.from_dict(json.loads(info["postprocess"]))
                if "postprocess" in info
                else Postprocess.default(),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidModelFileError(
                f"{where}: lcnet-ov metadata in rt_info is damaged ({exc}); "
                "re-run `lcnet-ov convert`"
            ) from exc

    def replace(self, **changes: Any) -> ModelMetadata:
        return dataclasses.replace(self, **changes)


#: ops that change neither values nor their order along the class axis
_PASS_THROUGH = frozenset({"Convert", "Reshape", "Squeeze", "Unsqueeze"})


def ends_in_softmax(model: Any) -> bool:
    """Whether the first output of an ``openvino.Model`` is a Softmax over its last axis.

    Walks back from the result through shape-only ops (``Convert``, ``Reshape``, ...) to the
    op that produced the values. Only ``Softmax`` counts: logits and ``LogSoftmax`` outputs are
    not probabilities (softmax of either gives them, since softmax ignores a per-row shift).
    """
    source = model.get_results()[0].input_value(0)
    for _ in range(8):
        node = source.get_node()
        kind = node.get_type_name()
        if kind == "Softmax":
            rank = source.get_partial_shape().rank
            axis = int(node.get_attributes().get("axis", -1))
            return axis == -1 or (rank.is_static and axis == rank.get_length() - 1)
        if kind not in _PASS_THROUGH:
            return False
        source = node.input_value(0)
    return False


def graph_activation(model: Any) -> str:
    """What the first output of an ``openvino.Model`` ends with: ``"softmax"`` (over its last
    axis), ``"sigmoid"`` or ``"none"`` (logits), looking through shape-only ops.

    PaddleClas exports put the activation into the graph (Softmax for single-label, Sigmoid
    for multi-label and attribute models), so this is read, never guessed from a config."""
    if ends_in_softmax(model):
        return "softmax"
    source = model.get_results()[0].input_value(0)
    for _ in range(8):
        node = source.get_node()
        kind = node.get_type_name()
        if kind == "Sigmoid":
            return "sigmoid"
        if kind not in _PASS_THROUGH:
            return "none"
        source = node.input_value(0)
    return "none"


#: how many classes the Model API's ClassificationModel reports by default
MODEL_API_TOPK = 5


def _model_api_info(meta: ModelMetadata) -> dict[str, str]:
    """Keys OpenVINO Model API's ``ClassificationModel`` reads from ``rt_info["model_info"]``.

    ``topk`` is clipped to the class count: openvino-model-api 0.4.7 takes
    ``np.argpartition(scores, -topk)`` without clipping, so a 4-class model stamped ``topk=5``
    crashed on every image (measured); ``min(5, C)`` works for any class count.
    """
    pp = meta.preprocess
    return {
        "model_type": "Classification",
        # Model API splits labels on spaces
        "labels": " ".join(label.replace(" ", "_") for label in meta.labels),
        "mean_values": " ".join(f"{m * 255:g}" for m in pp.mean),
        "scale_values": " ".join(f"{s * 255:g}" for s in pp.std),
        "reverse_input_channels": str(pp.channel_order == "RGB"),
        "output_raw_scores": "True",
        "topk": str(max(1, min(MODEL_API_TOPK, meta.num_classes))),
    }


def write_metadata(model: Any, meta: ModelMetadata) -> None:
    """Stamp ``meta`` into an ``openvino.Model``'s rt_info (in place)."""
    for key, value in meta.to_rt_info().items():
        model.set_rt_info(value, [NAMESPACE, key])
    if not meta.embedded_preprocessing:
        for key, value in _model_api_info(meta).items():
            model.set_rt_info(value, ["model_info", key])


def has_metadata(model: Any) -> bool:
    return model.has_rt_info([NAMESPACE, "name"])


def read_metadata(model_or_path: Any) -> ModelMetadata:
    """Metadata of an ``openvino.Model`` or an ``.xml`` path (reads the XML only, not weights)."""
    where = "model"
    if isinstance(model_or_path, (str, Path)):
        where = str(model_or_path)
        model = _read_model(Path(model_or_path))
    else:
        model = model_or_path
    if not has_metadata(model):
        raise InvalidModelFileError(
            f"{where}: no lcnet-ov metadata in rt_info; convert it with `lcnet-ov convert`, "
            "or pass labels/preprocessing explicitly"
        )
    section = model.get_rt_info()[NAMESPACE]
    info = {key: value.astype(str) for key, value in section.items()}
    return ModelMetadata.from_rt_info(info, where)


def _read_model(path: Path) -> Any:
    from .core import shared_core

    if not path.is_file():
        raise InvalidModelFileError(f"{path}: no such IR file")
    try:
        return shared_core().read_model(str(path))
    except RuntimeError as exc:
        raise InvalidModelFileError(f"{path}: OpenVINO cannot read this IR ({exc})") from exc
