"""The one harness every benchmark script uses: arguments, rounds, load, provenance, doc sections.

A script builds its parser with :func:`parser` (which adds ``--write``, ``--smoke`` and
``--docs``), calls :func:`start` to get a :class:`Run`, measures, and hands each Markdown section
to :meth:`Run.emit`. Without ``--write`` a section is printed, never written: running a script to
look must not change docs/. With ``--write`` only the text between the section's
``<!-- name:start -->`` and ``<!-- name:end -->`` markers changes, and the section ends with a
provenance line (command, git commit, date, machine and ISA, versions, load average and CPU
steal during the run), so a reader can tell what a number was measured at and whether the code
changed since. ``--smoke`` runs the same code path on tiny sizes in a separate scratch folder:
its numbers mean nothing, so it can never write.

Load from other jobs on a shared machine comes in bursts of seconds. :func:`interleave` runs
every configuration once per round, rotating the order, so a burst costs all of them alike;
figures are then the median with the range over rounds (:func:`spread`), and comparisons the
median and range of per-round ratios (:func:`ratio_spread`): a difference inside the range is
not a finding.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
#: ../shared/imagenet-sample beside the checkout, or $LCNET_OV_IMAGENET_SAMPLE
IMAGENET_SAMPLE = Path(
    os.environ.get("LCNET_OV_IMAGENET_SAMPLE") or REPO.parent / "shared" / "imagenet-sample"
)
#: versions named in every provenance line (those installed)
VERSIONED = ("openvino", "nncf", "onnxruntime", "paddlepaddle", "paddle2onnx", "numpy")


# ---- arguments and the run -----------------------------------------------------------------------


def parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser with the options every script has; ``doc`` is the script's docstring
    (its first line is the description, the rest the help epilog)."""
    text = (doc or "").strip()
    first, _, rest = text.partition("\n")
    p = argparse.ArgumentParser(
        description=first,
        epilog=rest.strip() or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--write",
        action="store_true",
        help="write the sections into docs/ (default: print them only)",
    )
    mode.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, seconds: checks the script still runs; writes nothing",
    )
    p.add_argument(
        "--docs",
        type=Path,
        default=DOCS,
        help="folder of the pages --write changes (default: this checkout's docs/)",
    )
    return p


def cpu_ticks() -> tuple[int, int] | None:
    """(steal, total) clock ticks over all CPUs from ``/proc/stat``; ``None`` off Linux.

    Steal is time the hypervisor gave this VM's virtual CPUs to someone else: on a shared
    cloud machine it is the load that ``getloadavg`` cannot see, and it slows every stage."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


def load_average() -> float:
    """The 1-minute load average (other jobs on a shared machine); NaN where unknown."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def steal_percent(start: tuple[int, int] | None) -> float | None:
    """Share of all CPU time stolen by the hypervisor since ``start`` (``None`` where unknown)."""
    now = cpu_ticks()
    if start is None or now is None or now[1] <= start[1]:
        return None
    return 100 * (now[0] - start[0]) / (now[1] - start[1])


def git_commit() -> str:
    """The checkout's commit, and whether the measured code differs from it."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short=10", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "lcnet_ov", "benchmarks"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "commit unknown (not a git checkout)"
    return f"commit {sha}" + (" + uncommitted changes to lcnet_ov/ or benchmarks/" if dirty else "")


@dataclass
class Run:
    """One invocation of a script: its options, where it builds things, and the load it saw."""

    args: argparse.Namespace
    script: str
    argv: list[str]
    work: Path
    started: float = field(default_factory=time.monotonic)
    load_start: float = field(default_factory=load_average)
    ticks_start: tuple[int, int] | None = field(default_factory=cpu_ticks)
    #: one load sample per round (:meth:`sample_load`), where a script takes them
    loads: list[float] = field(default_factory=list)

    @property
    def smoke(self) -> bool:
        return bool(self.args.smoke)

    def sample_load(self) -> None:
        self.loads.append(load_average())

    def command(self) -> str:
        return " ".join(["python -m", f"benchmarks.{self.script}", *map(shlex.quote, self.argv)])

    def load_text(self) -> str:
        """Load average at the start, during (if sampled) and at the end, steal, duration."""
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        during = (
            f", {min(self.loads):.1f}–{max(self.loads):.1f} during the rounds" if self.loads else ""
        )
        steal = steal_percent(self.ticks_start)
        steal_text = "" if steal is None else f"; CPU steal (hypervisor) {steal:.1f} %"
        minutes = (time.monotonic() - self.started) / 60
        return (
            f"load average (1 min) {self.load_start:.1f} at the start{during}, "
            f"{load_average():.1f} at the end, on {cores} cores{steal_text}; ran {minutes:.1f} min"
        )

    def provenance(self) -> str:
        """The line every generated section ends with: what, at which commit, where, how busy."""
        from lcnet_ov.bench import machine_info

        info = machine_info()
        versions = ", ".join(f"{k} {info.versions[k]}" for k in VERSIONED if k in info.versions)
        return (
            f"Provenance: `{self.command()}` at {git_commit()}, "
            f"{datetime.date.today().isoformat()}; {info.summary()}; {versions}; "
            f"{self.load_text()}."
        )

    def emit(
        self, page: str, name: str, body: str, title: str | None = None, provenance: str = ""
    ) -> None:
        """Print the section (with its provenance line); with ``--write`` also replace it in
        ``docs/<page>`` (see :func:`write_section`). ``provenance``: the line recorded when the
        numbers were measured, for a script that re-renders an earlier run's results."""
        text = f"{body.strip()}\n\n{provenance or self.provenance()}\n"
        doc = self.args.docs / page
        print(f"\n==== {page}, section {name} ====\n{text}")
        if self.args.write:
            write_section(doc, name, text, title=title)
            print(f"wrote {doc} (section {name})", file=sys.stderr)


def start(args: argparse.Namespace, script: str, argv: Sequence[str] | None = None) -> Run:
    """The run of ``script`` (``__name__``-style or bare) with ``argv`` (default: the command
    line; the provenance line repeats it): scratch folder, model cache, offline.

    Generated models live in ``$LCNET_OV_BENCH_WORK`` (default ``<tmp>/lcnet-ov-bench``) and are
    reused by later runs; ``--smoke`` uses its ``smoke/`` subfolder, so models built from tiny
    calibration sets never stand in for the real ones. Conversions land in ``<work>/home``
    (``LCNET_OV_HOME``, unless set), never in the user's cache, and nothing is downloaded."""
    base = Path(
        os.environ.get("LCNET_OV_BENCH_WORK") or Path(tempfile.gettempdir()) / "lcnet-ov-bench"
    )
    os.environ.setdefault("LCNET_OV_HOME", str(base / "home"))
    os.environ.setdefault("LCNET_OV_OFFLINE", "1")
    if script == "__main__":  # run as ``python -m benchmarks.X``
        spec = getattr(sys.modules["__main__"], "__spec__", None)
        script = spec.name if spec else Path(sys.argv[0]).stem
    work = base / "smoke" if args.smoke else base
    work.mkdir(parents=True, exist_ok=True)
    global _RUN
    _RUN = Run(args, script.rsplit(".", 1)[-1], list(sys.argv[1:] if argv is None else argv), work)
    return _RUN


_RUN: Run | None = None


def work() -> Path:
    """The scratch folder of the current run (see :func:`start`)."""
    if _RUN is None:
        raise RuntimeError("benchmarks.harness.start() has not been called")
    return _RUN.work


# ---- doc sections --------------------------------------------------------------------------------


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def section_text(text: str, name: str) -> str | None:
    """What lies between ``name``'s markers in ``text`` (``None`` when they are absent)."""
    start, end = markers(name)
    m = re.search(re.escape(start) + r"\n?(.*?)\n?" + re.escape(end), text, re.S)
    return m.group(1) if m else None


def write_section(doc: Path, name: str, body: str, title: str | None = None) -> None:
    """Replace the text between ``name``'s markers in ``doc`` and nothing else.

    A section not in the page yet is appended at its end; a page that does not exist is
    created with ``# title``. The new page is written to a temporary file and renamed over the
    old one, so an interrupted run leaves the old page, never half of one."""
    start, end = markers(name)
    text = doc.read_text() if doc.is_file() else f"# {title or doc.stem}\n"
    block = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    tmp = doc.with_name(f".{doc.name}.tmp")
    tmp.write_text(text)
    tmp.replace(doc)


def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# ---- rounds, medians, ranges, ratios -------------------------------------------------------------


def spread(values: Sequence[float], fmt: str = ".2f") -> str:
    """``median (min–max)`` of per-round values: the figure and how far the rounds scattered.
    On a shared machine a difference inside that range is not a finding."""
    med = format(statistics.median(values), fmt)
    if len(values) == 1:
        return med
    return f"{med} ({format(min(values), fmt)}–{format(max(values), fmt)})"


def ratios(num: Sequence[float], den: Sequence[float]) -> list[float]:
    """Per-round ratios of two configurations measured in the same rounds."""
    return [a / b for a, b in zip(num, den, strict=True)]


def ratio_spread(num: Sequence[float], den: Sequence[float], fmt: str = ".2f") -> str:
    """Per-round ratios, as :func:`spread` with a ``×`` after the median."""
    text = spread(ratios(num, den), fmt)
    return text.replace(" (", "× (", 1) if "(" in text else text + "×"


def interleave(
    jobs: Sequence[tuple[str, Callable[[], Any]]], rounds: int, log: bool = True
) -> dict[str, list[Any]]:
    """Run every job once per round, rotating the order, and collect each job's results.

    One long block per configuration lets a burst of other jobs' load land on a few
    configurations only; short rounds spread every configuration over the whole run."""
    out: dict[str, list[Any]] = {name: [] for name, _ in jobs}
    for r in range(rounds):
        shift = r % len(jobs)
        for name, job in [*jobs[shift:], *jobs[:shift]]:
            out[name].append(job())
        if _RUN is not None:
            _RUN.sample_load()
        if log:
            print(f"round {r + 1}/{rounds}", file=sys.stderr)
    return out


@dataclass(frozen=True)
class Combined:
    """One ``lcnet_ov.bench`` configuration over several rounds."""

    #: median over rounds of each round's median latency
    median_ms: float
    #: fastest single iteration over all rounds (closest to an idle machine)
    min_ms: float
    #: median over rounds of the loop throughput
    fps: float
    batch: int
    #: each round's median latency and loop throughput, in round order
    pass_medians: tuple[float, ...] = ()
    pass_fps: tuple[float, ...] = ()

    @property
    def best_fps(self) -> float:
        """Images/s at the fastest iteration's latency (batch ÷ min latency)."""
        return self.batch * 1e3 / self.min_ms

    def latency_cell(self) -> str:
        return spread(self.pass_medians)

    def fps_cell(self) -> str:
        return spread(self.pass_fps, ".0f")


def passes_over(
    jobs: Sequence[tuple[str, Callable[[], dict[Hashable, Any]]]], rounds: int
) -> dict[Hashable, Combined]:
    """:func:`interleave` for jobs returning ``{key: lcnet_ov.bench Measurement}``, each key's
    rounds combined."""
    runs: dict[Hashable, list[Any]] = {}
    for results in interleave(jobs, rounds).values():
        for measured in results:
            for key, m in measured.items():
                runs.setdefault(key, []).append(m)
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


def ms(value: float) -> str:
    return f"{value:.2f}"
