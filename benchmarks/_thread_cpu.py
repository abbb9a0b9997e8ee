"""Per-thread CPU time around a pass, filed by pipeline part: who spends end to end's extra CPU.

``benchmarks.e2e_throughput`` times decode alone, the model alone and ``AsyncClassifier.map``
with :func:`measure`, which reads every thread's CPU time (Linux
``/proc/self/task/*/schedstat``, nanoseconds) and involuntary context switches before and after
and files each thread under the part of the pipeline that started it: OpenVINO's own threads
(every thread Python did not start), the decode/prep threads, the infer workers, the callback
thread, the main thread. Elsewhere (no ``/proc``) the groups stay empty and only wall and
process CPU time are measured.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.harness import md_table

#: thread groups, in table order; "OpenVINO" is every thread Python did not start
GROUPS = ("OpenVINO threads", "decode/prep threads", "infer workers", "callback thread", "main")
PYTHON_GROUPS = GROUPS[2:]
TASKS = Path("/proc/self/task")
#: stage indices of a round: decode alone, model alone, end to end
DECODE, MODEL, E2E = 0, 1, 2


def group_of(name: str | None) -> str:
    if name is None:
        return GROUPS[0]
    if name.startswith(("lcnet-ov-prep", "lcnet-ov-decode")):
        return GROUPS[1]
    if name.startswith("lcnet-ov-infer"):
        return GROUPS[2]
    if name.startswith("lcnet-ov-callbacks"):
        return GROUPS[3]
    return GROUPS[4]  # the main thread, and anything else Python started


def _thread_counters() -> dict[int, tuple[int, int]]:
    """tid → (ns on a CPU, involuntary context switches) for every live thread."""
    out = {}
    if not TASKS.is_dir():
        return out
    for entry in TASKS.iterdir():
        try:
            ns = int((entry / "schedstat").read_text().split()[0])
            status = (entry / "status").read_text()
        except (OSError, ValueError, IndexError):
            continue  # the thread ended while we read
        invol = int(status.split("nonvoluntary_ctxt_switches:")[1].split()[0])
        out[int(entry.name)] = (ns, invol)
    return out


@dataclass
class Pass:
    """One timed pass: images/s, process CPU ms per image, and each thread group's share."""

    rate: float
    cpu_ms: float
    group_ms: dict[str, float]
    group_invol: dict[str, float]


def measure(n: int, fn: Callable[[], object]) -> Pass:
    """Run ``fn`` (which handles ``n`` images) and measure it, thread group by thread group."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    before = _thread_counters()
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = _thread_counters()
    names.update({t.native_id: t.name for t in threading.enumerate()})
    group_ms: Counter[str] = Counter()
    group_invol: Counter[str] = Counter()
    for tid, (ns, invol) in after.items():
        ns0, invol0 = before.get(tid, (0, 0))
        group = group_of(names.get(tid))
        group_ms[group] += (ns - ns0) / 1e6 / n
        group_invol[group] += (invol - invol0) / n
    return Pass(n / wall, 1000 * cpu / n, dict(group_ms), dict(group_invol))


def decode_stage(model, files: list[Path], pool: ThreadPoolExecutor) -> Pass:
    """Read + decode + preprocess only, on the decode threads; results dropped as they come,
    as in the pipeline (holding 1000 float tensors would add page faults the pipeline has not)."""

    def run() -> None:
        for _ in pool.map(model.prepare, files):
            pass

    return measure(len(files), run)


def model_stage(clf, batches: list[np.ndarray], n: int) -> Pass:
    """Inference only: the classifier's own compiled model and request count, full batches."""
    import openvino as ov

    queue = ov.AsyncInferQueue(clf.compiled_model, clf.num_requests)

    def run() -> None:
        for batch in batches:
            queue.start_async({0: batch}, share_inputs=True)
        queue.wait_all()

    return measure(n, run)


PARTS = ("read file", "header check", "JPEG decode", "resize + crop", "normalize")


def prepare_split(model, files: list[Path]) -> dict[str, float]:
    """CPU ms per image (this thread's CPU clock) of each part of ``model.prepare``, one
    image at a time on one thread: the same calls in the same order, timed apart. Folded
    models stop after the crop (their normalization runs inside the graph)."""
    import cv2

    from lcnet_ov.inputs.decode import _check_pixels
    from lcnet_ov.inputs.headers import image_size
    from lcnet_ov.inputs.preprocess import _normalize_into, resize_crop

    pp = model.metadata.preprocess
    out = np.empty((3, *pp.input_hw), dtype=np.float32)
    spent = dict.fromkeys(PARTS, 0.0)
    clock = time.thread_time
    for f in files:
        t0 = clock()
        data = np.fromfile(f, dtype=np.uint8)
        t1 = clock()
        size = image_size(data)
        if size is not None:
            _check_pixels(size[0], size[1], None, str(f))
        t2 = clock()
        img = cv2.imdecode(data, cv2.IMREAD_COLOR)
        t3 = clock()
        crop = resize_crop(img, pp)
        t4 = clock()
        if not model.uint8_input:
            _normalize_into(crop, pp, out)
        else:
            np.ascontiguousarray(crop)
        t5 = clock()
        for part, dt in zip(PARTS, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
            spent[part] += dt
    return {part: 1000 * total / len(files) for part, total in spent.items()}


def mix_cost(costs: dict[int, float], mix: Counter[int]) -> float:
    """Model CPU ms per image if every batch of the end-to-end mix cost what it costs alone."""
    images = sum(size * count for size, count in mix.items())
    return sum(costs[size] * size * count for size, count in mix.items()) / max(images, 1)


def _med(runs: Sequence[Sequence[Pass]], stage: int, attr: str, group: str | None = None) -> float:
    def value(p: Pass) -> float:
        got = getattr(p, attr)
        return got if group is None else got.get(group, 0.0)

    return statistics.median(value(run[stage]) for run in runs)


def overhead_section(
    label: str,
    ir: str,
    runs: Sequence[Sequence[Pass]],
    by_size: Sequence[dict[int, float]],
    mixes: Sequence[Counter[int]],
    max_batch: int,
    cores: int,
) -> str:
    """One configuration's table: CPU ms per image by thread group, stages alone vs end to end,
    and how much of the OpenVINO threads' extra comes from smaller batches."""
    med = _med
    alone = {g: med(runs, DECODE, "group_ms", g) + med(runs, MODEL, "group_ms", g) for g in GROUPS}
    e2e = {g: med(runs, E2E, "group_ms", g) for g in GROUPS}
    rows = []
    for g in GROUPS:
        invol_alone = med(runs, DECODE, "group_invol", g) + med(runs, MODEL, "group_invol", g)
        rows.append(
            [
                g,
                f"{alone[g]:.2f}",
                f"{e2e[g]:.2f}",
                f"{e2e[g] - alone[g]:+.2f}",
                f"{invol_alone:.2f} → {med(runs, E2E, 'group_invol', g):.2f}",
            ]
        )
    total_alone = med(runs, DECODE, "cpu_ms") + med(runs, MODEL, "cpu_ms")
    total_e2e = med(runs, E2E, "cpu_ms")
    extra = total_e2e - total_alone
    rows.append(
        ["**process** (`process_time`)", f"{total_alone:.2f}", f"{total_e2e:.2f}",
         f"**{extra:+.2f}**", ""]
    )  # fmt: skip
    table = md_table(
        [
            "thread group",
            "CPU ms/img, stages alone",
            "CPU ms/img, end to end",
            "extra",
            "involuntary switches/img, alone → end to end",
        ],
        rows,
    )
    ov_extra = e2e[GROUPS[0]] - alone[GROUPS[0]]
    python_ms = sum(e2e[g] for g in PYTHON_GROUPS)
    prep_extra = e2e[GROUPS[1]] - alone[GROUPS[1]]
    full = statistics.median(s[max_batch] for s in by_size)
    at_mix = statistics.median(
        mix_cost(costs, mix) for costs, mix in zip(by_size, mixes, strict=True)
    )
    mix_penalty = at_mix - full
    per_size = ", ".join(
        f"b{size} {statistics.median(s[size] for s in by_size):.2f}"
        for size in range(1, max_batch + 1)
    )
    mix = sum(mixes, Counter())
    images = sum(size * count for size, count in mix.items())
    full_share = mix[max_batch] * max_batch / max(images, 1)
    per_round = [
        run[E2E].rate / (1000 * cores / (run[DECODE].cpu_ms + run[MODEL].cpu_ms)) for run in runs
    ]
    interference = ov_extra - mix_penalty
    return f"""\
**{label}** (`{ir}`): end to end costs **{extra:+.2f} ms CPU per
image** more than the stages alone ({total_e2e:.2f} against {total_alone:.2f}; e2e ÷ ceiling per
round {", ".join(f"{r:.2f}" for r in per_round)}).

{table}

Model CPU ms per image by batch size, alone: {per_size}. End to end formed
{sum(mix.values())} batches over the rounds, {100 * full_share:.0f} % of the images in full
batches of {max_batch}; at that mix the model alone would cost {at_mix:.2f} ms per image
instead of {full:.2f}, so **{mix_penalty:+.2f} ms** of the OpenVINO threads' {ov_extra:+.2f} ms
comes from smaller batches and the rest, **{interference:+.2f} ms**, from sharing the cores with
the decode threads (the involuntary switches above: each one is a thread preempted). The
decode/prep threads pay {prep_extra:+.2f} ms for the same sharing; the pipeline's own Python
threads (infer workers, callbacks, main: submitting, batching, top-k, Futures) cost
{python_ms:.2f} ms per image in all.
"""
