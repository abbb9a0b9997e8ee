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
* ``AsyncClassifier.map`` in this process, FP32 and INT8, defaults with ``max_batch`` 8.

Ratios are per round against PaddleX at its best thread count in that round; the table gives the
median and the range over rounds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import _cli_rate, harness
from benchmarks._models import calibration_subset
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

    def rate(self, threads: int) -> float:
        self.proc.stdin.write(f"run {threads}\n")
        self.proc.stdin.flush()
        got = self._read()
        return got["images"] / got["seconds"]

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


def async_rate(clf, files: list[Path]) -> float:
    start = time.perf_counter()
    for _ in clf.map(files):
        pass
    return len(files) / (time.perf_counter() - start)


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
    jobs.append(("infer-fp32", lambda: _cli_rate.steady_rate(model, folder, one, n)))
    clfs = {"fp32": AsyncClassifier(fp32, max_batch=args.batch, fast_decode=False)}
    if int8 is not None:
        int8_opts = [*model, "-p", "int8"]
        jobs.append(("infer-int8", lambda: _cli_rate.steady_rate(int8_opts, folder, one, n)))
        clfs["int8"] = AsyncClassifier(int8, max_batch=args.batch, fast_decode=False)
    for label, clf in clfs.items():
        list(clf.map(files[: 4 * args.batch]))  # warm-up, untimed
        jobs.append((f"async-{label}", lambda clf=clf: async_rate(clf, files)))
    results = harness.interleave(jobs, args.rounds)
    if peer is not None:
        peer.close()
    for clf in clfs.values():
        clf.close()
    run.emit("benchmarks.md", "paddlex", report(results, threads, n, args, machine, python))


def report(results: dict, threads: list[int], n: int, args, machine, python) -> str:
    rows = []
    best_pdx = None
    if python is not None:
        per_round = zip(*(results[f"paddlex-{t}"] for t in threads), strict=True)
        best_pdx = [max(r) for r in per_round]
    labels = {
        "infer-fp32": "`lcnet-ov infer DIR` FP32, defaults, steady rate",
        "infer-int8": "`lcnet-ov infer DIR` INT8 (`-p int8`), steady rate",
        "async-fp32": f"`AsyncClassifier.map` FP32, max_batch {args.batch}",
        "async-int8": f"`AsyncClassifier.map` INT8, max_batch {args.batch}",
    }
    for t in threads:
        note = " (its default)" if t == 10 else " (the core count)"
        rows.append((f"PaddleX predictor, batch {args.batch}, {t} threads{note}",
                     harness.spread(results[f"paddlex-{t}"], ".0f"), "–"))  # fmt: skip
    for key, label in labels.items():
        if key in results:
            ratio = harness.ratio_spread(results[key], best_pdx) if best_pdx else "–"
            rows.append((label, harness.spread(results[key], ".0f"), ratio))
    table = harness.md_table(("path", "images/s", "× PaddleX (best threads)"), rows)
    peer = (
        f"PaddleX in `{python}` (child interpreter, predictor loaded once, load excluded)"
        if python
        else "PaddleX: not measured (no interpreter with paddlex at $LCNET_OV_PADDLEX_PYTHON)"
    )
    return (
        f"Seeded {NAME} exported in PaddleX's folder layout, the same weights on both sides; "
        f"{n} JPEGs from `{args.folder.name}`, {args.rounds} interleaved round(s), median "
        f"(range). Steady rate = (N − 1) / (T(N) − T(1)) of whole `infer` processes on a folder "
        f"of N and of 1 image. {peer}. PaddleX's serving comparison is not measured here.\n\n"
        f"{table}"
    )


if __name__ == "__main__":
    main()
