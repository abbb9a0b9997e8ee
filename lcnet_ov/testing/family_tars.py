"""Seeded PP-LCNet family models packed exactly as PaddleX 3 and PULC ship them, for tests.

:func:`build_tar` writes ``<name>_infer.tar`` for a zoo name of the family: one top folder
``<name>_infer/`` holding

* PaddleX 3 (``source == "paddlex"``): ``inference.json`` (a Paddle 3 PIR program),
  ``inference.pdiparams`` and ``inference.yml`` in the layout of PaddleClas'
  ``dump_infer_config`` (``Global.model_name``, an ``Hpi`` section with a YAML anchor and alias,
  ``PreProcess.transform_ops`` without ``DecodeImage``, ``PostProcess`` with ``label_list``);
* PULC (``source == "pulc"``): ``inference.pdmodel`` (legacy program), ``inference.pdiparams``
  and ``inference.pdiparams.info``, no config (PaddleClas keeps it in its deploy folder).

The network is PP-LCNet at the model's own input size (the textline/language models with
PaddleClas' ``stride_list`` ``[2, [2, 1], [2, 1], [2, 1], [2, 1]]``), random but healthy weights
fixed by ``seed`` (BN statistics from a forward pass on smooth images at that size), ending in
Softmax or Sigmoid as PaddleClas' ``ExportModel`` does. ``PP-LCNet_x1_0_ML`` gets a plain fc head
(PaddleClas' ML-Decoder is not rebuilt) and PP-LCNetV2 is not built here: both are converted
from their exported graph, so the head does not change what the archive and converter tests see.

Paddle fixes the program format (PIR or legacy) at import, so every model is exported in a child
interpreter with ``FLAGS_enable_pir_api`` set for its source: ``python -m
lcnet_ov.testing.family_tars NAME OUT_DIR [SEED]``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from .. import zoo

TEXTLINE_STRIDES: list[Any] = [2, [2, 1], [2, 1], [2, 1], [2, 1]]
_NORMALIZE = {
    "NormalizeImage": {
        "scale": 1.0 / 255.0,  # dump_infer_config writes the float 0.00392156862745098
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
        "order": "",
        "channel_num": 3,
    }
}
_RESIZE_CROP = [{"ResizeImage": {"resize_short": 256}}, {"CropImage": {"size": 224}}]
#: PaddleX 3.7.2's exported PreProcess (resize part) and Topk's ``topk`` per model
_PADDLEX_RESIZE: dict[str, list[dict[str, Any]]] = {
    "PP-LCNet_x0_25_textline_ori": [{"ResizeImage": {"size": [160, 80]}}],
    "PP-LCNet_x1_0_textline_ori": [{"ResizeImage": {"size": [160, 80]}}],
    "PP-LCNet_x1_0_pedestrian_attribute": [{"ResizeImage": {"size": [192, 256]}}],
    "PP-LCNet_x1_0_vehicle_attribute": [{"ResizeImage": {"size": [256, 192]}}],
    "PP-LCNet_x1_0_ML": [
        {"ResizeImage": {"size": 448, "interpolation": "bilinear", "backend": "pil"}}
    ],
}
_PADDLEX_TOPK = {
    "PP-LCNet_x0_25_textline_ori": 1,
    "PP-LCNet_x1_0_textline_ori": 1,
    "PP-LCNet_x1_0_doc_ori": 1,
}


def inference_yml(spec: zoo.ModelSpec) -> dict[str, Any]:
    """The ``inference.yml`` PaddleX 3 exports for ``spec`` (as a dict, before YAML)."""
    from ..inputs.labels import load_labels

    h, w = spec.input_hw
    shapes = {"x": [[1, 3, h, w], [1, 3, h, w], [8, 3, h, w]]}  # shared: anchor + alias
    labels = list(load_labels(spec))
    if spec.kind == "multilabel":
        post: dict[str, Any] = {"MultiLabelThreshOutput": {"threshold": 0.5, "label_list": labels}}
    else:
        post = {"Topk": {"topk": _PADDLEX_TOPK.get(spec.name, 5), "label_list": labels}}
    pre = [*_PADDLEX_RESIZE.get(spec.name, _RESIZE_CROP), _NORMALIZE, {"ToCHWImage": None}]
    return {
        "Global": {"model_name": spec.name},
        "Hpi": {
            "backend_configs": {
                "paddle_infer": {"trt_dynamic_shapes": shapes},
                "tensorrt": {"dynamic_shapes": shapes},
            }
        },
        "PreProcess": {"transform_ops": pre},
        "PostProcess": post,
    }


def _buildable(spec: zoo.ModelSpec) -> None:
    if spec.source not in ("paddlex", "pulc"):
        raise ValueError(f"{spec.name}: not a PaddleX 3 or PULC model")
    if spec.architecture == "PPLCNetV2":
        raise ValueError(f"{spec.name}: PP-LCNetV2 is another network; not built here")


def build_folder(name: str, out_dir: str | Path, seed: int = 0) -> Path:
    """Export ``name``'s seeded network (in a child) into ``out_dir/<name>_infer``; return it."""
    spec = zoo.get_spec(name)
    _buildable(spec)
    folder = Path(out_dir) / spec.archive_dir
    pir = "1" if spec.source == "paddlex" else "0"
    env = dict(os.environ, FLAGS_enable_pir_api=pir, GLOG_minloglevel="2")
    cmd = [sys.executable, "-m", "lcnet_ov.testing.family_tars", name, str(out_dir), str(seed)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"building {name} failed: {proc.stderr.strip()[-3000:]}")
    return folder


def pack(folder: Path, top: str, tar_path: str | Path, files: list[str] | None = None) -> Path:
    """Tar ``folder``'s files under ``top/`` (the official tars hold file members only)."""
    tar_path = Path(tar_path)
    names = files if files is not None else sorted(p.name for p in folder.iterdir())
    with tarfile.open(tar_path, "w") as tf:
        for name in names:
            tf.add(folder / name, arcname=f"{top}/{name}")
    return tar_path


def build_tar(name: str, out_dir: str | Path, seed: int = 0) -> Path:
    """``out_dir/<name>_infer.tar`` in the exact layout ``name``'s source ships."""
    spec = zoo.get_spec(name)
    folder = build_folder(name, Path(out_dir) / "folders", seed)
    files = sorted(p.name for p in folder.iterdir())
    if set(files) != set(spec.archive_files):
        raise RuntimeError(f"{name}: exported {files}, the official tar holds {spec.archive_files}")
    return pack(folder, spec.archive_dir, Path(out_dir) / spec.archive_name, files)


# ---- the child: export one model --------------------------------------------------------------


def _smooth_images(n: int, hw: tuple[int, int], seed: int) -> np.ndarray:
    """Normalised NCHW float32 images, smooth like photos (upscaled noise)."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = hw
    out = np.empty((n, 3, h, w), np.float32)
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    for i in range(n):
        small = rng.integers(0, 256, (max(h // 16, 2), max(w // 16, 2), 3), np.uint8)
        img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC).astype(np.float64)
        out[i] = ((img / 255.0 - mean) / std).transpose(2, 0, 1)
    return out


def _seeded_net(spec: zoo.ModelSpec, seed: int) -> Any:
    from ..export import paddle_arch

    paddle = paddle_arch.paddle
    paddle.seed(seed)
    net = paddle_arch.build(spec.scale, spec.num_classes)
    if spec.input_hw == (80, 160):  # PaddleClas' stride_list for the text-line models
        net.conv1.conv._stride = [2, 2]
        for i, s in enumerate(TEXTLINE_STRIDES[1:]):
            getattr(net, f"blocks{i + 3}")[0].dw_conv.conv._stride = list(s)
    rng = np.random.default_rng(seed)
    bns = [m for m in net.sublayers() if isinstance(m, paddle.nn.BatchNorm2D)]
    for bn in bns:
        c = bn.weight.shape[0]
        bn.weight.set_value(rng.uniform(0.75, 1.25, c).astype("float32"))
        bn.bias.set_value(rng.normal(0.0, 0.25, c).astype("float32"))
        bn._momentum = 0.0
    fan_in = net.fc.weight.shape[0]
    net.fc.weight.set_value(
        rng.normal(0.0, 1.5 / np.sqrt(fan_in), net.fc.weight.shape).astype("float32")
    )
    net.train()
    with paddle.no_grad():
        net(paddle.to_tensor(_smooth_images(8, spec.input_hw, seed + 1)))
    for bn in bns:
        bn._momentum = 0.9
        var = bn._variance.numpy()
        bn._variance.set_value(np.maximum(var, 0.05 * float(var.mean())).astype("float32"))
    net.eval()
    return net


def _export(spec: zoo.ModelSpec, net: Any, prefix: Path) -> None:
    """``paddle.jit.save`` of ``ExportModel(net, out_act)`` like PaddleClas' Engine.export."""
    from ..export import paddle_arch

    paddle = paddle_arch.paddle
    nn = paddle.nn

    def sigmoid(x: Any) -> Any:
        # Paddle 3.3's legacy static mode cannot trace F.sigmoid: append the op by hand
        if paddle.in_dynamic_mode() or paddle.framework.in_pir_mode():
            return paddle.nn.functional.sigmoid(x)
        from paddle.base.layer_helper import LayerHelper

        helper = LayerHelper("sigmoid")
        out = helper.create_variable_for_type_inference(x.dtype)
        helper.append_op(type="sigmoid", inputs={"X": x}, outputs={"Out": out})
        return out

    class ExportModel(nn.Layer):  # type: ignore[misc, name-defined]
        def __init__(self, base: Any) -> None:
            super().__init__()
            self.base_model = base
            self.softmax = nn.Softmax(axis=-1) if spec.output == "softmax" else None

        def forward(self, x: Any) -> Any:
            y = self.base_model(x)
            return self.softmax(y) if self.softmax is not None else sigmoid(y)

    model = ExportModel(net)
    model.eval()
    input_spec = [paddle.static.InputSpec(shape=[None, 3, *spec.input_hw], dtype="float32")]
    static = paddle.jit.to_static(model, input_spec=input_spec, full_graph=True)
    paddle.jit.save(static, str(prefix))


def _main(argv: list[str]) -> int:
    import yaml

    name, out_dir, *rest = argv
    spec = zoo.get_spec(name)
    _buildable(spec)
    folder = Path(out_dir) / spec.archive_dir
    folder.mkdir(parents=True, exist_ok=True)
    _export(spec, _seeded_net(spec, int(rest[0]) if rest else 0), folder / "inference")
    if spec.source == "paddlex":
        with open(folder / "inference.yml", "w", encoding="utf-8") as fh:
            yaml.dump(inference_yml(spec), fh, allow_unicode=True, sort_keys=False)
    elif not (folder / "inference.pdiparams.info").exists():
        raise SystemExit(f"{name}: the legacy export wrote no inference.pdiparams.info")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
