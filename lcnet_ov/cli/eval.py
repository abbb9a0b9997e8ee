"""``lcnet-ov eval``: accuracy on a labeled dataset, precisions side by side with Δ.

Top-1/top-5 for classifiers; mAP and per-label accuracy for multi-label models; accuracy at
the model's threshold for binary (PULC ``ThreshOutput``) models."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from ._options import (
    INFER_PRECISIONS,
    Command,
    infer_precision_option,
    model_param,
    precision_option,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime.evaluation import EvalResult

SHOW_SKIPPED = 10


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value * 100:+.2f}" if signed else f"{value * 100:.2f}"


def format_table(result: EvalResult) -> str:
    """One row per model; Δ columns are against the first row (points, negative = worse)."""
    if result.kind != "topk":
        return _format_thresholded(result)
    header = ["Model", "Weights", "Runs in", "Top-1 %", "Top-5 %", "ΔTop-1", "ΔTop-5", "Agree %"]
    rows = []
    for i, s in enumerate(result.scores):
        first = i == 0
        rows.append(
            [
                s.label,
                s.precision,
                s.inference_precision,
                _pct(s.top1),
                _pct(s.top5),
                "" if first else _pct(result.delta_top1(i), signed=True),
                "" if first else _pct(result.delta_top5(i), signed=True),
                "" if first else _pct(result.agreement[i]),
            ]
        )
    from .._table import format_table as table

    return table(header, rows, right=[j >= 3 for j in range(len(header))])


def _format_thresholded(result: EvalResult) -> str:
    """Multi-label: mAP and mean label accuracy; binary: accuracy at the threshold (+ top-1)."""
    from .._table import format_table as table

    multi = result.kind != "threshold"
    if multi:
        header = ["Model", "Weights", "Runs in", "mAP %", "Label acc %", "ΔmAP", "ΔLabel acc"]
        metrics = ("map", "accuracy")
    else:
        header = ["Model", "Weights", "Runs in", "Acc@thr %", "ΔAcc@thr"]
        metrics = ("accuracy",)
    header.append("Agree %")
    rows = []
    for i, s in enumerate(result.scores):
        first = i == 0
        row = [s.label, s.precision, s.inference_precision]
        row += [_pct(getattr(s, m)) for m in metrics]
        row += ["" if first else _pct(result.delta(i, m), signed=True) for m in metrics]
        row.append("" if first else _pct(result.agreement[i]))
        rows.append(row)
    return table(header, rows, right=[j >= 3 for j in range(len(header))])


def format_per_label(result: EvalResult) -> str:
    """Multi-label: one row per label, AP and accuracy of every model side by side."""
    from .._table import format_table as table

    header = ["Label", "Positives"]
    for s in result.scores:
        header += [f"AP % {s.label}", f"Acc % {s.label}"]
    rows = []
    for j, first in enumerate(result.baseline.per_label):
        row = [first["label"], str(first["positives"])]
        for s in result.scores:
            row += [_pct(s.per_label[j]["ap"]), _pct(s.per_label[j]["accuracy"])]
        rows.append(row)
    return table(header, rows, right=[j >= 1 for j in range(len(header))])


@click.command(cls=Command)
@model_param(default=None)
@click.option(
    "-d",
    "--data",
    required=True,
    type=click.Path(exists=True),
    help="Labeled images: folder with val_list.txt (PaddleClas), one sub-folder per "
    "class, or a list file; multi-label models take PaddleClas' multi-label list "
    "(path<TAB>0,1,... one 0/1 per label).",
)
@click.option(
    "--list-file", type=click.Path(), help="List file inside --data to use (default: val_list.txt)."
)
@precision_option(multiple=True)
@click.option(
    "-b",
    "--batch-size",
    type=click.IntRange(min=1),
    default=32,
    show_default=True,
    help="Images per request.",
)
@infer_precision_option
@click.option(
    "--inference-precision",
    "old_infer_precision",
    type=click.Choice(INFER_PRECISIONS),
    hidden=True,
    help="Deprecated spelling of --infer-precision.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    help="Evaluate a class-balanced subset of this many images.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress display.")
def eval_cmd(
    model: str | None,
    data: str,
    list_file: str | None,
    precision: tuple[str, ...],
    batch_size: int,
    infer_precision: str | None,
    old_infer_precision: str | None,
    limit: int | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Accuracy like PaddleClas tools/eval.py, FP32 and INT8 side by side.

    Top-1/top-5 for classifiers; mAP and per-label accuracy (at the model's thresholds) for
    multi-label and attribute models; accuracy at the model's threshold for binary models.
    One column per -p value: a precision of --model, or an IR's .xml (then --model is needed
    only for the precision names). Default: fp32, plus int8 when it exists.
    """
    from ..runtime.evaluation import evaluate

    if old_infer_precision is not None:
        click.echo("Warning: --inference-precision is now spelled --infer-precision", err=True)
        infer_precision = None if old_infer_precision == "default" else old_infer_precision
    names = [p for p in precision if not p.lower().endswith(".xml")]
    if model is None and (names or not precision):
        raise click.UsageError("give the model: -m/--model NAME|PATH (or only -p IR.xml columns)")
    if not precision:
        precision = _default_precisions(model)
    result = evaluate(
        model or precision[0],
        data,
        precision=precision,
        batch_size=batch_size,
        inference_precision=infer_precision,
        list_file=list_file,
        limit=limit,
        progress=not (quiet or as_json),
    )
    if result.data.get("note"):
        click.echo(f"Note: {result.data['note']}", err=True)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    what = (
        f"{result.data.get('labels')} labels, multi-label ({result.kind}), "
        f"threshold {_threshold(result.threshold)}"
        if result.data.get("multilabel")
        else f"{result.data['classes']} classes"
        + (f", threshold {result.threshold:g}" if result.kind == "threshold" else "")
    )
    click.echo(
        f"{result.model} on {result.data['source']}: {result.images} images, {what}"
        + (
            f" (folders mapped {result.data['class_mapping']})"
            if "class_mapping" in result.data
            else ""
        )
        + f" ({result.seconds:.1f} s)"
    )
    click.echo(format_table(result))
    if result.data.get("multilabel"):
        click.echo("")
        click.echo(format_per_label(result))
    if result.skipped:
        click.echo(f"skipped {len(result.skipped)} unreadable file(s):")
        for item in result.skipped[:SHOW_SKIPPED]:
            click.echo(f"  {item.name}: {item.reason}")
        if len(result.skipped) > SHOW_SKIPPED:
            click.echo(f"  … and {len(result.skipped) - SHOW_SKIPPED} more (see --json)")


def _threshold(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else "per label"


def _default_precisions(model: str) -> tuple[str, ...]:
    """fp32, plus int8 when an INT8 IR for the model exists (the usual question is Δ)."""
    from ..errors import LcnetOVError
    from ..runtime.evaluation import resolve_column

    try:
        resolve_column(model, "int8")
    except LcnetOVError:
        return ("fp32",)
    return ("fp32", "int8")
