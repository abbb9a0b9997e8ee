"""``lcnet-ov export``: an OVMS / Triton model repository (thin layer over
:func:`lcnet_ov.serving.repository.export_repository`)."""

from __future__ import annotations

import json

import click

from ..paths import PRECISIONS
from ._options import model_option


@click.command()
@model_option
@click.option("--format", "fmt", type=click.Choice(["ovms", "triton"]), required=True)
@click.option("--precision", type=click.Choice(PRECISIONS), help="Which IR to export.")
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Repository folder (created).")  # fmt: skip
@click.option("--name", help="Model name in the repository (default: the IR's metadata name).")
@click.option("--max-batch", type=click.IntRange(min=1), default=8, show_default=True,
              help="Triton max_batch_size.")  # fmt: skip
@click.option("--max-wait-ms", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Triton dynamic batching queue delay.")  # fmt: skip
@click.option("--force", is_flag=True,
              help="Replace DIR/<name> if it exists (config.json keeps other models).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
def export(
    model: str,
    fmt: str,
    precision: str | None,
    out_dir: str,
    name: str | None,
    max_batch: int,
    max_wait_ms: float,
    force: bool,
    as_json: bool,
) -> None:
    """Write DIR/<name>/1/model.xml|.bin plus OVMS config.json or Triton config.pbtxt.

    The IR takes u8 NHWC BGR crops (`crops`, [N, 224, 224, 3]) with normalization inside the
    graph and returns `probabilities`; clients still decode, resize the short side to 256 and
    center-crop 224 (see docs/serving.md).
    """
    from ..export.resolve import resolve_ir
    from ..serving.repository import export_repository

    step = None if as_json else (lambda msg: click.echo(f"• {msg}", err=True))
    xml = resolve_ir(model, precision, on_step=step)  # the edge converts; serving never does
    result = export_repository(
        xml,
        out_dir,
        fmt=fmt,
        name=name,
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
        force=force,
        on_step=step,
    )
    if as_json:
        info = {
            "format": fmt,
            "model_dir": str(result.model_dir),
            "xml": str(result.xml),
            "config": str(result.config),
            "max_abs_diff": result.max_abs_diff,
        }
        click.echo(json.dumps(info))
    else:
        click.echo(str(result.model_dir))
