"""A model's own pre/post-processing config, read into :class:`~lcnet_ov.zoo.Preprocess` and
:class:`~lcnet_ov.postprocess.Postprocess`.

Two formats ship with PP-LCNet models, and the model's authors chose every value in them:

* PaddleX 3's ``inference.yml`` beside ``inference.json`` (``Global.model_name``,
  ``PreProcess.transform_ops``, ``PostProcess: {Op: {...}}``; the ``Hpi`` section holds YAML
  anchors/aliases, which ``yaml.safe_load`` resolves and which are not used here);
* PaddleClas' deploy configs, PULC's ``inference_<name>.yaml`` among them (``PostProcess``
  with ``main_indicator``; ``scale`` may be a string such as ``"1.0/255.0"``).

The two predictors differ in small ways that change answers, so the flavour is kept
(``ModelConfig.flavour``) and followed (see docs/models.md, "Pre- and post-processing from the
model's config"): PaddleX normalises ``x * (scale/std) + (-mean/std)``, PaddleClas
``(x * scale - mean) / std``; PaddleX's multi-label predictor never crops; PaddleX's
multi-label output is strictly-above and highest first, PaddleClas' deploy one at-or-above in
index order. An op this module does not know is a :class:`~lcnet_ov.errors.ModelConfigError`
naming it and the file: both references fail on one too, and skipping it would silently change
every answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import ModelConfigError
from ..postprocess import PERSON_ATTRIBUTE_LABELS, VEHICLE_ATTRIBUTE_LABELS, Postprocess
from ..zoo import Preprocess

#: file names a model folder may carry its config under (PaddleX 3 first)
CONFIG_NAMES = ("inference.yml", "inference.yaml")

# config interpolation name (either reference's spelling, lower-cased) → Preprocess.interpolation
_INTERP = {
    "nearest": "nearest",
    "linear": "bilinear",
    "bilinear": "bilinear",
    "area": "area",
    "cubic": "bicubic",
    "bicubic": "bicubic",
    "lanczos": "lanczos",
    "lanczos4": "lanczos",
    "box": "box",
}
_PIL_ONLY = {"box"}
_CV2_ONLY = {"area"}
_NUMBER = re.compile(r"^\s*[0-9.eE+-]+\s*(/\s*[0-9.eE+-]+\s*)?$")


@dataclass(frozen=True)
class ModelConfig:
    """What a model's config says: its name, preprocessing, post-processing and labels."""

    name: str | None
    preprocess: Preprocess
    postprocess: Postprocess
    #: label names (``None``: the config names none; callers fall back to their own)
    labels: tuple[str, ...] | None
    #: ``"paddlex"`` (PaddleX 3 inference.yml) or ``"paddleclas"`` (deploy / PULC yaml)
    flavour: str
    path: Path


def find_model_config(folder: str | Path) -> Path | None:
    """The config file inside a model folder (``inference.yml``), or ``None``."""
    folder = Path(folder)
    for name in CONFIG_NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


def read_model_config(folder_or_yml: str | Path) -> ModelConfig:
    """Read a PaddleX 3 ``inference.yml`` or a PaddleClas deploy/PULC yaml (or the folder
    holding one); raises :class:`ModelConfigError` naming the file and what is wrong."""
    path = Path(folder_or_yml)
    if path.is_dir():
        found = find_model_config(path)
        if found is None:
            raise ModelConfigError(f"{path}: no {' or '.join(CONFIG_NAMES)} in this folder")
        path = found
    try:
        import yaml

        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelConfigError(f"{path}: cannot read the model config ({exc})") from exc
    except yaml.YAMLError as exc:
        raise ModelConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("PreProcess"), dict):
        raise ModelConfigError(f"{path}: no PreProcess section; not a PaddleX/PaddleClas config")
    post = doc.get("PostProcess") or {}
    if not isinstance(post, dict):
        raise ModelConfigError(f"{path}: PostProcess must be a mapping, got {post!r}")
    flavour = "paddleclas" if "main_indicator" in post else "paddlex"
    postprocess = _postprocess(post, flavour, path)
    preprocess = _preprocess(doc["PreProcess"].get("transform_ops"), flavour, postprocess, path)
    labels = postprocess.labels
    if postprocess.kind == "person_attribute":
        labels = PERSON_ATTRIBUTE_LABELS
    elif postprocess.kind == "vehicle_attribute":
        labels = VEHICLE_ATTRIBUTE_LABELS
    return ModelConfig(
        name=_name(doc, path),
        preprocess=preprocess,
        postprocess=postprocess,
        labels=labels,
        flavour=flavour,
        path=path,
    )


def _name(doc: dict, path: Path) -> str | None:
    glob = doc.get("Global") or {}
    if isinstance(glob, dict) and isinstance(glob.get("model_name"), str):
        return glob["model_name"]
    m = re.match(r"^inference_(.+)\.ya?ml$", path.name)
    return m.group(1) if m else None


# ---- PreProcess ----------------------------------------------------------------------------------


def _ops(ops: Any, path: Path, section: str) -> list[tuple[str, dict]]:
    if not isinstance(ops, list):
        raise ModelConfigError(f"{path}: {section} must be a list of ops, got {ops!r}")
    out = []
    for op in ops:
        if not isinstance(op, dict) or len(op) != 1:
            raise ModelConfigError(f"{path}: {section} entry {op!r} is not a one-key op mapping")
        ((name, params),) = op.items()
        if params is not None and not isinstance(params, dict):
            raise ModelConfigError(f"{path}: {name}'s parameters must be a mapping: {params!r}")
        out.append((str(name), params or {}))
    return out


def _number(value: Any, what: str, path: Path) -> float:
    """A float, or PaddleClas' string forms (``"1.0/255.0"``, which it ``eval`` s)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and _NUMBER.match(value):
        num, _, den = value.partition("/")
        try:
            return float(num) / float(den) if den else float(num)
        except (ValueError, ZeroDivisionError):
            pass
    raise ModelConfigError(f"{path}: {what} must be a number, got {value!r}")


def _int(value: Any, what: str, path: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ModelConfigError(f"{path}: {what} must be a positive integer, got {value!r}")
    return value


def _size(value: Any, what: str, path: Path) -> tuple[int, int]:
    """``size: N`` or ``size: [w, h]`` → ``(w, h)``."""
    if isinstance(value, list) and len(value) == 2:
        return _int(value[0], what, path), _int(value[1], what, path)
    n = _int(value, what, path)
    return n, n


def _resize(params: dict, flavour: str, path: Path) -> dict[str, Any]:
    unknown = set(params) - {"resize_short", "size", "interpolation", "backend"}
    if unknown:
        raise ModelConfigError(f"{path}: ResizeImage has unknown parameters {sorted(unknown)}")
    backend = str(params.get("backend") or "cv2").lower()
    if backend not in ("cv2", "pil"):
        raise ModelConfigError(f"{path}: ResizeImage backend {backend!r} (cv2 or pil)")
    interp = params.get("interpolation")
    if interp is None:
        if flavour == "paddlex" and backend == "pil":
            # PaddleX looks "LINEAR" up among PIL's names and fails: so does this
            raise ModelConfigError(f"{path}: ResizeImage backend pil needs an interpolation")
        interp = "linear"
    key = str(interp).lower()
    if key not in _INTERP or (backend == "cv2" and key in _PIL_ONLY):
        raise ModelConfigError(f"{path}: ResizeImage interpolation {interp!r} for {backend}")
    if backend == "pil" and key in _CV2_ONLY:
        raise ModelConfigError(f"{path}: ResizeImage interpolation {interp!r} for pil")
    # PaddleX's names: LINEAR for cv2, BILINEAR for pil; the other spelling is a ValueError
    if (
        flavour == "paddlex"
        and key in ("linear", "bilinear")
        and (backend == "cv2") != (key == "linear")
    ):
        raise ModelConfigError(f"{path}: ResizeImage interpolation {interp!r} for {backend}")
    out: dict[str, Any] = {"backend": backend, "interpolation": _INTERP[key]}
    if ("resize_short" in params) == ("size" in params):
        raise ModelConfigError(f"{path}: ResizeImage needs exactly one of resize_short and size")
    if "resize_short" in params:
        out["resize_short"] = _int(params["resize_short"], "ResizeImage resize_short", path)
        out["resize_size"] = None
    else:
        out["resize_short"] = None
        out["resize_size"] = _size(params["size"], "ResizeImage size", path)
    return out


def _normalize(params: dict, flavour: str, path: Path) -> dict[str, Any]:
    unknown = set(params) - {"scale", "mean", "std", "order", "channel_num"}
    if unknown:
        raise ModelConfigError(f"{path}: NormalizeImage has unknown parameters {sorted(unknown)}")
    order = params.get("order", "")
    if order not in ("", "hwc", None):
        raise ModelConfigError(
            f"{path}: NormalizeImage order {order!r}: only HWC ('') input is supported"
        )
    if params.get("channel_num", 3) != 3:
        raise ModelConfigError(f"{path}: NormalizeImage channel_num {params['channel_num']!r}")
    out: dict[str, Any] = {
        "scale": _number(params.get("scale", 1.0 / 255.0), "NormalizeImage scale", path),
        "norm_formula": flavour,
    }
    for key in ("mean", "std"):
        value = params.get(key, [0.485, 0.456, 0.406] if key == "mean" else [0.229, 0.224, 0.225])
        if not isinstance(value, list) or len(value) != 3:
            raise ModelConfigError(f"{path}: NormalizeImage {key} must list 3 values: {value!r}")
        out[key] = tuple(_number(v, f"NormalizeImage {key}", path) for v in value)
    if any(s == 0 for s in out["std"]):
        raise ModelConfigError(f"{path}: NormalizeImage std has a zero")
    return out


def _preprocess(ops: Any, flavour: str, post: Postprocess, path: Path) -> Preprocess:
    fields: dict[str, Any] = {"crop_size": None}
    resized = normalized = False
    for name, params in _ops(ops, path, "PreProcess.transform_ops"):
        if name == "ResizeImage":
            fields.update(_resize(params, flavour, path))
            resized = True
        elif name == "CropImage":
            w, h = _size(params.get("size"), "CropImage size", path)
            if w != h:
                raise ModelConfigError(f"{path}: CropImage size {w}x{h}: only square crops")
            if not resized:
                raise ModelConfigError(f"{path}: CropImage before ResizeImage is not supported")
            # PaddleX's multi-label predictor runs no crop even when the yml lists one
            if not (flavour == "paddlex" and post.kind == "multilabel"):
                fields["crop_size"] = w
        elif name == "NormalizeImage":
            fields.update(_normalize(params, flavour, path))
            normalized = True
        elif name == "ToCHWImage":
            pass
        elif (
            name == "DecodeImage"
            and params.get("to_rgb", True)
            and not params.get("channel_first", False)
        ):
            pass  # decoding to RGB HWC is what every input path does anyway
        else:
            raise ModelConfigError(
                f"{path}: unknown preprocessing op {name!r}; lcnet-ov follows ResizeImage, "
                "CropImage, NormalizeImage, ToCHWImage (and DecodeImage to RGB) exactly and "
                "refuses to guess at others"
            )
    if not resized or not normalized:
        raise ModelConfigError(f"{path}: PreProcess needs a ResizeImage and a NormalizeImage")
    pp = Preprocess(**fields)
    try:
        h, w = pp.input_hw
    except ValueError as exc:
        raise ModelConfigError(f"{path}: {exc}") from None
    crop, fixed = pp.crop_size, pp.resize_size
    if fixed is not None and crop is not None and crop > min(fixed):
        raise ModelConfigError(f"{path}: CropImage {crop} exceeds the resized image")
    if pp.resize_short is not None and pp.crop_size is not None and pp.resize_short < w:
        raise ModelConfigError(f"{path}: resize_short {pp.resize_short} < crop {pp.crop_size}")
    return pp


# ---- PostProcess ---------------------------------------------------------------------------------


def _labels(value: Any, path: Path) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ModelConfigError(f"{path}: label_list must be a list, got {value!r}")
    return tuple(str(v) for v in value)


def _class_id_map(value: Any, path: Path) -> tuple[str, ...] | None:
    """PaddleClas' ``class_id_map_file`` (relative to deploy/ in its repo): read when found
    next to the config or above it; ``None`` when it is not there (the caller's labels)."""
    if not value:
        return None
    rel = Path(str(value))
    candidates = [rel] if rel.is_absolute() else [p / rel for p in (path.parent, *path.parents)]
    for cand in candidates:
        if cand.is_file():
            lines = cand.read_text(encoding="utf-8").splitlines()
            return tuple(line.strip().split(" ", 1)[1] for line in lines if " " in line.strip())
    return None


def _thresholds(value: Any, n: int | None, path: Path) -> float | tuple[float, ...]:
    """PaddleX ``threshold``: a float, a per-class list, or a dict with ``default``."""
    if isinstance(value, float):
        return value
    if isinstance(value, list):
        return tuple(_number(v, "MultiLabelThreshOutput threshold", path) for v in value)
    if isinstance(value, dict):
        if "default" not in value or n is None:
            raise ModelConfigError(
                f"{path}: MultiLabelThreshOutput threshold dict needs 'default' and a label_list"
            )
        out = [_number(value["default"], "threshold default", path)] * n
        for key, thr in value.items():
            if key == "default":
                continue
            if not str(key).isdigit() or int(key) >= n:
                raise ModelConfigError(f"{path}: threshold key {key!r} is not a class index")
            out[int(key)] = _number(thr, f"threshold {key}", path)
        return tuple(out)
    raise ModelConfigError(
        f"{path}: MultiLabelThreshOutput threshold must be a float, list or dict, got {value!r}"
    )


def _postprocess(post: dict, flavour: str, path: Path) -> Postprocess:
    ops = {k: (v or {}) for k, v in post.items() if k != "main_indicator"}
    ops.pop("SavePreLabel", None)  # PaddleClas: copies files only when given names; inert
    if flavour == "paddleclas":
        main = post["main_indicator"]
        if main not in ops:
            raise ModelConfigError(f"{path}: main_indicator {main!r} has no PostProcess entry")
        ops = {main: ops[main]}
    if not ops:
        return Postprocess.default()
    if len(ops) != 1:
        raise ModelConfigError(f"{path}: several PostProcess ops {sorted(ops)}; expected one")
    ((name, params),) = ops.items()
    if not isinstance(params, dict):
        raise ModelConfigError(f"{path}: {name}'s parameters must be a mapping: {params!r}")
    labels = _labels(params.get("label_list"), path)
    if labels is None:
        labels = _class_id_map(params.get("class_id_map_file"), path)
    if name == "Topk":
        topk = params.get("topk", 1)
        return Postprocess("topk", topk=_int(topk, "Topk topk", path), labels=labels)
    if name == "MultiLabelThreshOutput":
        n = len(labels) if labels is not None else None
        thr = _thresholds(params.get("threshold", 0.5), n, path)
        extra = {} if flavour == "paddlex" else {"at_or_above": True, "index_order": True}
        return Postprocess(
            "multilabel", topk=None, threshold=thr, labels=labels, activation="sigmoid",
            params=extra,
        )  # fmt: skip
    if name == "ThreshOutput":
        pair = (str(params.get("label_0", "0")), str(params.get("label_1", "1")))
        return Postprocess(
            "threshold",
            topk=None,
            threshold=_number(params.get("threshold", 0), "ThreshOutput threshold", path),
            labels=labels or pair,
            params={"default_label_index": int(params.get("default_label_index", 0))},
        )
    if name in ("PersonAttribute", "VehicleAttribute"):
        kind = "person_attribute" if name == "PersonAttribute" else "vehicle_attribute"
        allowed = (
            {"threshold", "glasses_threshold", "hold_threshold"}
            if kind == "person_attribute"
            else {"color_threshold", "type_threshold"}
        )
        unknown = set(params) - allowed
        if unknown:
            raise ModelConfigError(f"{path}: {name} has unknown parameters {sorted(unknown)}")
        q = {k: _number(v, f"{name} {k}", path) for k, v in params.items()}
        return Postprocess(kind, topk=None, activation="sigmoid", params=q)
    raise ModelConfigError(
        f"{path}: unknown post-processing op {name!r}; lcnet-ov knows Topk, "
        "MultiLabelThreshOutput, ThreshOutput, PersonAttribute and VehicleAttribute"
    )


def with_labels(config: ModelConfig, labels: tuple[str, ...]) -> ModelConfig:
    """``config`` with ``labels`` standing in for the ones it names (a user's class map)."""
    return replace(config, labels=labels, postprocess=replace(config.postprocess, labels=labels))
