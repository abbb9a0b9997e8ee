"""Reference answers from PaddleClas 2.6's deploy ClsPredictor on a PULC inference yaml + model dir.

Run with /work/pdx-venv/bin/python (paddleclas 2.6.0 --no-deps + scikit-learn prettytable ujson
easydict faiss-cpu, paddlepaddle 3.3.x):

    python run_paddleclas.py PULC_NAME_OR_YAML MODEL_DIR IMG [IMG ...] [--batch-size 1]
                             [--mkldnn 0|1] [--threads N]

PULC_NAME_OR_YAML: a PULC name (person_exists, person_attribute, ...) -> the wheel's
paddleclas/deploy/configs/PULC/<name>/inference_<name>.yaml, or a path to a yaml.

Does what deploy/python/predict_cls.py:main does per image: cv2.imread (BGR) -> img[:, :, ::-1]
(RGB) -> the yaml's PreProcess ops -> Paddle Inference -> the yaml's PostProcess (main_indicator).
Global.use_gpu is forced False (CPU reference); enable_mkldnn / cpu_num_threads stay as the yaml
says unless --mkldnn / --threads override them.

stdout: one JSON line per image: {"file": path, "result": <what ClsPredictor returned, numpy
turned into JSON>, "raw": [the model's output probabilities, float32 -> float]} — "result" is
{"class_ids", "scores", "label_names"} for ThreshOutput / Topk / MultiLabelThreshOutput and
{"attributes", "output"} for PersonAttribute / VehicleAttribute.
stderr (last line): {"timing": {...}}.

A legacy inference.pdmodel folder (official PULC tars) is loaded with FLAGS_enable_pir_api=0 (set
here before paddle is imported): under Paddle 3.3 Config(dir, "inference") otherwise looks for
inference.json only.
Paddle 3.3 removed the memory-optimisation pass under PIR; the deploy Predictor still calls
paddle.inference.Config.enable_memory_optim(), so it is patched to a no-op here.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")


def _jsonable(o):
    import numpy as np

    if isinstance(o, dict):
        return {k: _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, np.ndarray):
        return _jsonable(o.tolist())
    if isinstance(o, np.generic):
        return o.item()
    return o


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("model_dir")
    ap.add_argument("images", nargs="+")
    ap.add_argument("--batch-size", type=int, default=1)
    ap.add_argument("--mkldnn", type=int, choices=(0, 1), default=None)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()

    md = Path(args.model_dir)
    if (md / "inference.pdmodel").exists() and not (md / "inference.json").exists():
        # Paddle 3.3 + the deploy Predictor's Config(dir, "inference") looks for inference.json
        # only ("Cannot open file .../inference.json"); the legacy program of an official PULC tar
        # loads with the PIR API off, which must be set before paddle is imported
        os.environ["FLAGS_enable_pir_api"] = "0"  # noqa: SIM112 (Paddle's name)

    t0 = time.perf_counter()
    import cv2
    import numpy as np
    import paddle.inference
    import paddleclas
    from paddleclas.deploy.python.predict_cls import ClsPredictor
    from paddleclas.deploy.utils import config as pcfg

    paddle.inference.Config.enable_memory_optim = lambda self, *a, **k: None

    cfg_path = Path(args.config)
    if not cfg_path.suffix:
        root = Path(paddleclas.__file__).parent
        cfg_path = (
            root / "deploy" / "configs" / "PULC" / args.config / f"inference_{args.config}.yaml"
        )
    overrides = [
        f"Global.inference_model_dir={args.model_dir}",
        "Global.use_gpu=False",
        f"Global.batch_size={args.batch_size}",
    ]
    if args.mkldnn is not None:
        overrides.append(f"Global.enable_mkldnn={bool(args.mkldnn)}")
    if args.threads is not None:
        overrides.append(f"Global.cpu_num_threads={args.threads}")
    config = pcfg.get_config(str(cfg_path), overrides=overrides, show=False)
    # SavePreLabel (person_exists' yaml) copies files into ./pre_label only when given file
    # names; ClsPredictor.predict passes none, so it is inert, exactly as in predict_cls.main

    t1 = time.perf_counter()
    predictor = ClsPredictor(config)
    t2 = time.perf_counter()

    # raw probabilities too: run the same ops and the bare predictor once more per batch
    def raw_scores(imgs):
        x = []
        for img in imgs:
            for op in predictor.preprocess_ops:
                img = op(img)
            x.append(img)
        ih = predictor.predictor.get_input_handle(predictor.predictor.get_input_names()[0])
        ih.copy_from_cpu(np.array(x))
        predictor.predictor.run()
        oh = predictor.predictor.get_output_handle(predictor.predictor.get_output_names()[0])
        return oh.copy_to_cpu()

    n = 0
    t_pred = 0.0
    paths = args.images
    for s in range(0, len(paths), args.batch_size):
        chunk = paths[s : s + args.batch_size]
        imgs = [cv2.imread(p)[:, :, ::-1] for p in chunk]
        ta = time.perf_counter()
        results = predictor.predict(list(imgs))
        t_pred += time.perf_counter() - ta
        raw = raw_scores(list(imgs))
        for p, r, rw in zip(chunk, results, raw, strict=True):
            line = {"file": p, "result": _jsonable(r), "raw": [float(v) for v in rw]}
            print(json.dumps(line, ensure_ascii=False), flush=True)
            n += 1
    timing = {
        "import_s": round(t1 - t0, 3),
        "create_s": round(t2 - t1, 3),
        "predict_s": round(t_pred, 3),
        "images": n,
        "config": str(cfg_path),
        "enable_mkldnn": bool(config["Global"].get("enable_mkldnn")),
        "cpu_num_threads": config["Global"].get("cpu_num_threads"),
    }
    print(json.dumps({"timing": timing}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
