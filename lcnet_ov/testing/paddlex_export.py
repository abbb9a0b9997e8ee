"""A seeded PP-LCNet ImageNet classifier written in PaddleX 3's own model-folder layout.

PaddleX 3 ships each model as ``inference.json`` (a PIR program), ``inference.pdiparams`` and an
``inference.yml`` saying how to pre- and post-process (``Global.model_name`` selects PaddleX's
predictor; ``PreProcess.transform_ops`` and ``PostProcess.Topk`` drive it). The benchmarks time
PaddleX's own predictor on such a folder against lcnet-ov on the same weights, without a
download: the network is :func:`lcnet_ov.testing.seeded_network` (random but healthy weights,
fixed by the seed), exported as PaddleClas' ``Engine.export`` does (backbone + Softmax, input
``[None, 3, 224, 224]``), and the yml mirrors the one PaddleX publishes for ``PP-LCNet_x1_0``
(the layout is described in the reference notes of issue 23 and built there by
``make_models.py``; this is that recipe for the ImageNet model). Needs Paddle; never imported by
the library.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: PaddleClas' ImageNet normalization, as ``dump_infer_config`` writes it (scale as a float)
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
SCALE_NAMES = {0.25: "x0_25", 0.35: "x0_35", 0.5: "x0_5", 0.75: "x0_75", 1.0: "x1_0"}


def paddlex_name(scale: float) -> str:
    """PaddleX's model name for the ImageNet PP-LCNet at ``scale`` (``PP-LCNet_x1_0``)."""
    return f"PP-LCNet_{SCALE_NAMES[scale]}"


def inference_yml(name: str, labels: list[str], crop: int = 224) -> dict[str, Any]:
    """The ``inference.yml`` PaddleX 3 publishes for an ImageNet PP-LCNet, as a dict."""
    shapes = {"x": [[1, 3, crop, crop], [1, 3, crop, crop], [8, 3, crop, crop]]}
    return {
        "Global": {"model_name": name},
        "Hpi": {
            "backend_configs": {
                "paddle_infer": {"trt_dynamic_shapes": shapes},
                "tensorrt": {"dynamic_shapes": shapes},
            }
        },
        "PreProcess": {
            "transform_ops": [
                {"ResizeImage": {"resize_short": 256}},
                {"CropImage": {"size": crop}},
                {
                    "NormalizeImage": {
                        "scale": 1.0 / 255.0,
                        "mean": list(MEAN),
                        "std": list(STD),
                        "order": "",
                        "channel_num": 3,
                    }
                },
                {"ToCHWImage": None},
            ]
        },
        "PostProcess": {"Topk": {"topk": 5, "label_list": list(labels)}},
    }


def write_paddlex_model(out_dir: str | Path, scale: float = 1.0, seed: int = 0) -> Path:
    """Write a seeded ``PP-LCNet_x<scale>`` in PaddleX's layout under ``out_dir``; returns it.

    Deterministic: the same seed gives the same weights. The program is PIR
    (``inference.json``), as PaddleX 3 ships it; the export runs in a child interpreter when
    this process's Paddle is in the legacy program mode (see
    :func:`lcnet_ov.export.checkpoint.export_inference_model`).
    """
    import yaml

    from ..export.checkpoint import export_inference_model
    from ..inputs.labels import load_labels
    from . import seeded_network

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    export_inference_model(seeded_network(scale, 1000, seed=seed), out, pir=True)
    if not (out / "inference.json").is_file():
        raise RuntimeError(f"{out}: Paddle did not write inference.json (PIR program)")
    labels = list(load_labels("imagenet1k"))
    doc = inference_yml(paddlex_name(scale), labels)
    with open(out / "inference.yml", "w", encoding="utf-8") as fh:
        yaml.dump(doc, fh, default_flow_style=False, allow_unicode=True, sort_keys=False)
    return out
