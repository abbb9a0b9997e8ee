"""Seeded PP-LCNet family models in the exact layouts PaddleX 3 and PaddleClas' PULC ship.

For the reference tests (tests/test_family_references.py): each model is a real PP-LCNet
(:func:`lcnet_ov.export.paddle_arch.build`, PaddleClas' ``stride_list`` for the text-line
model) with random but healthy weights fixed by a seed, exported like PaddleClas'
``Engine.export`` (Softmax or Sigmoid appended: ``ExportModel(base_model, out_act)``) and laid
out as the official tarballs unpack:

* PaddleX 3: ``<name>/`` with ``inference.json`` (PIR) + ``inference.pdiparams`` +
  ``inference.yml`` (written like ``ppcls/utils/config.py:dump_infer_config``: ``Global``,
  ``Hpi`` with a YAML anchor/alias, ``PreProcess.transform_ops``, ``PostProcess``);
* PULC: ``<name>_infer/`` with a legacy ``inference.pdmodel`` + ``.pdiparams(.info)`` and no
  config; PaddleClas' own ``inference_<name>.yaml`` (verbatim from the paddleclas 2.6 wheel) is
  written next to it.

Paddle decides between the PIR (``inference.json``) and the legacy writer from
``FLAGS_enable_pir_api`` *before it is imported*, so :func:`build` runs this module as a child
interpreter (``python -m lcnet_ov.testing.paddlex_models OUT NAME..``), once per writer; the
calling process's Paddle state is never touched. Same seed → identical ``inference.pdiparams``.

Calibration (why): BN statistics and the head's scale are taken on real photos when a folder of
them is given (``calib_dir``), else on smooth synthetic images; each class's logit is re-centred
so that real photos do not all saturate at exactly 1.0 (multi-label answers would be ties).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
TEXTLINE_STRIDES = [2, [2, 1], [2, 1], [2, 1], [2, 1]]

# ppcls/utils/COCO2017_label_list.txt (PaddleClas), 80 names, id order
COCO80 = [
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
    'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat',
    'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack',
    'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball',
    'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket',
    'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
    'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair',
    'couch', 'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse',
    'remote', 'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink', 'refrigerator',
    'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush',
]  # fmt: skip
# ppcls/utils/pedestrian_attribute_label_list.txt (PaddleClas), 26 names, id order, with the Chinese
# in parentheses: dump_infer_config takes line.strip().split(' ', 1)[1] verbatim
PEDESTRIAN26 = [
    "Hat(帽子)", "Glasses(眼镜)", "ShortSleeve(短袖)", "LongSleeve(长袖)",
    "UpperStride(上衣条纹)", "UpperLogo(上衣有标志)", "UpperPlaid(上衣格子)",
    "UpperSplice(上衣拼接)", "LowerStripe(裤子条纹)", "LowerPattern(裤子图案)",
    "LongCoat(长外套)", "Trousers(长裤)", "Shorts(短裤)", "Skirt&Dress(裙子或连衣裙)",
    "Boots(靴子)", "HandBag(手提包)", "ShoulderBag(单肩包)", "Backpack(背包)",
    "HoldObjectsInFront(手持物品在前)", "AgeLess18(年龄小于18岁)", "Age18-60(年龄在18-60岁之间)",
    "AgeOver60(年龄大于60岁)", "Female(女性)", "Front(面朝前)", "Side(侧面)", "Back(背面)",
]  # fmt: skip


def _normalize_op() -> dict:
    # dump_infer_config keeps the config's key order and appends channel_num; scale becomes
    # float(1.0/255.0) = 0.00392156862745098
    return {
        "NormalizeImage": {
            "scale": 1.0 / 255.0,
            "mean": list(MEAN),
            "std": list(STD),
            "order": "",
            "channel_num": 3,
        }
    }


def _hpi(h: int, w: int) -> dict:
    # one dict used twice -> yaml.dump writes an anchor (&id001) and an alias (*id001), exactly as
    # the published files (inference_meta._hpi_simple) do; readers must accept YAML aliases
    shapes = {"x": [[1, 3, h, w], [1, 3, h, w], [8, 3, h, w]]}
    return {
        "backend_configs": {
            "paddle_infer": {"trt_dynamic_shapes": shapes},
            "tensorrt": {"dynamic_shapes": shapes},
        }
    }


# name -> spec. "yml" is the PaddleX inference.yml (None for PULC folders).
PADDLEX_MODELS: dict[str, dict] = {
    "PP-LCNet_x1_0_textline_ori": {
        "scale": 1.0,
        "classes": 2,
        "hw": (80, 160),
        "strides": TEXTLINE_STRIDES,
        "act": "softmax",
        "pre": [{"ResizeImage": {"size": [160, 80]}}, _normalize_op(), {"ToCHWImage": None}],
        "post": {"Topk": {"topk": 1, "label_list": ["0_degree", "180_degree"]}},
    },
    "PP-LCNet_x1_0_doc_ori": {
        "scale": 1.0,
        "classes": 4,
        "hw": (224, 224),
        "strides": None,
        "act": "softmax",
        "pre": [
            {"ResizeImage": {"resize_short": 256}},
            {"CropImage": {"size": 224}},
            _normalize_op(),
            {"ToCHWImage": None},
        ],
        "post": {"Topk": {"topk": 1, "label_list": ["0", "90", "180", "270"]}},
    },
    "PP-LCNet_x1_0_ML": {
        "scale": 1.0,
        "classes": 80,
        "hw": (448, 448),
        "strides": None,
        "act": "sigmoid",
        "pre": [
            {"ResizeImage": {"size": 448, "interpolation": "bilinear", "backend": "pil"}},
            _normalize_op(),
            {"ToCHWImage": None},
        ],
        "post": {"MultiLabelThreshOutput": {"threshold": 0.5, "label_list": COCO80}},
    },
    "PP-LCNet_x1_0_pedestrian_attribute": {
        "scale": 1.0,
        "classes": 26,
        "hw": (256, 192),
        "strides": None,
        "act": "sigmoid",
        "pre": [{"ResizeImage": {"size": [192, 256]}}, _normalize_op(), {"ToCHWImage": None}],
        "post": {"MultiLabelThreshOutput": {"threshold": 0.5, "label_list": PEDESTRIAN26}},
    },
}

PULC_MODELS: dict[str, dict] = {
    "person_exists": {
        "scale": 1.0,
        "classes": 2,
        "hw": (224, 224),
        "strides": None,
        "act": "softmax",
    },
    "person_attribute": {
        "scale": 1.0,
        "classes": 26,
        "hw": (256, 192),
        "strides": None,
        "act": "sigmoid",
    },
}

# verbatim copies of paddleclas 2.6's deploy/configs/PULC/<name>/inference_<name>.yaml
# (only infer_imgs / inference_model_dir are placeholders there; run_paddleclas.py overrides them)
PULC_YAMLS = {
    "person_exists": """Global:
  infer_imgs: "./images/PULC/person_exists/objects365_02035329.jpg"
  inference_model_dir: "./models/person_exists_infer"
  batch_size: 1
  use_gpu: True
  enable_mkldnn: False
  cpu_num_threads: 10
  enable_benchmark: True
  use_fp16: False
  ir_optim: True
  use_tensorrt: False
  gpu_mem: 8000
  enable_profile: False

PreProcess:
  transform_ops:
    - ResizeImage:
        resize_short: 256
    - CropImage:
        size: 224
    - NormalizeImage:
        scale: 0.00392157
        mean: [0.485, 0.456, 0.406]
        std: [0.229, 0.224, 0.225]
        order: ''
        channel_num: 3
    - ToCHWImage:

PostProcess:
  main_indicator: ThreshOutput
  ThreshOutput:
    threshold: 0.5
    label_0: nobody
    label_1: someone
  SavePreLabel:
    save_dir: ./pre_label/
""",
    "person_attribute": """Global:
  infer_imgs: "./images/PULC/person_attribute/090004.jpg"
  inference_model_dir: "./models/person_attribute_infer"
  batch_size: 1
  use_gpu: True
  enable_mkldnn: True
  cpu_num_threads: 10
  benchmark: False
  use_fp16: False
  ir_optim: True
  use_tensorrt: False
  gpu_mem: 8000
  enable_profile: False

PreProcess:
  transform_ops:
    - ResizeImage:
        size: [192, 256]
    - NormalizeImage:
        scale: 1.0/255.0
        mean: [0.485, 0.456, 0.406]
        std: [0.229, 0.224, 0.225]
        order: ''
        channel_num: 3
    - ToCHWImage:

PostProcess:
  main_indicator: PersonAttribute
  PersonAttribute:
    threshold: 0.5  #default threshold
    glasses_threshold: 0.3  #threshold only for glasses
    hold_threshold: 0.6 #threshold only for hold
""",
}


def _paddle_arch():
    from lcnet_ov.export import paddle_arch

    return paddle_arch


#: real photos to calibrate on (LCNET_CALIB_DIR in the child); synthetic images without them
CALIB_ENV = "LCNET_CALIB_DIR"


def _calib_files() -> list[Path]:
    folder = os.environ.get(CALIB_ENV)
    if not folder:
        return []
    exts = (".jpeg", ".jpg", ".png")
    return sorted(p for p in Path(folder).glob("*") if p.suffix.lower() in exts)


def _calibration_batch(h: int, w: int, seed: int) -> np.ndarray:
    """8 images normalised like NormalizeImage (RGB, NCHW float32): real photos when
    ``LCNET_CALIB_DIR`` holds 16 or more (spread over the sorted list, skipping its first 10,
    which the reference tests classify), else smooth random images."""
    import cv2

    rng = np.random.default_rng(seed)
    files = _calib_files()
    out = np.empty((8, 3, h, w), np.float32)
    for i in range(8):
        if len(files) >= 16:
            pick = files[len(files) // 32 :: len(files) // 16][:16]
            img = cv2.imread(str(pick[int(rng.integers(len(pick)))]))[:, :, ::-1]
            img = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        else:
            small = rng.integers(0, 256, (max(h // 16, 2), max(w // 16, 2), 3), np.uint8)
            img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC).astype(np.float32)
        out[i] = ((img / 255.0 - MEAN) / STD).transpose(2, 0, 1)
    return out


def seeded_backbone(
    scale: float,
    classes: int,
    hw: tuple[int, int],
    strides,
    seed: int,
    logit_std: float = 2.0,
    bias: float = 0.0,
):
    """PP-LCNet with PaddleClas' optional `stride_list`, healthy random weights, eval mode."""
    pa = _paddle_arch()
    paddle = pa.paddle
    paddle.seed(seed)
    net = pa.build(scale, classes)
    if strides is not None:
        # PaddleClas PPLCNet(stride_list=...): [0] is conv1's stride, [1:] replace the stride of
        # the FIRST block of blocks3..blocks6 (the textline / language models use [2,1]: halve H
        # only, keep W); padding stays (k-1)//2
        net.conv1.conv._stride = _pair(strides[0])
        for i, s in enumerate(strides[1:]):
            getattr(net, f"blocks{i + 3}")[0].dw_conv.conv._stride = _pair(s)
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
        net(paddle.to_tensor(_calibration_batch(*hw, seed=seed + 1)))
    for bn in bns:
        bn._momentum = 0.9
        var = bn._variance.numpy()
        bn._variance.set_value(np.maximum(var, 0.05 * float(var.mean())).astype("float32"))
    net.eval()
    # Task heads: recentre and rescale each class's logit so that, over 16 real calibration
    # images, it has mean `bias` and std `logit_std`. Without it every real photo lands in the same
    # saturated corner (softmax/sigmoid at exactly 1.0, multi-label results full of ties whose
    # order is numpy's unstable argsort) and answers barely depend on the image.
    with paddle.no_grad():
        x = np.concatenate(
            [_calibration_batch(*hw, seed=seed + 2), _calibration_batch(*hw, seed=seed + 3)]
        )
        logits = net(paddle.to_tensor(x)).numpy().astype(np.float64)
    w = net.fc.weight.numpy().astype(np.float64)  # (in, classes)
    b0 = net.fc.bias.numpy().astype(np.float64)
    k = logit_std / np.maximum(logits.std(axis=0), 1e-6)
    mu = logits.mean(axis=0)
    net.fc.weight.set_value((w * k).astype("float32"))
    net.fc.bias.set_value(((b0 - mu) * k + bias).astype("float32"))
    return net


def _head(act: str) -> dict:
    return {"logit_std": 2.0, "bias": 0.0} if act == "softmax" else {"logit_std": 2.0, "bias": -1.0}


def _pair(s) -> list[int]:
    return [int(s), int(s)] if isinstance(s, int) else [int(s[0]), int(s[1])]


def export(net, act: str, hw: tuple[int, int], prefix: Path, legacy: bool) -> None:
    """paddle.jit.save like ppcls Engine.export: ExportModel(base_model, out_act)."""
    pa = _paddle_arch()
    paddle = pa.paddle
    nn = paddle.nn

    def sigmoid(x):
        # Paddle 3.3's legacy (non-PIR) static mode has no python path for sigmoid
        # ("argument must be Value, but got Variable"): append the legacy op by hand there
        if paddle.in_dynamic_mode() or paddle.framework.in_pir_mode():
            return paddle.nn.functional.sigmoid(x)
        from paddle.base.layer_helper import LayerHelper

        helper = LayerHelper("sigmoid")
        out = helper.create_variable_for_type_inference(x.dtype)
        helper.append_op(type="sigmoid", inputs={"X": x}, outputs={"Out": out})
        return out

    class ExportModel(nn.Layer):
        def __init__(self, base):
            super().__init__()
            self.base_model = base
            self.out_act = nn.Softmax(axis=-1) if act == "softmax" else None

        def forward(self, x):
            y = self.base_model(x)
            return self.out_act(y) if self.out_act is not None else sigmoid(y)

    model = ExportModel(net)
    model.eval()
    spec = [paddle.static.InputSpec(shape=[None, 3, *hw], dtype="float32")]
    static = paddle.jit.to_static(model, input_spec=spec, full_graph=True)
    paddle.jit.save(static, str(prefix))
    want = ".pdmodel" if legacy else ".json"
    if not prefix.with_suffix(want).exists():
        raise RuntimeError(f"{prefix}: expected inference{want} (FLAGS_enable_pir_api mismatch)")


def write_yml(path: Path, name: str, spec: dict) -> None:
    import yaml

    h, w = spec["hw"]
    data = {
        "Global": {"model_name": name},
        "Hpi": _hpi(h, w),
        "PreProcess": {"transform_ops": spec["pre"]},
        "PostProcess": spec["post"],
    }
    with open(path, "w", encoding="utf-8") as f:
        yaml.dump(data, f, default_flow_style=False, allow_unicode=True, sort_keys=False)


def _tar(folder: Path, top: str, out: Path) -> None:
    with tarfile.open(out, "w") as t:
        for p in sorted(folder.iterdir()):
            t.add(p, arcname=f"{top}/{p.name}")


def make_paddlex(out: Path, name: str, seed: int) -> Path:
    spec = PADDLEX_MODELS[name]
    d = out / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    net = seeded_backbone(
        spec["scale"], spec["classes"], spec["hw"], spec["strides"], seed, **_head(spec["act"])
    )
    export(net, spec["act"], spec["hw"], d / "inference", legacy=False)
    write_yml(d / "inference.yml", name, spec)
    _tar(d, f"{name}_infer", out / f"{name}_infer.tar")
    return d


def make_pulc(out: Path, name: str, seed: int) -> Path:
    """Legacy program (inference.pdmodel) like the official PULC tars; needs the old IR."""
    spec = PULC_MODELS[name]
    d = out / f"{name}_infer"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    net = seeded_backbone(
        spec["scale"], spec["classes"], spec["hw"], spec["strides"], seed, **_head(spec["act"])
    )
    export(net, spec["act"], spec["hw"], d / "inference", legacy=True)
    (out / f"inference_{name}.yaml").write_text(PULC_YAMLS[name], encoding="utf-8")
    _tar(d, f"{name}_infer", out / f"{name}_infer.tar")
    return d


def build(
    out: str | Path,
    names: list[str] | None = None,
    *,
    seed: int = 0,
    calib_dir: str | Path | None = None,
    timeout: float = 600,
) -> dict[str, Path]:
    """Build ``names`` (default: all) under ``out`` in child interpreters; ``{name: folder}``.

    PaddleX models need Paddle's PIR writer, PULC ones the legacy writer: one child each, with
    ``FLAGS_enable_pir_api`` set before Paddle is imported there."""
    out = Path(out)
    names = list(names or [*PADDLEX_MODELS, *PULC_MODELS])
    unknown = set(names) - set(PADDLEX_MODELS) - set(PULC_MODELS)
    if unknown:
        raise ValueError(f"unknown seeded family model(s): {sorted(unknown)}")
    env = dict(os.environ, GLOG_minloglevel="2")
    if calib_dir is not None:
        env[CALIB_ENV] = str(calib_dir)
    for pir, group in (
        ("1", [n for n in names if n in PADDLEX_MODELS]),
        ("0", [n for n in names if n in PULC_MODELS]),
    ):
        if not group:
            continue
        cmd = [sys.executable, "-m", __name__, str(out), "--seed", str(seed), "--only", *group]
        done = subprocess.run(
            cmd, env={**env, "FLAGS_enable_pir_api": pir}, capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"building {group} failed:\n{done.stderr[-3000:]}")
    return {n: out / (n if n in PADDLEX_MODELS else f"{n}_infer") for n in names}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    names = args.only or [*PADDLEX_MODELS, *PULC_MODELS]
    pir = os.environ.get("FLAGS_enable_pir_api")  # noqa: SIM112 (Paddle's own name)
    for n in names:
        if (n in PADDLEX_MODELS and pir != "1") or (n in PULC_MODELS and pir != "0"):
            print(f"{n}: run through build() (FLAGS_enable_pir_api={pir!r})", file=sys.stderr)
            return 2
    # per-model seed = --seed + its fixed index in the tables, so --only gives the same weights
    for n in names:
        if n in PADDLEX_MODELS:
            print(make_paddlex(args.out, n, args.seed + list(PADDLEX_MODELS).index(n)))
        else:
            print(make_pulc(args.out, n, args.seed + 100 + list(PULC_MODELS).index(n)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
