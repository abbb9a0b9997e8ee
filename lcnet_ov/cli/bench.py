"""``lcnet-ov bench``: latency and throughput, measured the way benchmark_app measures them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ._options import (
    Command,
    MultiOption,
    file_output,
    force_option,
    infer_precision_option,
    model_from_precision,
    model_param,
    precision_option,
    refuse_existing,
)


def _optional_ints(values: tuple[str, ...]) -> list[Any]:
    """``("1", "2", "auto")`` → ``["1", "2", None]``; validation is the library's (one clean
    error)."""
    return [None if v.lower() == "auto" else v for v in values] or [None]


class _Bar:
    """Live progress on stderr: a tqdm bar per configuration and one summary line when done."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None
        self._label = ""

    def status(self, message: str) -> None:
        if self.enabled:
            click.echo(f"• {message}", err=True)

    def start(self, index: int, total: int, config: Any) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        self._label = f"[{index + 1}/{total}] {config.label}"
        self._bar = tqdm(
            total=100,
            desc=self._label,
            file=sys.stderr,
            leave=False,
            disable=None,
            bar_format="{desc}: {percentage:3.0f}%|{bar:20}| {elapsed}",
        )

    def tick(self, fraction: float) -> None:
        if self._bar is not None:
            self._bar.n = round(fraction * 100)
            self._bar.refresh()

    def finish(self, measurement: Any) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if not self.enabled:
            return
        if measurement is None:
            click.echo(f"{self._label}: skipped", err=True)
        else:
            click.echo(
                f"{self._label}: median {measurement.latency.median:.2f} ms, "
                f"{measurement.throughput_fps:.1f} FPS",
                err=True,
            )


@click.command(cls=Command)
@model_param(default=None)
@precision_option(multiple=True, auto=True)
@click.option(
    "--backend",
    cls=MultiOption,
    metavar="B [B ...]",
    default=("openvino",),
    show_default=True,
    help="openvino, onnxruntime, paddle; several values measure peers in the same run.",
)
@click.option(
    "--threads",
    cls=MultiOption,
    metavar="N [N ...]",
    help="INFERENCE_NUM_THREADS (peers: intra-op threads); a list sweeps. "
    "Default: the runtime's choice.",
)
@click.option(
    "-b",
    "--batch-size",
    cls=MultiOption,
    metavar="N [N ...]",
    help="Batch; a list sweeps. Default: 1; 8 with --input DIR in async mode (what `infer "
    "DIR` forms).",
)
@click.option(
    "--streams",
    cls=MultiOption,
    metavar="N [N ...]",
    help="NUM_STREAMS; a list sweeps. Implies --hint none unless a hint is given.",
)
@click.option(
    "--hint",
    metavar="latency|throughput|none",
    default=None,
    help="PERFORMANCE_HINT. Default: latency for sync, throughput for async.",
)
@click.option(
    "--mode",
    metavar="sync|async",
    default=None,
    help="Default: sync with --hint latency, async otherwise (as benchmark_app).",
)
@click.option(
    "--requests",
    metavar="N",
    type=str,
    default=None,
    help="Async infer requests. Default: OPTIMAL_NUMBER_OF_INFER_REQUESTS.",
)
@click.option(
    "-t",
    "--time",
    "time_s",
    metavar="SECONDS",
    type=str,
    default=None,
    help="Seconds per configuration (default 5).",
)
@click.option(
    "-n",
    "--iterations",
    metavar="N",
    type=str,
    default=None,
    help="Inferences per configuration instead of a time (async with --input DIR: images).",
)
@click.option(
    "--warmup",
    metavar="N",
    type=str,
    default="1",
    show_default=True,
    help="Untimed inferences first (the first is reported as first-inference).",
)
@infer_precision_option
@click.option(
    "--input",
    "input_",
    metavar="synthetic|DIR",
    default="synthetic",
    show_default=True,
    help="'synthetic', or a folder of images: read, decode and preprocess are timed "
    "too (end to end; async runs AsyncClassifier.map over the files, with its batching).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON on stdout.")
@click.option(
    "-o",
    "--output",
    "json_path",
    metavar="FILE",
    default=None,
    callback=file_output,
    help="Also write the full result as JSON to this file.",
)
@click.option(
    "--plot",
    "plot_path",
    metavar="FILE",
    default=None,
    callback=file_output,
    help="Write a PNG of latency and throughput per configuration.",
)
@force_option
@click.option("-q", "--quiet", is_flag=True, help="No progress display.")
def bench(
    model: str | None,
    precision: tuple[str, ...],
    backend: tuple[str, ...],
    threads: tuple[str, ...],
    batch_size: tuple[str, ...] | None,
    streams: tuple[str, ...],
    hint: str | None,
    mode: str | None,
    requests: str | None,
    time_s: str | None,
    iterations: str | None,
    warmup: str,
    infer_precision: str | None,
    input_: str,
    as_json: bool,
    json_path: str | None,
    plot_path: str | None,
    force: bool,
    quiet: bool,
) -> None:
    """Measure latency (min/median/p90/p99/max) and throughput of a model.

    Sweeps: `--threads 1,2 --batch-size 1 8 --precision fp32 int8` measures every combination
    (of --model's IRs; `-p IR.xml` measures that one IR instead).
    Peers: `--backend openvino onnxruntime paddle` runs ONNX Runtime and Paddle Inference
    (oneDNN) on the source model with the same threads. The table reports what OpenVINO
    actually chose (streams, threads, inference precision), which hints can override.
    """
    from ..bench import BenchSettings, run_settings
    from ..bench.report import format_report, plot, to_json, write_json
    from ..errors import BenchError, BenchOptionError

    def number(name: str, value: str | None, kind: type) -> Any:
        if value is None:
            return None
        try:
            return kind(value)
        except ValueError:
            raise BenchOptionError(f"{name} expects a number, got {value!r}") from None

    xmls = [p for p in precision if p.lower().endswith(".xml")]
    if xmls and len(precision) > 1:
        raise BenchOptionError(
            "an .xml IR is measured on its own: give -p IR.xml, or precision names of --model "
            f"to compare (got {' '.join(precision)})"
        )
    model, _ = model_from_precision(
        click.get_current_context(), model, precision[0] if precision else None
    )
    refuse_existing(json_path, force)  # before minutes of measuring
    refuse_existing(plot_path, force)
    if precision == ("auto",):
        precision, infer_precision = _auto(model, infer_precision)
    settings = BenchSettings(
        model=model,
        # an IR is measured at its own precision (the runner labels it from its metadata)
        precisions=("fp32",) if xmls else (precision or ("fp32",)),
        backends=backend,
        threads=tuple(_optional_ints(threads)),
        batch_sizes=batch_size or None,
        streams=tuple(_optional_ints(streams)),
        hint=hint,
        mode=mode,
        requests=number("--requests", requests, int),
        time_s=number("--time", time_s, float),
        iterations=number("--iterations", iterations, int),
        warmup=number("--warmup", warmup, int),
        infer_precision=infer_precision or "default",
        input=input_,
    )
    if plot_path:  # fail before minutes of measuring, not after
        from .._deps import require

        require("matplotlib", extra="bench")
    for warning in settings.warnings:
        click.echo(f"Warning: {warning}", err=True)
    result = run_settings(settings, progress=_Bar(enabled=not quiet))
    for skip in result.skipped:
        click.echo(f"Skipped {skip.backend} {skip.precision}: {skip.reason}", err=True)
    for warning in result.warnings:
        if warning not in settings.warnings:
            click.echo(f"Warning: {warning}", err=True)
    click.echo(to_json(result) if as_json else format_report(result))
    if json_path:
        write_json(result, json_path)
    if plot_path and result.results:
        plot(result.results, plot_path, title=f"{Path(result.model).name} on {result.machine.cpu}")
    if not result.results:
        raise BenchError("nothing could be measured (see the skipped backends above)")


def _auto(model: str, infer_precision: str | None) -> tuple[tuple[str, ...], str | None]:
    """``-p auto``: measure what :func:`~lcnet_ov.runtime.locate.resolve_auto` picks for this
    machine (fp32, fp32 in bf16, or int8), said on stderr with the rates it chose on."""
    from ..export.resolve import resolve_ir
    from ..runtime.locate import resolve_auto

    choice = resolve_auto(resolve_ir(model, None))
    rates = ", ".join(f"{k} {v:.0f}/s" for k, v in choice.fps.items())
    how = "cached" if choice.cached else "measured"
    click.echo(f"auto: {choice.label} ({how}: {rates})", err=True)
    if choice.label == "bf16":
        return ("fp32",), "bf16"
    return (choice.label,), infer_precision
