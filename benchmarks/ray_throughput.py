"""Images/s of a Ray Data job (``lcnet_ov.distributed.job``) against single-process
``AsyncClassifier`` on the same JPEGs, in interleaved rounds, plus Ray's start-up time and
where each engine's CPU goes. Prints (``--write``: writes) the ``ray`` section of
``docs/distributed.md``.

    python -m benchmarks.ray_throughput [--folder ../shared/imagenet-sample] [--limit 1000]
                                        [--rounds 3] [--write | --smoke]

Both engines run the real PP-LCNet_x1_0 text-orientation IR with the exact (not folded)
preprocessing, as ``lcnet-ov infer`` does with either engine, and fast decode, the default of
both engines (it changes only the JPEGs of 512 px or more on the short side). Per round:

* ``AsyncClassifier``: ``map`` over the files (compile excluded; the pool is built first);
* Ray: ``classify`` + ``write_results`` into a Parquet file on a local Ray started once
  (``ray.init`` timed separately). *job* counts from submission (actor start and compile
  included). A second, smaller job (a quarter of the files) in each round gives the job's
  fixed cost and its marginal rate by difference: T(N) = fixed + N / rate. (Timing the rows
  as they arrive would not: Ray Data delivers them in blocks, after reading and decoding
  ahead, so "first rows to last" overstates the rate.)

CPU seconds are read per process (psutil) for the Ray job: the actor, the read-task workers,
the driver (this process: Ray Data's executor and the Parquet writer) and Ray's daemons
(raylet, GCS, ...), so the gap to ``AsyncClassifier`` is attributed rather than guessed.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from benchmarks import harness
from benchmarks.harness import IMAGENET_SAMPLE, spread

ACTOR_TITLE = "MapWorker(MapBatches(_ClassifyBatch))"


def stage_costs(xml: Path, files: list[Path]) -> tuple[float, float]:
    """CPU ms per image on one thread: decode + preprocess, and inference at batch 8.

    CPU time, not wall time, so other jobs' load does not inflate it: decoding is timed with
    this thread's clock, inference with the process clock (OpenVINO's one worker thread).
    """
    import numpy as np

    from lcnet_ov.runtime.classifier import Classifier

    with Classifier(xml, threads=1, batch_size=8) as clf:
        sample = files[:160]
        t = time.thread_time()
        tensors = [clf.model.prepare(f) for f in sample]
        decode = (time.thread_time() - t) * 1e3 / len(sample)
        batch = np.stack(tensors)
        clf.predict_probs(batch[:8])  # warm-up
        t = time.process_time()
        clf.predict_probs(batch, batch_size=8)
        infer = (time.process_time() - t) * 1e3 / len(sample)
    return decode, infer


def run_async(xml: Path, files: list[Path]) -> tuple[float, float]:
    """(images/s, CPU ms per image of this process, all threads) for ``AsyncClassifier.map``."""
    from lcnet_ov.runtime.async_classifier import AsyncClassifier

    with AsyncClassifier(xml, fold_preprocessing=False) as pool:
        t, cpu = time.perf_counter(), time.process_time()
        n = sum(1 for _ in pool.map(files))
        return n / (time.perf_counter() - t), (time.process_time() - cpu) * 1e3 / n


def _category(proc, me: int) -> str:
    if proc.pid == me:
        return "driver"
    cmd = " ".join(proc.cmdline())
    if ACTOR_TITLE in cmd:
        return "actor"
    if cmd.startswith("ray::"):
        return "read tasks + Ray Data helpers"
    return "Ray daemons (raylet, GCS, agents)"


def cpu_by_category() -> dict[str, float]:
    import psutil

    me = os.getpid()
    out: dict[str, float] = defaultdict(float)
    for proc in [psutil.Process(me), *psutil.Process(me).children(recursive=True)]:
        try:
            t = proc.cpu_times()
            out[f"{proc.pid}:{_category(proc, me)}"] = t.user + t.system
        except psutil.Error:
            continue
    return out


def idle_cores(seconds: float) -> float:
    """Cores Ray's processes burn with no job running (timers, polling, heartbeats): a cost per
    second, not per image, so a slower (loaded) job pays more of it per image."""
    before = cpu_by_category()
    time.sleep(seconds)
    after = cpu_by_category()
    return sum(v - before.get(k, v) for k, v in after.items()) / seconds


def run_ray(xml: Path, files: list[Path], out: Path) -> tuple[float, dict[str, float]]:
    """(job seconds, CPU seconds per category) of one Ray job."""
    from lcnet_ov import distributed

    before = cpu_by_category()
    t = time.perf_counter()
    summary = distributed.write_results(distributed.classify(files, xml), out)
    end = time.perf_counter()
    after = cpu_by_category()
    assert summary.images == len(files) and summary.failed == 0, summary
    cpu: dict[str, float] = defaultdict(float)
    cpu["_row_bytes"] = out.stat().st_size / len(files)  # the Parquet file, per row
    for key, seconds in after.items():
        cpu[key.split(":", 1)[1]] += seconds - before.get(key, 0.0)
    return end - t, dict(cpu)


def build_parser():
    parser = harness.parser(__doc__)
    parser.add_argument("--folder", type=Path, default=IMAGENET_SAMPLE)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    run = harness.start(args, __name__, argv)
    idle_s = 5.0
    if run.smoke:
        args.limit, args.rounds, idle_s = 16, 1, 0.5

    import ray

    from lcnet_ov import distributed
    from lcnet_ov.export.resolve import resolve_ir

    files = sorted(p for p in args.folder.glob("*.JPEG"))[: args.limit]
    if len(files) < 8:
        sys.exit(f"need at least 8 *.JPEG in {args.folder}")
    small = files[: len(files) // 4]
    xml = resolve_ir("text_image_orientation")
    cores = len(os.sched_getaffinity(0))
    decode_ms, infer_ms = stage_costs(xml, files)

    t = time.perf_counter()
    ray.init(address="local", num_cpus=cores, include_dashboard=False, logging_level="WARNING")
    startup = time.perf_counter() - t
    from ray.data import DataContext

    DataContext.get_current().enable_progress_bars = False
    actors = distributed.plan_actors(None, 1)
    # the session's first job also starts Ray Data's helper actors (stats, autoscaling
    # coordinator): a once-per-session cost, paid here so the rounds compare like with like
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        distributed.write_results(distributed.classify(files[:40], xml), Path(tmp) / "w.parquet")
    first_job = time.perf_counter() - t
    idle = [idle_cores(idle_s)]

    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = ["async", "ray", "small"] if r % 2 == 0 else ["small", "ray", "async"]
            result: dict[str, object] = {}
            for engine in order:
                if engine == "async":
                    result["async"] = run_async(xml, files)
                elif engine == "ray":
                    result["ray"] = run_ray(xml, files, Path(tmp) / f"rows{r}.parquet")
                else:
                    result["small"] = run_ray(xml, small, Path(tmp) / f"small{r}.parquet")[0]
            run.sample_load()
            idle.append(idle_cores(idle_s))
            seconds, cpu = result["ray"]  # type: ignore[misc]
            rate, async_cpu = result["async"]  # type: ignore[misc]
            marginal = (len(files) - len(small)) / max(seconds - result["small"], 1e-9)  # type: ignore[operator]
            fixed = seconds - len(files) / marginal
            cpu["_async_cpu_ms"] = async_cpu
            rounds.append((rate, len(files) / seconds, marginal, fixed, cpu))
            print(
                f"round {r + 1}: async {rate:.1f}/s, ray job {len(files) / seconds:.1f}/s, "
                f"marginal {marginal:.1f}/s, fixed {fixed:.2f} s, load {run.loads[-1]:.2f}",
                file=sys.stderr,
            )
    ray.shutdown()
    kib = statistics.mean(f.stat().st_size for f in files) / 1024
    body = report(
        rounds, startup, first_job, decode_ms, infer_ms, len(files), cores, actors, kib, idle
    )
    run.emit("distributed.md", "ray", body, title="Distributed classification (Ray Data)")


def _break_even(need: list[float], ratio_marginal: list[float]) -> str:
    """Where a job's fixed cost stops mattering for the 0.7× target, said in words."""
    med = statistics.median(need)
    if med == float("inf"):
        return (
            f"No job size reaches 0.7× `AsyncClassifier` here: the marginal rate itself is "
            f"{statistics.median(ratio_marginal):.2f}× (in {sum(r >= 0.7 for r in ratio_marginal)}"
            f" of {len(need)} rounds ≥ 0.7×)."
        )
    return f"The Ray job reaches 0.7× `AsyncClassifier` from about {med:.0f} images per job."


def report(rounds, startup, first_job, decode_ms, infer_ms, n, cores, actors, kib, idle) -> str:
    import ray

    from lcnet_ov.distributed.job import ROWS_PER_CALL_FACTOR

    asyncs = [r[0] for r in rounds]
    jobs = [r[1] for r in rounds]
    marginals = [r[2] for r in rounds]
    fixed = [r[3] for r in rounds]
    ratio_job = [r[1] / r[0] for r in rounds]
    ratio_marginal = [r[2] / r[0] for r in rounds]
    # job size at which the Ray job reaches 0.7× AsyncClassifier: N / (F + N / R) = 0.7 A
    need = [
        0.7 * a * f / (1 - 0.7 * a / m) if 0.7 * a < m else float("inf") for a, _, m, f, _ in rounds
    ]
    cpu: dict[str, list[float]] = defaultdict(list)
    row_bytes = statistics.median(c.pop("_row_bytes") for *_, c in rounds)
    async_cpu = [c.pop("_async_cpu_ms") for *_, c in rounds]
    for *_, c in rounds:
        for k, v in c.items():
            cpu[k].append(v * 1e3 / n)
    per_actor = 1e3 / max(decode_ms, infer_ms)
    lines = [
        f"Ray {ray.__version__}, {cores} cores shared with other jobs (the load is in the last "
        f"line), {n} ImageNet JPEGs, the PP-LCNet_x1_0 text-orientation IR (FP32, exact "
        f"preprocessing, fast decode as both engines default to), {len(rounds)} interleaved "
        f"rounds: median (min–max).",
        "",
        "| engine | images/s | vs AsyncClassifier |",
        "| --- | --- | --- |",
        f"| `AsyncClassifier` (one process, all cores) | {spread(asyncs, '.1f')} | 1 |",
        f"| Ray job, {actors} actor × 1 CPU, actor start included | {spread(jobs, '.1f')} | "
        f"{spread(ratio_job, '.2f')}× |",
        f"| Ray job, marginal rate (per image past the fixed cost) | {spread(marginals, '.1f')} | "
        f"{spread(ratio_marginal, '.2f')}× |",
        "",
        f"Ray start-up (`ray.init`, local, no dashboard): {startup:.1f} s, paid once per "
        f"`lcnet-ov infer --engine ray` without `--address`; the session's first job (40 "
        f"images, starting Ray Data's helper actors too) took {first_job:.1f} s and is not in "
        f"the rounds. Rows per actor call: "
        f"{ROWS_PER_CALL_FACTOR} × batch 8.",
        "",
        "CPU time on one thread, this machine, same run: decode + preprocess "
        f"{decode_ms:.2f} ms/image, inference {infer_ms:.2f} ms/image (batch 8). An actor "
        f"overlaps the two, so with a core for each its ceiling is 1000 / max(...) = "
        f"**{per_actor:.0f} images/s**; one after the other it would be "
        f"{1e3 / (decode_ms + infer_ms):.0f}. Fixed cost of a job (planning, read tasks and "
        f"actor start, OpenVINO import, compile; from the two job sizes): "
        f"{spread(fixed, '.1f')} s. {_break_even(need, ratio_marginal)} The JPEGs "
        f"average {kib:.0f} KiB, so one actor at "
        f"its ceiling reads {per_actor * kib / 1024:.1f} MiB/s; a result row takes "
        f"{row_bytes:.0f} bytes of Parquet.",
        "",
        "CPU milliseconds per image during the Ray job (all processes of the local Ray):",
        "",
        "| where | CPU ms/image |",
        "| --- | --- |",
    ]
    for k in sorted(cpu, key=lambda k: -statistics.median(cpu[k])):
        lines.append(f"| {k} | {spread(cpu[k], '.2f')} |")
    ray_total = [sum(v[i] for v in cpu.values()) for i in range(len(rounds))]
    actor_cpu = statistics.median(cpu.get("actor", [0.0]))
    idle_c = statistics.median(idle)
    # per-image Ray CPU once the per-second (idle) part of each job is taken out
    per_image = [t - idle_c * 1e3 / j for t, (_, j, *_) in zip(ray_total, rounds, strict=True)]
    async_bound = cores * 1e3 / statistics.median(async_cpu)
    ray_bound = min((cores - idle_c) * 1e3 / statistics.median(per_image), per_actor)
    lines += [
        f"| **Ray job, all processes** | **{spread(ray_total, '.2f')}** |",
        f"| `AsyncClassifier` process, all threads | {spread(async_cpu, '.2f')} |",
        f"| model work on one thread (decode + inference, above) | {decode_ms + infer_ms:.2f} |",
        "",
        f"Idle, the local Ray's processes burn {spread(idle, '.3f')} cores (timers, "
        "polling): a cost per second, which a job slowed by other load pays more of per image. "
        f"Without it the Ray job costs {spread(per_image, '.2f')} CPU ms/image. "
        f"Load-independent bounds for this machine with its {cores} cores to itself "
        f"(images/s): `AsyncClassifier` ≤ {cores} × 1000 / {statistics.median(async_cpu):.2f}"
        f" = **{async_bound:.0f}**; the Ray job ≤ min(({cores} − {idle_c:.2f}) × 1000 / "
        f"{statistics.median(per_image):.2f}, the actor's ceiling {per_actor:.0f}) = "
        f"**{ray_bound:.0f}**, i.e. **{ray_bound / async_bound:.2f}×** once start-up is paid. "
        f"The actor spends {actor_cpu:.2f} CPU ms/image against {decode_ms + infer_ms:.2f} "
        "of model work; the difference is Ray's worker runtime, the Arrow/NumPy conversion "
        "of each call's rows and cache contention with the other jobs on the machine (not "
        "separated here).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
