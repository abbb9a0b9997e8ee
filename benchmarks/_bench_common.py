"""Shared by the benchmark scripts: a scratch model cache, model builders, and doc sections.

Models are built with random (seeded) weights: latency does not depend on the values, and
building them needs no download. Everything generated lives under ``$LCNET_OV_BENCH_WORK``
(default ``<tmp>/lcnet-ov-bench``) and is reused by later runs; only the Markdown sections
and PNGs the scripts write into ``docs/`` are meant to be committed.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
DOC = DOCS / "benchmarks.md"
WORK = Path(os.environ.get("LCNET_OV_BENCH_WORK", Path(tempfile.gettempdir()) / "lcnet-ov-bench"))
# conversions land in the scratch cache, never in the user's ~/.cache/lcnet-ov
os.environ.setdefault("LCNET_OV_HOME", str(WORK / "home"))
#: ../shared/imagenet-sample beside the checkout, or $LCNET_OV_IMAGENET_SAMPLE
IMAGENET_SAMPLE = Path(
    os.environ.get("LCNET_OV_IMAGENET_SAMPLE") or REPO.parent / "shared" / "imagenet-sample"
)

#: sections of docs/benchmarks.md that other scripts own; never rewritten from here
FOREIGN_SECTIONS = ("e2e", "quantize")


def _zoo_figures(name: str) -> tuple[float, float, float | None, float | None]:
    from lcnet_ov import zoo

    paper = zoo.get_spec(name).paper
    return (paper.params_m, paper.flops_m, paper.top1, paper.latency_ms)


#: published figures (PaddleClas docs/en/models/PP-LCNet_en.md, Intel Xeon Gold 6148,
#: Paddle Inference + MKLDNN, batch 1, 10 threads): params M, FLOPs M (multiply-adds),
#: top-1 %, latency ms. PP-LCNet's row is the zoo's (its one copy); the MobileNets are not
#: in the zoo.
PUBLISHED = {
    "PPLCNet_x1_0": _zoo_figures("PPLCNet_x1_0"),
    "MobileNetV1_x1_0": (4.3, 578, 70.99, 3.38),
    "MobileNetV2_x1_0": (3.5, 327, 72.15, 4.26),
    "MobileNetV3_small_x1_25": (3.6, 100, 70.67, 3.95),
}


def scale_tag(scale: float) -> str:
    """PaddleClas' spelling of a scale: 1.0 → ``x1_0``, 0.25 → ``x0_25``."""
    text = f"{scale:g}"
    return "x" + (text if "." in text else text + ".0").replace(".", "_")


# ---- Models -------------------------------------------------------------------------------------


def fp32_ir(folder: Path) -> Path:
    """The FP32 IR of a Paddle folder, converted (and verified) once into the scratch cache.

    Going through :func:`lcnet_ov.export.resolve.resolve_ir` puts it where ``lcnet-ov bench`` looks,
    so the scripts can hand the Paddle folder itself to ``bench.run`` and get every backend.
    """
    from lcnet_ov.export.resolve import resolve_ir

    return resolve_ir(folder, "fp32")


def pplcnet(scale: float) -> Path:
    """A seeded PP-LCNet at ``scale`` exported as a Paddle inference folder."""
    folder = WORK / "paddle" / f"PPLCNet_{scale_tag(scale)}"
    if not (folder / "inference.pdmodel").is_file():
        from lcnet_ov.export import checkpoint
        from lcnet_ov.testing import seeded_network

        checkpoint.export_inference_model(seeded_network(scale, seed=0), folder)
    return folder


def mobilenet(name: str) -> Path:
    """A ``paddle.vision.models`` MobileNet (random weights) as a Paddle inference folder."""
    folder = WORK / "paddle" / name
    if not (folder / "inference.pdmodel").is_file():
        from lcnet_ov._deps import require

        paddle = require("paddle")  # legacy program format, which every route reads
        from paddle.vision import models

        builders = {
            "MobileNetV1_x1_0": lambda: models.mobilenet_v1(scale=1.0),
            "MobileNetV2_x1_0": lambda: models.mobilenet_v2(scale=1.0),
            "MobileNetV3_small_x1_25": lambda: models.mobilenet_v3_small(scale=1.25),
        }
        paddle.seed(0)
        net = builders[name]()
        net.eval()
        spec = [paddle.static.InputSpec([None, 3, 224, 224], "float32", "x")]
        static = paddle.jit.to_static(net, input_spec=spec, full_graph=True)
        paddle.jit.save(static, str(folder / "inference"))
    return folder


def calibration_folder(count: int = 300) -> Path:
    """Where INT8 calibration images come from: the ImageNet sample when present, else
    ``count`` synthetic JPEGs written once into the scratch folder (latency does not depend on
    what the images show, only the accuracy would)."""
    if (IMAGENET_SAMPLE / "val_list.txt").is_file():
        return IMAGENET_SAMPLE
    folder = WORK / "synthetic-calibration"
    if len(list(folder.glob("*.jpg"))) < count:
        import cv2
        import numpy as np

        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        for i in range(count):
            image = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
            cv2.imwrite(str(folder / f"{i:04d}.jpg"), cv2.GaussianBlur(image, (9, 9), 3))
    return folder


def int8(folder: Path) -> Path:
    """INT8 IR of a Paddle folder, quantized the way ``lcnet-ov quantize`` does it (the SDK's
    defaults: 300 class-balanced images, preset ``mixed``, fast bias correction).

    Saved where ``lcnet-ov quantize`` keeps INT8 IRs of a source model, so ``bench.run(folder,
    precision=["fp32", "int8"])`` finds it.
    """
    from lcnet_ov.export.quantization import quantize
    from lcnet_ov.paths import converted_ir_path

    out = converted_ir_path(folder, "int8")
    if not out.is_file():
        quantize(fp32_ir(folder), calibration_folder(), output=out, progress=False)
    return out


# ---- Measuring on a shared machine -------------------------------------------------------------


def spread(values: Sequence[float], fmt: str = ".2f") -> str:
    """``median (min–max)`` of per-pass values: the figure and how far the passes scattered.
    On a shared machine a difference inside that range is not a finding."""
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"


def ratio_spread(num: Sequence[float], den: Sequence[float], fmt: str = ".2f") -> str:
    """Per-pass ratios (both measured in the same pass), as :func:`spread` (a ``×`` after)."""
    ratios = [a / b for a, b in zip(num, den, strict=True)]
    return spread(ratios, fmt).replace(" (", "× (", 1)


@dataclass(frozen=True)
class Combined:
    """One configuration over several passes: what survives other jobs' load best."""

    #: median over passes of each pass's median latency
    median_ms: float
    #: fastest single iteration over all passes (closest to an idle machine)
    min_ms: float
    #: median over passes of the loop throughput
    fps: float
    batch: int
    #: each pass's median latency and loop throughput, in pass order
    pass_medians: tuple[float, ...] = ()
    pass_fps: tuple[float, ...] = ()

    @property
    def best_fps(self) -> float:
        """Images/s at the fastest iteration's latency (batch ÷ min latency)."""
        return self.batch * 1e3 / self.min_ms

    def latency_cell(self) -> str:
        """``median (min–max over passes)`` of the passes' median latencies, in ms."""
        return spread(self.pass_medians)

    def fps_cell(self) -> str:
        return spread(self.pass_fps, ".0f")


Job = Callable[[], dict[Hashable, Any]]


def passes_over(jobs: Sequence[tuple[str, Job]], passes: int) -> dict[Hashable, Combined]:
    """Run every job once per pass, rotating the order, and combine each config's passes.

    Load from other jobs comes in bursts of seconds; one long block per configuration lets a
    burst land on a few configurations only. Several short passes spread every configuration
    over the whole run, so a burst costs them all alike and ratios stay meaningful.
    Each job returns ``{key: Measurement}``.
    """
    runs: dict[Hashable, list[Any]] = {}
    for p in range(passes):
        shift = p % len(jobs)
        for name, job in [*jobs[shift:], *jobs[:shift]]:
            for key, m in job().items():
                runs.setdefault(key, []).append(m)
            print(f"pass {p + 1}/{passes}: {name}", file=sys.stderr)
    return {
        key: Combined(
            median_ms=statistics.median(m.latency.median for m in ms_),
            min_ms=min(m.latency.min for m in ms_),
            fps=statistics.median(m.throughput_fps for m in ms_),
            batch=ms_[0].config.batch_size,
            pass_medians=tuple(m.latency.median for m in ms_),
            pass_fps=tuple(m.throughput_fps for m in ms_),
        )
        for key, ms_ in runs.items()
    }


# ---- docs/benchmarks.md -------------------------------------------------------------------------


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def write_section(name: str, body: str, doc: Path = DOC, title: str = "Benchmarks") -> None:
    """Replace the text between ``<!-- name:start -->`` and ``<!-- name:end -->`` only.

    A section not in the file yet is added before the sections other scripts own, so their
    markers and contents stay exactly where they are. ``doc`` is another page of docs/ for
    scripts that own one (created with ``# title`` when missing).
    """
    if name in FOREIGN_SECTIONS:
        raise ValueError(f"section {name!r} belongs to another script")
    start, end = _markers(name)
    text = doc.read_text() if doc.is_file() else f"# {title}\n"
    block = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        anchor = next(
            (text.find(_markers(s)[0]) for s in FOREIGN_SECTIONS if _markers(s)[0] in text), -1
        )
        if anchor >= 0:
            text = text[:anchor] + block + "\n\n" + text[anchor:]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
    for foreign in FOREIGN_SECTIONS if doc == DOC else ():  # keep the others' markers present
        fs, fe = _markers(foreign)
        if fs not in text:
            text = text.rstrip("\n") + f"\n\n{fs}\n{fe}\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)


def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def cpu_ticks() -> tuple[int, int] | None:
    """(steal, total) clock ticks over all CPUs from ``/proc/stat``; ``None`` off Linux.

    Steal is time the hypervisor gave this VM's virtual CPUs to someone else: on a shared
    cloud machine it is the load that ``getloadavg`` cannot see, and it slows every stage."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


def steal_since(start: tuple[int, int] | None) -> str:
    """``"; CPU steal x.x %"`` of all CPU time since ``start`` (empty where unknown)."""
    now = cpu_ticks()
    if start is None or now is None or now[1] <= start[1]:
        return ""
    return f"; CPU steal (hypervisor) {100 * (now[0] - start[0]) / (now[1] - start[1]):.1f} %"


#: 1-minute load average when the script started (other jobs on a shared machine)
LOAD_AT_START = os.getloadavg()[0]
TICKS_AT_START = cpu_ticks()
_STARTED = time.monotonic()


def load_line() -> str:
    """How busy the machine was (1-minute load average at the start and now) and how long the
    script ran."""
    cores = len(os.sched_getaffinity(0))
    minutes = (time.monotonic() - _STARTED) / 60
    return (
        f"Load average (1 min): {LOAD_AT_START:.1f} at the start, {os.getloadavg()[0]:.1f} at "
        f"the end, on {cores} cores{steal_since(TICKS_AT_START)}; the script ran "
        f"{minutes:.1f} min."
    )


def machine_line() -> str:
    """One line naming the CPU, cores, ISA and versions, for every generated section."""
    from lcnet_ov.bench import machine_info

    info = machine_info()
    versions = ", ".join(
        f"{k} {info.versions[k]}"
        for k in ("openvino", "onnxruntime", "paddlepaddle", "nncf")
        if k in info.versions
    )
    return f"Machine: {info.summary()}; {versions}. {load_line()}"


def ms(value: float) -> str:
    return f"{value:.2f}"
