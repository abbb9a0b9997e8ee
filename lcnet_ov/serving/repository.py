"""Model repositories for servers that run without Python: OpenVINO Model Server and Triton.

``export_repository`` writes::

    DIR/<name>/1/model.xml, model.bin   the IR, input ``crops`` u8 [N, S, S, 3] BGR, output
                                        ``probabilities`` f32 [N, C]; N dynamic
    DIR/<name>/labels.txt               one label per line (Triton's ``label_filename``)
    DIR/config.json                     OVMS (``--format ovms``), or
    DIR/<name>/config.pbtxt             Triton (``--format triton``, backend ``openvino``)

Why this layout of the IR: such servers decode nothing and know nothing of PaddleClas, so the
normalization (u8 → f32, BGR → RGB, mean/std) goes into the graph with the same
``PrePostProcessor`` steps as ``convert --embed-preprocessing`` (:mod:`lcnet_ov.runtime.folding`),
logits get a Softmax, and the batch is left dynamic so both servers can batch requests. What
remains for the client is decode + resize-short + center-crop
(:func:`lcnet_ov.inputs.preprocess.resize_crop`), described in ``docs/serving.md``.

Before anything is moved into ``DIR`` the exported graph is compiled and compared with the
source IR run through the exact numpy preprocessing on seeded images (max |Δprob| ≤ 1e-5, same
top-1); the repository is assembled in a staging folder beside ``DIR/<name>`` and renamed into
place, so a failure leaves nothing half-written.

OVMS serves every model of a repository from one ``config.json``, so an export into a shared
repository adds or replaces only its own entry there (matched by name) and keeps the others;
the new file is written beside it, fsync'ed and renamed over it (atomic). A ``config.json`` that
cannot be read as an OVMS configuration is refused before anything is written. Two exports
into the same repository at the same moment are not serialized.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import OutputExistsError, ServeError
from ..runtime.folding import fold_preprocessing
from ..runtime.metadata import ModelMetadata, read_metadata, write_metadata

FORMATS = ("ovms", "triton")
INPUT_NAME = "crops"
OUTPUT_NAME = "probabilities"
#: exported graph vs. the source IR with the numpy preprocessing (folding rounds differently)
EXPORT_TOLERANCE = 1e-5


@dataclass(frozen=True)
class ExportResult:
    root: Path
    model_dir: Path
    xml: Path
    config: Path
    metadata: ModelMetadata
    max_abs_diff: float


def _prepare_graph(model: Any, meta: ModelMetadata) -> Any:
    """u8 NHWC BGR in, probabilities out, dynamic batch, stable tensor names."""
    import openvino as ov
    import openvino.opset13 as ops

    if not meta.embedded_preprocessing:
        model = fold_preprocessing(model, meta.preprocess)
    h, w = meta.preprocess.input_hw
    try:
        model.reshape({model.input(0): ov.PartialShape([-1, h, w, 3])})
    except RuntimeError as exc:
        raise ServeError(f"cannot give the IR a dynamic batch: {exc}") from exc
    if not meta.outputs_probabilities:
        probs = ops.softmax(model.output(0), 1)
        model = ov.Model([probs], model.get_parameters(), model.get_friendly_name())
    model.input(0).get_tensor().set_names({INPUT_NAME})
    model.output(0).get_tensor().set_names({OUTPUT_NAME})
    out_meta = meta.replace(embedded_preprocessing=True, outputs_probabilities=True)
    write_metadata(model, out_meta)
    # the Model API keys copied from the source describe float input; the graph normalizes now
    for key, value in (
        ("mean_values", "0 0 0"),
        ("scale_values", "1 1 1"),
        ("reverse_input_channels", "False"),
    ):
        model.set_rt_info(value, ["model_info", key])
    return model


def _check(source_xml: Path, exported_xml: Path, meta: ModelMetadata, core: Any) -> float:
    """Max |Δprob| of the exported IR (u8 crops) vs the source IR (exact float preprocessing)."""
    from ..inputs.preprocess import preprocess, resize_crop
    from ..runtime.loaded_model import LoadedModel, compile_config

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (300, 260 + 40 * i, 3), dtype=np.uint8) for i in range(3)]
    pp = meta.preprocess
    config = compile_config(hint="LATENCY")
    source = LoadedModel(source_xml, core=core)
    ref = source.compile("CPU", config)(np.stack([preprocess(im, pp) for im in images]))[0]
    ref = source.probabilities(np.asarray(ref))
    exported = core.compile_model(str(exported_xml), "CPU", config)
    got = exported(np.stack([resize_crop(im, pp) for im in images]))[0]
    diff = float(np.max(np.abs(np.asarray(got) - ref)))
    if diff > EXPORT_TOLERANCE or not np.array_equal(got.argmax(1), ref.argmax(1)):
        raise ServeError(
            f"exported IR disagrees with {source_xml}: max |Δprob| {diff:.2e} "
            f"(limit {EXPORT_TOLERANCE:g})"
        )
    return diff


def ovms_config(name: str, base_path: str) -> dict[str, Any]:
    return {
        "model_config_list": [
            {
                "config": {
                    "name": name,
                    "base_path": base_path,
                    # f32 keeps scores equal to Paddle's (Xeons with bf16 units default to bf16)
                    "plugin_config": {
                        "PERFORMANCE_HINT": "THROUGHPUT",
                        "INFERENCE_PRECISION_HINT": "f32",
                    },
                }
            }
        ]
    }


def merged_ovms_config(path: Path, name: str, base_path: str) -> dict[str, Any]:
    """``path``'s OVMS configuration with ``name``'s entry added or replaced (others kept, in
    order); a fresh one if ``path`` does not exist. :class:`ServeError` if it is not one."""
    entry = ovms_config(name, base_path)["model_config_list"][0]
    if not path.exists():
        return {"model_config_list": [entry]}
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ServeError(f"cannot read {path} as an OVMS configuration: {exc}") from exc
    models = config.get("model_config_list") if isinstance(config, dict) else None
    if not isinstance(models, list) or not all(
        isinstance(m, dict) and isinstance(m.get("config"), dict) for m in models
    ):
        raise ServeError(
            f"{path} is not an OVMS configuration (expected an object with a "
            "'model_config_list' of {\"config\": {...}} entries); move it away or fix it"
        )
    kept = [m for m in models if m["config"].get("name") != name]
    index = next((i for i, m in enumerate(models) if m["config"].get("name") == name), len(kept))
    kept.insert(index, entry)
    return {**config, "model_config_list": kept}


def _write_atomic(path: Path, text: str, staging: Path) -> None:
    tmp = staging / path.name
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def triton_config(
    name: str, input_hw: tuple[int, int], num_classes: int, max_batch: int, delay_us: int
) -> str:
    """``config.pbtxt`` text (protobuf text format of Triton's ``ModelConfig``)."""
    return f"""\
name: "{name}"
backend: "openvino"
max_batch_size: {max_batch}
input [
  {{
    name: "{INPUT_NAME}"
    data_type: TYPE_UINT8
    format: FORMAT_NHWC
    dims: [ {input_hw[0]}, {input_hw[1]}, 3 ]
  }}
]
output [
  {{
    name: "{OUTPUT_NAME}"
    data_type: TYPE_FP32
    dims: [ {num_classes} ]
    label_filename: "labels.txt"
  }}
]
dynamic_batching {{
  max_queue_delay_microseconds: {delay_us}
}}
instance_group [
  {{
    kind: KIND_CPU
    count: 1
  }}
]
parameters {{
  key: "PERFORMANCE_HINT"
  value: {{ string_value: "THROUGHPUT" }}
}}
parameters {{
  key: "INFERENCE_PRECISION_HINT"
  value: {{ string_value: "f32" }}
}}
"""


def export_repository(
    model: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    fmt: str,
    precision: str | None = None,
    name: str | None = None,
    max_batch: int = 8,
    max_wait_ms: float = 2.0,
    force: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> ExportResult:
    """Write an OVMS or Triton model repository for ``model`` under ``out_dir`` (module doc)."""
    import openvino as ov

    from ..runtime.core import shared_core
    from ..runtime.locate import locate_ir

    if fmt not in FORMATS:
        raise ServeError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    step = on_step or (lambda _msg: None)
    xml = locate_ir(model, precision)
    core = shared_core()
    meta = read_metadata(xml)
    name = name or meta.name
    if not name or "/" in name or name.startswith("."):
        raise ServeError(f"invalid model name {name!r} for a repository folder")
    root = Path(out_dir)
    target = root / name
    if target.exists() and not force:
        raise OutputExistsError(f"{target} exists; pass --force to replace it")
    if fmt == "ovms":  # a config.json we cannot merge into is refused before any work
        merged_ovms_config(root / "config.json", name, f"/models/{name}")
    graph = _prepare_graph(core.read_model(str(xml)), meta)
    step("graph: u8 NHWC BGR crops in, normalization inside, probabilities out, dynamic batch")
    input_hw, classes = meta.preprocess.input_hw, len(meta.labels)

    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-staging-", dir=root))
    try:
        model_dir = staging / name
        version = model_dir / "1"
        version.mkdir(parents=True)
        ov.save_model(graph, str(version / "model.xml"), compress_to_fp16=False)
        (model_dir / "labels.txt").write_text("\n".join(meta.labels) + "\n", encoding="utf-8")
        diff = _check(xml, version / "model.xml", meta, core)
        step(f"verified against {xml}: max |Δprob| {diff:.1e} (limit {EXPORT_TOLERANCE:g})")
        if fmt == "triton":
            text = triton_config(name, input_hw, classes, max_batch, int(max_wait_ms * 1000))
            (model_dir / "config.pbtxt").write_text(text, encoding="utf-8")
        old = None
        if target.exists():
            old = staging / ".replaced"
            os.replace(target, old)
        os.replace(model_dir, target)
        if fmt == "ovms":
            config = root / "config.json"
            merged = merged_ovms_config(config, name, f"/models/{name}")
            _write_atomic(config, json.dumps(merged, indent=2) + "\n", staging)
        else:
            config = target / "config.pbtxt"
    except OSError as exc:
        raise ServeError(f"cannot write the repository under {root}: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    step(f"wrote {target} ({fmt})")
    return ExportResult(root, target, target / "1" / "model.xml", config, meta, diff)
