"""PaddleX 3 as a measured peer: its predictor against ``lcnet-ov infer DIR`` and
``AsyncClassifier`` on the same model and the same JPEGs. Prints (``--write``: writes) the
``paddlex`` section of ``docs/benchmarks.md``.

    python -m benchmarks.paddlex_peer [--folder DIR] [--limit 1000] [--rounds 2] [--write | --smoke]

The model is a seeded PP-LCNet_x1_0 written in PaddleX's own folder layout
(:mod:`lcnet_ov.testing.paddlex_export`: ``inference.json`` + ``.pdiparams`` + ``inference.yml``);
lcnet-ov converts that folder (and quantizes it to INT8 on the same folder of images), so both
sides run the same weights. PaddleX runs in a child interpreter of its own environment
(``$LCNET_OV_PADDLEX_PYTHON``, default ``/work/pdx-venv/bin/python``: it needs
``opencv-contrib-python``, which clashes with ``opencv-python``), created once and asked for one
timed ``predict`` pass per round (batch 8; at PaddleX's default ``cpu_threads`` 10 and at the core
count; model load excluded). Per round, interleaved with it:

* ``lcnet-ov infer DIR``, FP32 and INT8, default options: the *steady rate*
  ``(N - 1) / (T(N) - T(1))`` of whole processes (``benchmarks/_cli_rate.py``);
* ``AsyncClassifier.map`` in this process, FP32 and INT8, with ``infer``'s settings;
* the two stages alone with those settings (read + decode + preprocess on the worker threads,
  the model on full batches): their CPU ms per image give the *ceiling* (``e2e_throughput``'s
  definition), so the section says how far ``infer DIR`` is from it and how far ahead of
  PaddleX any pipeline could get on this machine.

Every path's CPU ms per image (all threads) is reported beside its images/s: on a shared
machine it moves less with other jobs' load than images/s does.

Ratios are per round against PaddleX at its best thread count in that round; the table gives the
median and the range over rounds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks import _cli_rate, harness
from benchmarks._models import calibration_subset
from benchmarks._thread_cpu import PARTS, decode_stage, measure, model_stage, prepare_split
from benchmarks.harness import IMAGENET_SAMPLE

NAME = "PP-LCNet_x1_0"
DEFAULT_PYTHON = "/work/pdx-venv/bin/python"
CHILD = Path(__file__).with_name("_paddlex_child.py")


def build_parser():
    parser = harness.parser(__doc__)
    parser.add_argument("--folder", type=Path, default=IMAGENET_SAMPLE)
    parser.add_argument("--limit", type=int, default=1000, help="images used (sorted, first N)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8, help="PaddleX's batch and max_batch")
    parser.add_argument("--no-int8", action="store_true", help="skip the INT8 configurations")
    return parser


class PaddleX:
    """The PaddleX child (``_paddlex_child.py``): loaded once, one timed pass per ``run``."""

    def __init__(self, python: str, model_dir: Path, files: list[Path], batch: int, threads):
        self.list_file = harness.work() / "paddlex-files.txt"
        self.list_file.write_text("".join(f"{f}\n" for f in files))
        self.threads = threads
        env = dict(os.environ, PYTHONPATH="")  # nothing of this checkout's venv in its path
        self.proc = subprocess.Popen(
            [python, str(CHILD), str(model_dir), NAME, str(self.list_file), str(batch),
             ",".join(map(str, threads))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=env,
        )  # fmt: skip
        self._read()  # {"ready": ...}

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the PaddleX child exited ({self.proc.wait()})")
        return json.loads(line)

    def rate(self, threads: int) -> tuple[float, float]:
        """One timed pass: images/s and the child's CPU ms per image."""
        self.proc.stdin.write(f"run {threads}\n")
        self.proc.stdin.flush()
        got = self._read()
        return got["images"] / got["seconds"], 1000 * got["cpu"] / got["images"]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def paddlex_python() -> str | None:
    """PaddleX's interpreter, or None when it is not there (the section then says so)."""
    python = os.environ.get("LCNET_OV_PADDLEX_PYTHON", DEFAULT_PYTHON)
    if not Path(python).is_file():
        return None
    probe = subprocess.run(
        [python, "-c", "import paddlex; print(paddlex.__version__)"],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=""),
    )
    return python if probe.returncode == 0 else None


def async_pass(clf, files: list[Path]):
    """One ``AsyncClassifier.map`` pass: images/s and process CPU ms per image."""

    def run() -> None:
        for _ in clf.map(files):
            pass

    return measure(len(files), run)


def stages(clf, files: list[Path], pool: ThreadPoolExecutor) -> tuple[float, float]:
    """The two stages alone, CPU ms per image: read + decode + preprocess on ``infer``'s
    worker count, and the model on full batches of the prepared tensors (built untimed)."""
    decode = decode_stage(clf.model, files, pool)
    tensors = list(pool.map(clf.model.prepare, files))
    step = clf.max_batch
    batches = [clf.model.pad(np.stack(tensors[i : i + step])) for i in range(0, len(files), step)]
    del tensors
    model = model_stage(clf, batches, len(files))
    return decode.cpu_ms, model.cpu_ms


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    run = harness.start(args, __name__, argv)
    if run.smoke:
        args.limit, args.rounds = min(args.limit, 16), 1

    from lcnet_ov.bench.machine import machine_info
    from lcnet_ov.export.quantization import quantize
    from lcnet_ov.export.resolve import resolve_ir
    from lcnet_ov.inputs.files import list_images
    from lcnet_ov.paths import int8_ir_path
    from lcnet_ov.runtime.async_classifier import AsyncClassifier
    from lcnet_ov.testing.paddlex_export import write_paddlex_model

    machine = machine_info()
    cores = machine.available_cores
    files = list_images(args.folder)[: args.limit]
    if len(files) < 2:
        sys.exit(f"fewer than 2 images in {args.folder}")
    for f in files:  # warm the page cache: every pass reads the same bytes from memory
        f.read_bytes()
    # a smoke run's weights differ (seed 1), so its tiny-calibration INT8 IR lands in another
    # cache slot than the real run's (the conversion cache is keyed by the folder's content)
    model_dir = harness.work() / "paddlex" / NAME
    if not (model_dir / "inference.yml").is_file():
        write_paddlex_model(model_dir, 1.0, seed=1 if run.smoke else 0)
    fp32 = resolve_ir(model_dir)
    int8 = None
    if not args.no_int8:
        int8 = int8_ir_path(model_dir)
        if not int8.is_file():
            quantize(model_dir, args.folder, subset_size=calibration_subset(), progress=False)
    folder = _cli_rate.link_folder(files, harness.work() / f"jpegs-{len(files)}")
    one = _cli_rate.link_folder(files[:1], harness.work() / "jpegs-1")
    n = len(files)

    jobs = []
    python = paddlex_python()
    peer = None
    threads = sorted({10, cores})
    if python is not None:
        peer = PaddleX(python, model_dir, files, args.batch, threads)
        for t in threads:
            jobs.append((f"paddlex-{t}", lambda t=t: peer.rate(t)))
    model = ["-m", str(model_dir)]
    xmls = {"fp32": (fp32, model)}
    if int8 is not None:
        xmls["int8"] = (int8, [*model, "-p", "int8"])
    clfs, pools = {}, {}
    for label, (xml, opts) in xmls.items():
        jobs.append((f"infer-{label}", lambda o=opts: _cli_rate.steady(o, folder, one, n)))
        # what `infer DIR` runs: the policy's folding for this IR, its batch and workers
        clf = AsyncClassifier(xml, max_batch=args.batch, fold_preprocessing=None)
        clfs[label], pools[label] = clf, ThreadPoolExecutor(clf.workers)
        list(clf.map(files[: 4 * args.batch]))  # warm-up, untimed
        jobs.append((f"async-{label}", lambda clf=clf: async_pass(clf, files)))
        jobs.append((f"stages-{label}", lambda c=clf, p=pools[label]: stages(c, files, p)))
        jobs.append((f"split-{label}", lambda c=clf: prepare_split(c.model, files)))
    results = harness.interleave(jobs, args.rounds)
    if peer is not None:
        peer.close()
    for label, clf in clfs.items():
        clf.close()
        pools[label].shutdown()
    run.emit("benchmarks.md", "paddlex", report(results, threads, n, args, machine, python))


def report(results: dict, threads: list[int], n: int, args, machine, python) -> str:
    cores = machine.available_cores
    rows = []
    best_pdx = best_cpu = None
    if python is not None:
        per_round = list(zip(*(results[f"paddlex-{t}"] for t in threads), strict=True))
        best = [max(r, key=lambda got: got[0]) for r in per_round]
        best_pdx, best_cpu = [b[0] for b in best], [b[1] for b in best]

    def rate(key: str) -> list[float]:
        return [r[0] if isinstance(r, tuple) else r.rate for r in results[key]]

    def cpu(key: str) -> list[float]:
        return [r[1] if isinstance(r, tuple) else r.cpu_ms for r in results[key]]

    labels = {
        "infer-fp32": "`lcnet-ov infer DIR` FP32, defaults, steady rate",
        "infer-int8": "`lcnet-ov infer DIR` INT8 (`-p int8`), steady rate",
        "async-fp32": f"`AsyncClassifier.map` FP32, infer's settings, max_batch {args.batch}",
        "async-int8": f"`AsyncClassifier.map` INT8, infer's settings, max_batch {args.batch}",
    }
    cpu_head = "CPU ms/img"
    for t in threads:
        note = " (its default)" if t == 10 else " (the core count)"
        key = f"paddlex-{t}"
        rows.append((f"PaddleX predictor, batch {args.batch}, {t} threads{note}",
                     harness.spread(rate(key), ".0f"), "–", harness.spread(cpu(key), ".2f"),
                     "–"))  # fmt: skip
    for key, label in labels.items():
        if key in results:
            ratio = harness.ratio_spread(rate(key), best_pdx) if best_pdx else "–"
            saving = harness.ratio_spread(best_cpu, cpu(key)) if best_cpu else "–"
            rows.append((label, harness.spread(rate(key), ".0f"), ratio,
                         harness.spread(cpu(key), ".2f"), saving))  # fmt: skip
    table = harness.md_table(
        ("path", "images/s", "× PaddleX (best threads)", cpu_head, "PaddleX CPU ÷ this"), rows
    )
    bound_rows = []
    for label in ("fp32", "int8"):
        key = f"stages-{label}"
        if key not in results:
            continue
        dec = [d for d, _ in results[key]]
        mod = [m for _, m in results[key]]
        ceil = [1000 * cores / (d + m) for d, m in zip(dec, mod, strict=True)]
        infer = rate(f"infer-{label}")
        bound_rows.append((
            label.upper(), harness.spread(dec, ".2f"), harness.spread(mod, ".2f"),
            harness.spread(ceil, ".0f"), harness.ratio_spread(infer, ceil),
            harness.ratio_spread(ceil, best_pdx) if best_pdx else "–",
        ))  # fmt: skip
    split = split_table(results, rate, cpu)
    bounds = harness.md_table(
        ("IR", "decode + preprocess, CPU ms/img", "model alone (batch "
         f"{args.batch}), CPU ms/img", "ceiling img/s", "`infer DIR` ÷ ceiling",
         "ceiling ÷ PaddleX"),
        bound_rows,
    )  # fmt: skip
    peer = (
        f"PaddleX in `{python}` (child interpreter, predictor loaded once, load excluded)"
        if python
        else "PaddleX: not measured (no interpreter with paddlex at $LCNET_OV_PADDLEX_PYTHON)"
    )
    return (
        f"Seeded {NAME} exported in PaddleX's folder layout, the same weights on both sides; "
        f"{n} JPEGs from `{args.folder.name}`, {args.rounds} interleaved round(s), median "
        f"(range); ratios are taken within each round. Steady rate = (N − 1) / (T(N) − T(1)) "
        f"of whole `infer` processes on a folder of N and of 1 image, and its CPU cost the "
        f"same difference of the processes' CPU time (every thread, user + system). {peer}; "
        f"its CPU time is the child's process time over the pass.\n\n"
        f"{table}\n\n"
        f"**How far any pipeline could go here.** Both stages run on the same {cores} cores, so "
        f"no pipeline beats the *ceiling* {cores} × 1000 / (decode + model CPU ms per image), "
        f"the e2e section's definition, with the stages measured alone in the same rounds "
        f"(read + decode + preprocess on as many threads as `infer` decodes on, the model "
        f"on full batches of {args.batch} prepared tensors). *Ceiling ÷ PaddleX* is therefore the "
        f"largest lead over PaddleX that a pipeline with zero overhead could show on this "
        f"machine; a larger lead needs a cheaper stage.\n\n"
        f"{bounds}\n\n"
        f"**Where one image's CPU time goes** (ms, medians over rounds). The parts of "
        f"preparing an image are timed apart on one thread with its CPU clock, image by image "
        f"(INT8 IRs stop at the crop: the policy folds their normalization into the graph); "
        f"*stages alone* are the two stages above; the *pipeline's own cost* is what `infer "
        f"DIR` spends per image beyond them (threads handing over, batch assembly, top-k, "
        f"printing, and both stages slowed by sharing the cores).\n\n"
        f"{split}"
    )


def split_table(results: dict, rate, cpu) -> str:
    """Per IR: the parts of one image's preparation, the stages alone and infer's extra."""
    import statistics

    labels = [x for x in ("fp32", "int8") if f"split-{x}" in results]
    med = statistics.median
    rows = [
        (part, *(f"{med(r[part] for r in results[f'split-{x}']):.2f}" for x in labels))
        for part in PARTS
    ]
    decode = {x: med(d for d, _ in results[f"stages-{x}"]) for x in labels}
    model = {x: med(m for _, m in results[f"stages-{x}"]) for x in labels}
    infer = {x: med(cpu(f"infer-{x}")) for x in labels}
    rows += [
        ("decode + preprocess, as the pipeline runs it (stage alone)",
         *(f"{decode[x]:.2f}" for x in labels)),
        ("model, full batches (stage alone)", *(f"{model[x]:.2f}" for x in labels)),
        ("the pipeline's own cost (`infer DIR` − stages alone)",
         *(f"{infer[x] - decode[x] - model[x]:+.2f}" for x in labels)),
        ("**`lcnet-ov infer DIR`, steady CPU per image**",
         *(f"**{infer[x]:.2f}**" for x in labels)),
    ]  # fmt: skip
    return harness.md_table(("CPU ms per image", *(x.upper() for x in labels)), rows)


if __name__ == "__main__":
    main()
