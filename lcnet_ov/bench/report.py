"""A :class:`BenchResult` as text, JSON and a PNG (shared by the CLI and the docs scripts)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .results import BenchResult, Measurement

#: (header, cell) columns of the text table
_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("config", lambda m: m.label),
    ("nireq", lambda m: str(m.requests)),
    ("streams", lambda m: _actual(m, "NUM_STREAMS", "-")),
    ("threads", lambda m: _actual(m, "INFERENCE_NUM_THREADS", m.actual.get("threads", "-"))),
    ("infer", lambda m: _actual(m, "INFERENCE_PRECISION_HINT", "f32")),
    ("median ms", lambda m: f"{m.latency.median:.2f}"),
    ("p90", lambda m: f"{m.latency.p90:.2f}"),
    ("p99", lambda m: f"{m.latency.p99:.2f}"),
    ("min", lambda m: f"{m.latency.min:.2f}"),
    ("max", lambda m: f"{m.latency.max:.2f}"),
    ("mean", lambda m: f"{m.latency.mean:.2f}"),
    ("FPS", lambda m: f"{m.throughput_fps:.1f}"),
    ("first ms", lambda m: f"{m.first_inference_ms:.1f}"),
)


def _actual(m: Measurement, key: str, default: Any) -> str:
    return str(m.actual.get(key, default))


def format_table(rows: Sequence[Measurement]) -> str:
    """A fixed-width table, one line per configuration, numbers right-aligned.

    End-to-end runs get a ``pre ms`` column (median read + decode + preprocess per batch), the
    share of the latency that is not the network; those through ``AsyncClassifier`` get a
    ``mean batch`` column instead (the batches its batcher formed; latency is then per image).
    """
    columns = list(_COLUMNS)
    if any(m.preprocess is not None for m in rows):
        columns.insert(
            5, ("pre ms", lambda m: f"{m.preprocess.median:.2f}" if m.preprocess else "-")
        )
    if any("mean_batch" in m.actual for m in rows):  # AsyncClassifier forms its own batches
        columns.insert(5, ("mean batch", lambda m: str(m.actual.get("mean_batch", "-"))))
    from .._table import format_table as table

    return table(
        [name for name, _ in columns], [[str(cell(m)) for _, cell in columns] for m in rows]
    )


def format_report(result: BenchResult) -> str:
    """Header (model, machine, versions, loop settings) followed by the table."""
    s = result.settings
    versions = ", ".join(f"{k} {v}" for k, v in result.machine.versions.items())
    limit = f"{s['iterations']} iterations" if s["iterations"] else f"{s['time_s']:g} s"
    lines = [
        f"model:    {result.model}",
        f"machine:  {result.machine.summary()}",
        f"versions: {versions}",
        f"loop:     {limit} per config, {s['warmup']} warm-up, input {s['input']}, "
        f"hint {s['hint']}, requested inference precision {s['infer_precision']}",
        "latency:  ms per inference (OpenVINO: InferRequest.latency; peers: wall time); "
        "FPS = images/s",
    ]
    if any("mean_batch" in m.actual for m in result.results):
        lines.append(
            "          end to end async: AsyncClassifier.map over the files, latency per image "
            "(file taken → result yielded)"
        )
    lines += [
        "",
    ]
    if result.results:
        lines.append(format_table(result.results))
    else:
        lines.append("(nothing measured)")
    return "\n".join(lines)


def to_json(result: BenchResult) -> str:
    return json.dumps(result.to_dict(), indent=2)


def write_json(result: BenchResult, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_json(result) + "\n")
    return path


def plot(
    rows: Sequence[Measurement],
    path: str | Path,
    title: str | None = None,
    labels: Sequence[str] | None = None,
) -> Path:
    """Two horizontal bar charts, median latency (p90 whisker) and throughput, per config.

    matplotlib is imported here only (the ``bench`` extra), with the Agg backend so it works
    on servers without a display. PNGs are kept small (about 100 dpi) for the docs.
    """
    from .._deps import require

    require("matplotlib", extra="bench")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not rows:
        raise ValueError("nothing to plot")
    names = list(labels) if labels is not None else [m.label for m in rows]
    y = list(range(len(rows)))
    median = [m.latency.median for m in rows]
    whisker = [[0.0] * len(rows), [m.latency.p90 - m.latency.median for m in rows]]
    fps = [m.throughput_fps for m in rows]
    height = 1.2 + 0.32 * len(rows)
    fig, (ax_lat, ax_fps) = plt.subplots(1, 2, figsize=(10, height), sharey=True)
    ax_lat.barh(y, median, xerr=whisker, color="#4c72b0", capsize=2)
    ax_lat.set_xlabel("latency, ms (median, whisker to p90)")
    ax_fps.barh(y, fps, color="#55a868")
    ax_fps.set_xlabel("throughput, images/s")
    ax_lat.set_yticks(y, names, fontsize=8)
    ax_lat.invert_yaxis()
    for ax in (ax_lat, ax_fps):
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(axis="x", labelsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
