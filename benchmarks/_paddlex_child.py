"""PaddleX's own predictor, timed inside PaddleX's interpreter (run by ``paddlex_peer``).

Runs under ``$LCNET_OV_PADDLEX_PYTHON`` (PaddleX 3 needs ``opencv-contrib-python``, which clashes
with lcnet-ov's ``opencv-python``, so it lives in a venv of its own); imports nothing from
lcnet_ov. Protocol, so the parent can interleave PaddleX with its own rounds without paying
PaddleX's import and model load (seconds) in every round:

    python _paddlex_child.py MODEL_DIR MODEL_NAME LIST_FILE BATCH THREADS[,THREADS...]

loads one predictor per thread count (``PADDLE_PDX_CPU_NUM_THREADS`` is read when a predictor's
options are made), warms each up on one batch, prints ``{"ready": ...}``, then answers each
stdin line ``run THREADS`` with ``{"threads", "images", "seconds", "cpu"}`` (wall and process
CPU seconds, every thread) for one pass of ``predict``
over every file of LIST_FILE (load excluded, every result's top-1 read as it comes).
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", "True")
os.environ.setdefault("GLOG_minloglevel", "2")


def main() -> int:
    model_dir, name, list_file, batch, threads = sys.argv[1:6]
    with open(list_file, encoding="utf-8") as fh:
        files = [line.strip() for line in fh if line.strip()]
    batch_size = int(batch)
    from paddlex import create_model

    predictors = {}
    for t in (int(x) for x in threads.split(",")):
        os.environ["PADDLE_PDX_CPU_NUM_THREADS"] = str(t)
        model = create_model(
            model_name=name, model_dir=model_dir, device="cpu", batch_size=batch_size
        )
        for _ in model.predict(files[:batch_size], batch_size=batch_size):
            pass
        predictors[t] = model
    print(json.dumps({"ready": sorted(predictors)}), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] != "run":
            break
        t = int(cmd[1])
        top1 = []
        start, cpu = time.perf_counter(), time.process_time()
        for res in predictors[t].predict(files, batch_size=batch_size):
            ids = res["class_ids"]
            first = ids[0] if len(ids) else -1
            # PaddleX 3.7.2 hands each image of a batch the whole batch's ids (2-D): keep row 0's
            top1.append(int(first[0]) if hasattr(first, "__len__") else int(first))
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(
            json.dumps({"threads": t, "images": len(top1), "seconds": seconds, "cpu": cpu}),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
