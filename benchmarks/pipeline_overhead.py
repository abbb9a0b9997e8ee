"""Where end to end's extra CPU time goes, thread by thread. Writes ``docs/benchmarks.md``
between ``<!-- pipeline-overhead:start -->`` and ``<!-- pipeline-overhead:end -->``.

    python benchmarks/pipeline_overhead.py [--folder ../shared/imagenet-sample] [--limit 1000]

``benchmarks/e2e_throughput.py`` shows that ``AsyncClassifier.map`` costs more CPU per image
than its two stages (decode + preprocess, the model) cost alone. This script says who spends
the difference. Each round runs, for the FP32 and the INT8 IR (folded preprocessing, the
``AsyncClassifier`` defaults): decode alone on a thread pool, the model alone on the
classifier's compiled model (full batches), the model at every batch size from 1 to
``max_batch``, and end to end. Around each pass it reads every thread's CPU time (Linux
``/proc/self/task/*/schedstat``, nanoseconds) and context switches, and files each thread under
the part of the pipeline that started it: OpenVINO's own threads (every thread Python did not
start), the decode/prep threads, the infer workers, the callback thread, the main thread.

Linux only (it reads ``/proc``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_common import IMAGENET_SAMPLE, machine_line, md_table, write_section

SECTION = "pipeline-overhead"
#: thread groups, in table order; "OpenVINO" is every thread Python did not start
GROUPS = ("OpenVINO threads", "decode/prep threads", "infer workers", "callback thread", "main")
PYTHON_GROUPS = GROUPS[2:]
TASKS = Path("/proc/self/task")


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
    """One timed pass: images/s, process CPU ms per image, and each group's share of it."""

    rate: float
    cpu_ms: float
    group_ms: dict[str, float]
    group_invol: dict[str, float]


def measure(n: int, fn: Callable[[], object]) -> Pass:
    names = {t.native_id: t.name for t in threading.enumerate()}
    before = _thread_counters()
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = _thread_counters()
    names.update({t.native_id: t.name for t in threading.enumerate()})
    group_ms, group_invol = Counter(), Counter()
    for tid, (ns, invol) in after.items():
        ns0, invol0 = before.get(tid, (0, 0))
        group = group_of(names.get(tid))
        group_ms[group] += (ns - ns0) / 1e6 / n
        group_invol[group] += (invol - invol0) / n
    return Pass(n / wall, 1000 * cpu / n, dict(group_ms), dict(group_invol))


@dataclass
class Config:
    label: str
    xml: Path
    clf: object = None
    pool: ThreadPoolExecutor | None = None
    batches: list[np.ndarray] = field(default_factory=list)
    sample: np.ndarray | None = None
    runs: list[dict[str, Pass]] = field(default_factory=list)
    by_size: list[dict[int, float]] = field(default_factory=list)
    mixes: list[Counter[int]] = field(default_factory=list)

    def med(self, stage: str, attr: str, group: str | None = None) -> float:
        def value(p: Pass) -> float:
            got = getattr(p, attr)
            return got if group is None else got.get(group, 0.0)

        return statistics.median(value(run[stage]) for run in self.runs)


def model_pass(clf, batches: list[np.ndarray], n: int) -> Pass:
    """The model alone, as ``e2e_throughput.py`` runs it, measured per thread group."""
    from e2e_throughput import model_stage

    return model_stage(clf, batches, n, timer=measure)


def size_costs(clf, sample: np.ndarray, images: int) -> dict[int, float]:
    """Model CPU ms per image at each batch size 1..max_batch (same images, repeated)."""
    costs = {}
    for size in range(1, clf.max_batch + 1):
        batch = np.ascontiguousarray(sample[:size])
        count = max(1, images // size)
        costs[size] = model_pass(clf, [batch] * count, count * size).cpu_ms
    return costs


def one_round(c: Config, files: list[Path]) -> None:
    def decode() -> None:
        for _ in c.pool.map(c.clf.model.prepare, files):
            pass

    def e2e() -> None:
        for _ in c.clf.map(files):
            pass

    n = len(files)
    sizes_before = Counter(c.clf.stats.sizes)
    run = {"decode": measure(n, decode), "model": model_pass(c.clf, c.batches, n)}
    run["e2e"] = measure(n, e2e)
    c.mixes.append(Counter(c.clf.stats.sizes) - sizes_before)
    c.runs.append(run)
    c.by_size.append(size_costs(c.clf, c.sample, min(n, 384)))


def mix_cost(costs: dict[int, float], mix: Counter[int]) -> float:
    """Model CPU ms per image if every batch of the end-to-end mix cost what it costs alone."""
    images = sum(size * count for size, count in mix.items())
    return sum(costs[size] * size * count for size, count in mix.items()) / max(images, 1)


def section(c: Config, cores: int) -> str:
    alone = {g: c.med("decode", "group_ms", g) + c.med("model", "group_ms", g) for g in GROUPS}
    e2e = {g: c.med("e2e", "group_ms", g) for g in GROUPS}
    rows = []
    for g in GROUPS:
        invol_alone = c.med("decode", "group_invol", g) + c.med("model", "group_invol", g)
        rows.append(
            [
                g,
                f"{alone[g]:.2f}",
                f"{e2e[g]:.2f}",
                f"{e2e[g] - alone[g]:+.2f}",
                f"{invol_alone:.2f} → {c.med('e2e', 'group_invol', g):.2f}",
            ]
        )
    total_alone = c.med("decode", "cpu_ms") + c.med("model", "cpu_ms")
    total_e2e = c.med("e2e", "cpu_ms")
    rows.append(
        [
            "**process** (`process_time`)",
            f"{total_alone:.2f}",
            f"{total_e2e:.2f}",
            f"**{total_e2e - total_alone:+.2f}**",
            "",
        ]
    )
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
    extra = total_e2e - total_alone
    ov_extra = e2e[GROUPS[0]] - alone[GROUPS[0]]
    python_ms = sum(e2e[g] for g in PYTHON_GROUPS)
    prep_extra = e2e[GROUPS[1]] - alone[GROUPS[1]]
    full = statistics.median(s[c.clf.max_batch] for s in c.by_size)
    at_mix = statistics.median(
        mix_cost(costs, mix) for costs, mix in zip(c.by_size, c.mixes, strict=True)
    )
    mix_penalty = at_mix - full
    per_size = ", ".join(
        f"b{size} {statistics.median(s[size] for s in c.by_size):.2f}"
        for size in range(1, c.clf.max_batch + 1)
    )
    mix = sum(c.mixes, Counter())
    images = sum(size * count for size, count in mix.items())
    full_share = mix[c.clf.max_batch] * c.clf.max_batch / max(images, 1)
    ratios = [
        run["e2e"].rate / (1000 * cores / (run["decode"].cpu_ms + run["model"].cpu_ms))
        for run in c.runs
    ]
    interference = ov_extra - mix_penalty
    return f"""\
**{c.label}** (`{c.xml.parent.name}/{c.xml.name}`): end to end costs **{extra:+.2f} ms CPU per
image** more than the stages alone ({total_e2e:.2f} against {total_alone:.2f}; e2e ÷ ceiling per
round {", ".join(f"{r:.2f}" for r in ratios)}).

{table}

Model CPU ms per image by batch size, alone: {per_size}. End to end formed
{sum(mix.values())} batches over the rounds, {100 * full_share:.0f} % of the images in full
batches of {c.clf.max_batch}; at that mix the model alone would cost {at_mix:.2f} ms per image
instead of {full:.2f}, so **{mix_penalty:+.2f} ms** of the OpenVINO threads' {ov_extra:+.2f} ms
comes from smaller batches and the rest, **{interference:+.2f} ms**, from sharing the cores with
the decode threads (the involuntary switches above: each one is a thread preempted). The decode/prep
threads pay {prep_extra:+.2f} ms for the same sharing; the pipeline's own Python threads (infer
workers, callbacks, main: submitting, batching, top-k, Futures) cost {python_ms:.2f} ms per image
in all.
"""


def main() -> None:
    from e2e_throughput import int8_ir

    from lcnet_ov.bench.machine import machine_info
    from lcnet_ov.export.resolve import resolve_ir
    from lcnet_ov.inputs.files import list_images
    from lcnet_ov.runtime.async_classifier import AsyncClassifier

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", type=Path, default=IMAGENET_SAMPLE)
    parser.add_argument("--model", default="text_image_orientation")
    parser.add_argument("--limit", type=int, default=1000, help="images used (sorted, first N)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-int8", action="store_true", help="skip the INT8 IR")
    parser.add_argument("--out", type=Path, help="page to write (default docs/benchmarks.md)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    if not TASKS.is_dir():
        sys.exit("pipeline_overhead.py reads per-thread CPU time from /proc: Linux only")

    files = list_images(args.folder)[: args.limit]
    if not files:
        sys.exit(f"no images in {args.folder}")
    for f in files:  # page cache warm: every pass reads the same bytes from memory
        f.read_bytes()
    cores = machine_info().available_cores
    fp32 = resolve_ir(args.model, "fp32")
    configs = [Config("FP32", fp32)]
    if not args.no_int8:
        configs.append(Config("INT8", int8_ir(fp32, args.folder)))
    for c in configs:
        c.clf = AsyncClassifier(c.xml)
        c.pool = ThreadPoolExecutor(c.clf.workers, thread_name_prefix="lcnet-ov-decode")
        tensors = list(c.pool.map(c.clf.model.prepare, files))
        step = c.clf.max_batch
        c.batches = [np.stack(tensors[i : i + step]) for i in range(0, len(tensors), step)]
        c.sample = np.stack(tensors[:step])
        del tensors
        list(c.clf.map(files[:64]))  # untimed warm-up
    for index in range(args.repeats):
        for c in configs if index % 2 == 0 else configs[::-1]:
            one_round(c, files)
        print(f"round {index + 1}/{args.repeats}", file=sys.stderr)

    first = configs[0].clf
    setup = (
        f"{first.compiled_model.get_property('NUM_STREAMS')} streams, {first.num_requests} "
        f"requests, max_batch {first.max_batch}, {first.workers} decode threads"
    )
    body = f"""\
### Where end to end's extra CPU time goes

`python benchmarks/pipeline_overhead.py` · {len(files)} images from `{args.folder.name}`, model
`{args.model}` with folded preprocessing, `AsyncClassifier` defaults ({setup}). Per thread CPU
time from `/proc/self/task/*/schedstat` around each pass; medians of {args.repeats} interleaved
rounds. *Stages alone* is decode + preprocess on a thread pool plus the model alone on full
batches (the two costs the ceiling in "End to end" adds); *end to end* is `AsyncClassifier.map`
over the same files.

{chr(10).join(section(c, cores) for c in configs)}
{machine_line()}
"""
    for c in configs:
        c.clf.close()
        c.pool.shutdown()
    print(body)
    if not args.no_write:
        kwargs = {"doc": args.out} if args.out else {}
        write_section(SECTION, body, **kwargs)


if __name__ == "__main__":
    os.environ.setdefault("LCNET_OV_OFFLINE", "1")
    main()
