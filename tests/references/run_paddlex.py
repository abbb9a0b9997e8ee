"""Reference answers from PaddleX 3.7.2's own predictor on a local PaddleX-format model folder.

Run with /work/pdx-venv/bin/python (paddlex==3.7.2, paddlepaddle 3.3.x, opencv-contrib-python):

    python run_paddlex.py MODEL_DIR MODEL_NAME IMG [IMG ...] [--batch-size 1] [--threads N]
                          [--threshold T] [--topk K]

stdout: one JSON line per image, the keys of PaddleX's result JSON (`res.json["res"]`) minus
nothing but `input_img`: input_path, page_index, class_ids, scores, label_names — values exactly as
PaddleX serialises them (float32 scores of Topk come out as float(np.float32(round(p, 5))), e.g.
0.9033200144767761; MultiLabelThreshOutput scores are float64-rounded, e.g. 0.90332).
class_ids_row: see the comment in main() (PaddleX 3.7.2 batch-splitting bug for Topk models).
stderr (last line): {"timing": {"import_s", "create_s", "predict_s", "images", "device", ...}}.

MODEL_NAME selects PaddleX's predictor class (image_classification -> ClasRunnerPredictor with
Topk, multilabel_classification / pedestrian / vehicle attribute -> MLClasPredictor with
MultiLabelThreshOutput); PaddleX refuses a model_name it does not know. With a local model_dir the
engine is paddle_static (Paddle Inference; CPU: oneDNN on, 10 threads unless
PADDLE_PDX_CPU_NUM_THREADS says otherwise). The model-source check is disabled here (offline).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", "True")
os.environ.setdefault("GLOG_minloglevel", "2")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("model_name")
    ap.add_argument("images", nargs="+")
    ap.add_argument("--batch-size", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="sets PADDLE_PDX_CPU_NUM_THREADS")
    ap.add_argument("--threshold", type=float, default=None, help="multi-label override")
    ap.add_argument("--topk", type=int, default=None, help="single-label override")
    args = ap.parse_args()
    if args.threads:
        os.environ["PADDLE_PDX_CPU_NUM_THREADS"] = str(args.threads)

    t0 = time.perf_counter()
    from paddlex import create_model

    t1 = time.perf_counter()
    model = create_model(
        model_name=args.model_name,
        model_dir=args.model_dir,
        device=args.device,
        batch_size=args.batch_size,
    )
    t2 = time.perf_counter()
    kw = {}
    if args.threshold is not None:
        kw["threshold"] = args.threshold
    if args.topk is not None:
        kw["topk"] = args.topk
    n = 0
    for res in model.predict(args.images, batch_size=args.batch_size, **kw):
        out = res.json["res"]
        # PaddleX 3.7.2 bug (predictors/base_predictor.py apply(): only *lists* are split per
        # image, Topk returns the batch's class ids as one ndarray): every image of a batch gets
        # the WHOLE batch's class_ids, e.g. [[1]] at batch size 1, [[2], [0]] at 2. The row that
        # belongs to this image is added as class_ids_row (= what PaddleX documents: [1]).
        ci = out.get("class_ids")
        if isinstance(ci, list) and ci and isinstance(ci[0], list):
            out["class_ids_row"] = ci[n % args.batch_size]
        print(json.dumps(out, ensure_ascii=False), flush=True)
        n += 1
    t3 = time.perf_counter()
    timing = {
        "import_s": round(t1 - t0, 3),
        "create_s": round(t2 - t1, 3),
        "predict_s": round(t3 - t2, 3),
        "images": n,
        "device": args.device,
        "predictor": type(model).__name__,
        "cpu_threads": os.environ.get("PADDLE_PDX_CPU_NUM_THREADS", "default(10)"),
    }
    print(json.dumps({"timing": timing}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
