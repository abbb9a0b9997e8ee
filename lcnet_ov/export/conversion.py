"""PP-LCNet → OpenVINO IR, from any form PaddleClas ships or trains.

Sources: a zoo name, a Paddle inference-model folder (legacy ``inference.pdmodel`` or Paddle 3
``inference.json``), a PaddleClas training checkpoint (``.pdparams``), or an ONNX file.

Routes: Paddle models go through paddle2onnx (opset ≥ 14, so HardSwish/HardSigmoid stay single
ops that NNCF and OpenVINO fuse) and then OpenVINO's ONNX frontend; ``route="paddle"`` uses
OpenVINO's own Paddle frontend instead (legacy ``.pdmodel`` only). Every IR is verified against
the source framework before it is moved into place (see :mod:`lcnet_ov.export.verify`).
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import paths, zoo
from .._deps import ensure_installed, require
from .._outputs import check_writable_dir, ir_output
from .._util import WrittenIR, package_versions, save_ir_atomically
from ..errors import (
    CacheDirError,
    ConversionError,
    ConvertOptionError,
    ModelConfigError,
    UsageError,
)
from ..inputs.model_config import ModelConfig
from ..postprocess import Postprocess
from ..runtime.folding import fold_preprocessing
from ..runtime.metadata import ModelMetadata, ends_in_softmax, graph_activation, write_metadata
from ._child import call_in_child
from .sources import (
    Source,
    _export_checkpoint,
    resolve_source,
)
from .verify import (
    ATOL_FP16,
    ATOL_FP32,
    Verification,
    compare,
    onnxruntime_inference,
    paddle_inference,
    sample_images,
)

MIN_OPSET = 14
ROUTES = ("onnx", "paddle")


@dataclass(frozen=True)
class ConvertOptions:
    """How to build the IR. Defaults suit a CPU server: dynamic batch, fp32 weights."""

    #: ``"onnx"`` (paddle2onnx → ONNX frontend) or ``"paddle"`` (OpenVINO's Paddle frontend)
    route: str = "onnx"
    opset: int = 14
    #: ``None`` → dynamic batch dimension; an int fixes it
    batch_size: int | None = None
    input_size: int | None = None
    #: store weights as fp16 (halves the .bin; the CPU still computes in f32/bf16)
    compress_to_fp16: bool = False
    #: fold u8 NHWC BGR → normalized NCHW into the IR (the caller still resizes and crops)
    embed_preprocessing: bool = False
    verify: bool = True
    #: for ``.pdparams``: classifier width; inferred from the checkpoint when ``None``
    num_classes: int | None = None

    def __post_init__(self) -> None:
        if self.route not in ROUTES:
            raise ConvertOptionError(f"unknown route {self.route!r}; choose one of {ROUTES}")
        if self.opset < MIN_OPSET:
            raise ConvertOptionError(
                f"opset {self.opset} writes HardSwish as x * HardSigmoid(x), after which an NNCF "
                f"INT8 model gives every image the same output; use --opset {MIN_OPSET} or newer"
            )
        if self.batch_size is not None and self.batch_size < 1:
            raise ConvertOptionError(f"batch size must be ≥ 1, got {self.batch_size}")


@dataclass(frozen=True)
class ConvertResult(WrittenIR):
    xml: Path
    metadata: ModelMetadata
    source_kind: str
    route: str
    verification: Verification | None
    steps: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.files(),
            "name": self.metadata.name,
            "num_classes": self.metadata.num_classes,
            "precision": self.metadata.precision,
            "embedded_preprocessing": self.metadata.embedded_preprocessing,
            "source_kind": self.source_kind,
            "route": self.route,
            "verification": self.verification.to_dict() if self.verification else None,
        }


def paddle_to_onnx(program: Path, params: Path, out: Path, opset: int = MIN_OPSET) -> Path:
    """paddle2onnx without its polygraphy step (which pip-installs packages on first use).

    Runs in a child interpreter (:mod:`lcnet_ov.export._child`): paddle2onnx prints from C++ to fds
    1/2, which this process must not redirect."""
    ensure_installed("paddle", extra="convert")  # named before the child starts
    ensure_installed("paddle2onnx", extra="convert")
    _, log = call_in_child(
        "lcnet_ov.export.conversion:_paddle2onnx_here",
        program,
        params,
        out,
        opset,
        error=ConversionError,
        what=f"paddle2onnx on {program}",
    )
    if not out.is_file():
        raise ConversionError(f"paddle2onnx wrote no output for {program}\n{log[-1500:]}")
    return out


def _paddle2onnx_here(program: Path, params: Path, out: Path, opset: int) -> None:
    """The export itself, in the child process."""
    require("paddle", extra="convert")
    p2o = require("paddle2onnx", extra="convert")
    p2o.export(
        str(program),
        str(params),
        str(out),
        opset_version=opset,
        auto_upgrade_opset=False,
        enable_onnx_checker=True,
        optimize_tool="None",
        verbose=False,
    )


def _to_openvino(
    src: Source, workdir: Path, options: ConvertOptions, step: Callable[[str], None]
) -> Any:
    import openvino as ov

    if src.kind == "onnx":
        target = src.path
    elif options.route == "paddle":
        if src.program is None or src.program.suffix != ".pdmodel":
            raise ConversionError(
                f"{src.display}: OpenVINO's Paddle frontend reads legacy .pdmodel programs only; "
                "use --route onnx for Paddle 3 inference.json models"
            )
        target = src.program
        step(f"OpenVINO Paddle frontend: {target.name}")
    else:
        assert src.program is not None and src.params is not None
        target = paddle_to_onnx(src.program, src.params, workdir / "model.onnx", options.opset)
        step(f"paddle2onnx (opset {options.opset}): {src.program.name} → ONNX")
    try:
        model = ov.convert_model(str(target))
    except Exception as exc:
        raise ConversionError(f"OpenVINO could not read {target}: {exc}") from exc
    step("OpenVINO convert_model → ov.Model")
    return model


def _preprocess_for(pp: zoo.Preprocess, input_size: int | None) -> zoo.Preprocess:
    """The preprocessing an IR reshaped to ``input_size`` needs: crop that size, and resize the
    short side in PaddleClas' proportion (256 for 224) so the crop keeps the same framing.
    Without this the metadata kept the spec's crop and every consumer fed 224 crops to it."""
    if not input_size or input_size == pp.crop_size:
        return pp
    resize = round(pp.resize_short * input_size / pp.crop_size)
    return dataclasses.replace(pp, crop_size=input_size, resize_short=resize)


def _config_preprocess(cfg: ModelConfig, input_size: int | None) -> zoo.Preprocess:
    """The config's preprocessing; ``--input-size`` only rescales a resize-short + crop one."""
    pp = cfg.preprocess
    if not input_size or (input_size, input_size) == pp.input_hw:
        return pp
    if pp.crop_size is None or pp.resize_short is None:
        raise ConvertOptionError(
            f"{cfg.path}: this model resizes to a fixed {pp.input_hw[1]}x{pp.input_hw[0]} "
            "(width x height); --input-size applies to resize-short + crop models only"
        )
    return _preprocess_for(pp, input_size)


def _config_labels(cfg: ModelConfig, num_classes: int) -> tuple[str, ...] | None:
    if cfg.labels is None:
        return None
    if cfg.postprocess.kind == "threshold" and num_classes != 2:
        return None  # ThreshOutput's label_0/label_1 name a binary model only
    if len(cfg.labels) != num_classes:
        raise ModelConfigError(
            f"{cfg.path}: lists {len(cfg.labels)} labels for a model with {num_classes} outputs"
        )
    return cfg.labels


def _fix_shapes(model: Any, options: ConvertOptions, hw: tuple[int, int]) -> None:
    import openvino as ov

    if len(model.inputs) != 1:
        raise ConversionError(f"expected one input, the model has {len(model.inputs)}")
    shape = model.input(0).get_partial_shape()
    if shape.rank.is_dynamic or shape.rank.get_length() != 4:
        raise ConversionError(f"expected an NCHW image input, got shape {shape}")
    h, w = hw
    batch = options.batch_size if options.batch_size is not None else -1
    model.reshape({model.input(0).any_name: ov.PartialShape([batch, 3, h, w])})
    model.output(0).get_tensor().add_names({"probs"})


def _labels_for(spec: zoo.ModelSpec | None, num_classes: int, onnx_path: Path | None) -> tuple:
    from ..inputs.labels import load_labels

    if spec is not None and spec.num_classes == num_classes:
        return tuple(load_labels(spec))
    if onnx_path is not None:
        from_onnx = _onnx_labels(onnx_path)
        if from_onnx and len(from_onnx) == num_classes:
            return from_onnx
    if num_classes == 1000:
        return tuple(load_labels("imagenet1k"))
    return tuple(f"class_{i}" for i in range(num_classes))


def _onnx_labels(path: Path) -> tuple[str, ...] | None:
    """PaddleOCR/rapid exports keep labels in ONNX metadata ``character`` (one per line)."""
    try:
        onnx = require("onnx", extra="convert")
        props = {
            p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props
        }
    except Exception:
        return None
    text = props.get("character") or props.get("labels")
    return tuple(line for line in text.splitlines() if line) if text else None


def _num_classes(model: Any) -> int:
    shape = model.output(0).get_partial_shape()
    last = shape[shape.rank.get_length() - 1]
    if last.is_dynamic:
        raise ConversionError(f"output has a dynamic class dimension ({shape})")
    return last.get_length()


def _verify(xml: Path, src: Source, pp: zoo.Preprocess, options: ConvertOptions) -> Verification:
    """Check ``xml`` against the framework ``src`` runs in: Paddle Inference or ONNX Runtime."""
    size = pp.input_hw
    batch = options.batch_size or 2
    atol = ATOL_FP16 if options.compress_to_fp16 else ATOL_FP32
    if src.kind == "paddle":
        program, params = src.program, src.params
        assert program is not None and params is not None
        name = "Paddle Inference"

        def reference(x: Any) -> Any:
            return paddle_inference(program, params, x)
    else:
        name = "ONNX Runtime"
        try:
            require("onnxruntime", extra="convert")
        except ImportError as exc:  # MissingDependencyError is an ImportError
            return Verification.skip(name, f"onnxruntime is not installed ({exc})", atol, batch)

        def reference(x: Any) -> Any:
            return onnxruntime_inference(src.path, x)

    images = sample_images(batch, size)
    return compare(xml, reference, images, pp, atol, reference_name=name)


def _refuse_existing(xml: Path, replace: bool) -> None:
    if not replace and (xml.exists() or xml.with_suffix(".bin").exists()):
        from ..errors import OutputExistsError

        raise OutputExistsError(f"{xml} exists; pass --force to replace it")


def default_output(name: str, options: ConvertOptions) -> Path:
    precision = paths.conversion_precision(
        compress_to_fp16=options.compress_to_fp16,
        embed_preprocessing=options.embed_preprocessing,
    )
    return paths.ir_path(name, precision)


def convert(
    source: str | Path,
    output: str | Path | None = None,
    *,
    model: str | None = None,
    options: ConvertOptions | None = None,
    on_step: Callable[[str], None] | None = None,
    replace: bool = True,
    config: str | Path | None = None,
) -> ConvertResult:
    """Convert ``source`` to an IR at ``output`` (default: the zoo cache) and verify it.

    ``replace=False`` refuses an existing IR there (:class:`OutputExistsError`), checked before
    any work when ``output`` is given and before writing otherwise (``lcnet-ov convert``
    without ``--force``).

    ``model`` names the zoo entry whose labels and preprocessing apply (needed for a
    ``.pdparams`` of a non-default size; otherwise inferred). Nothing is left at ``output``
    unless conversion and verification succeed.

    The model's own config is the source of truth for pre- and post-processing: a PaddleX 3
    folder's ``inference.yml`` (or the PaddleClas/PULC yaml named by ``config``) sets the IR's
    input size, its preprocessing, labels and post-processing in rt_info. Without one the zoo
    spec's (or ImageNet's) apply, as before.
    """

    options = options or ConvertOptions()
    steps: list[str] = []

    def step(msg: str) -> None:
        steps.append(msg)
        if on_step:
            on_step(msg)

    if output is not None:  # a bad -o fails before any download or conversion
        _refuse_existing(ir_output(output), replace)
        check_writable_dir(ir_output(output).parent, shown=output)
    else:
        check_writable_dir(paths.home(), f"model cache (${paths.ENV_HOME})", CacheDirError)
    src = resolve_source(source, model, config)
    if src.kind == "onnx" and options.route == "paddle":
        raise UsageError(
            f"{src.display}: --route paddle reads Paddle programs; this source is ONNX "
            "(leave --route out, ONNX goes through OpenVINO's ONNX frontend)"
        )
    input_kind = "zoo" if src.from_zoo else src.kind  # before a checkpoint becomes "paddle"
    step(f"source: {src.kind} {src.display}")
    with tempfile.TemporaryDirectory(prefix="lcnet-ov-") as tmp:
        workdir = Path(tmp)
        if src.kind == "pdparams":
            src = _export_checkpoint(src, workdir, options.num_classes, options.input_size)
            step(f"exported checkpoint as Paddle inference model ({src.program.name})")
        ov_model = _to_openvino(src, workdir, options, step)
        spec, cfg = src.spec, src.config
        if cfg is not None:
            pp = _config_preprocess(cfg, options.input_size)
            step(f"model config: {cfg.path.name} ({cfg.flavour}, {cfg.postprocess.kind})")
        else:
            pp = _preprocess_for(spec.preprocess if spec else zoo.Preprocess(), options.input_size)
        _fix_shapes(ov_model, options, pp.input_hw)
        num_classes = _num_classes(ov_model)
        onnx_path = src.path if src.kind == "onnx" else None
        name = spec.name if spec else (src.path.stem if src.kind != "paddle" else src.path.name)
        if cfg is not None and cfg.name and spec is None:
            name = cfg.name
        labels = (_config_labels(cfg, num_classes) if cfg else None) or _labels_for(
            spec, num_classes, onnx_path
        )
        post = cfg.postprocess if cfg else Postprocess.default()
        post = dataclasses.replace(
            post, labels=labels if post.labels is not None else None,
            activation=graph_activation(ov_model),
        )  # fmt: skip
        meta = ModelMetadata(
            name=name,
            labels=labels,
            postprocess=post,
            preprocess=pp,
            embedded_preprocessing=options.embed_preprocessing,
            precision="fp16" if options.compress_to_fp16 else "fp32",
            outputs_probabilities=ends_in_softmax(ov_model),  # logit exports get softmax at run
            source={
                "kind": src.kind,
                "path": str(src.path),
                "route": "onnx" if src.kind == "onnx" else options.route,
                "opset": options.opset,
                "zoo": spec.name if spec else None,
                "url": spec.infer_url if spec else None,
            },
            versions=package_versions(
                "lcnet-ov", "openvino", "paddlepaddle", "paddle2onnx", "onnx"
            ),
        )
        if options.embed_preprocessing:
            ov_model = fold_preprocessing(ov_model, pp)
            step("preprocessing folded in: u8 NHWC BGR → normalized NCHW")
        write_metadata(ov_model, meta)

        out_xml = ir_output(output) if output else default_output(name, options)
        _refuse_existing(out_xml, replace)
        verification: Verification | None = None

        def check(staged: Path) -> None:
            nonlocal verification
            step(f"saved IR ({'fp16' if options.compress_to_fp16 else 'fp32'} weights)")
            if options.verify:
                verification = _verify(staged, src, pp, options)
                step(verification.summary())
                verification.raise_if_failed()

        save_ir_atomically(
            ov_model,
            out_xml,
            compress_to_fp16=options.compress_to_fp16,
            error=ConversionError,
            check=check,
        )
    step(f"wrote {out_xml}")
    return ConvertResult(
        xml=out_xml,
        metadata=meta,
        source_kind=input_kind,
        route=meta.source["route"],
        verification=verification,
        steps=steps,
    )
