"""``lcnet-ov convert``: Paddle / ONNX / zoo name → verified OpenVINO IR."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ._options import force_option, refuse_existing, xml_output


def _batch(value: str) -> int | None:
    if value.lower() in ("dynamic", "-1", "?"):
        return None
    try:
        batch = int(value)
    except ValueError:
        raise click.BadParameter(
            f"expected an integer or 'dynamic', got {value!r}", param_hint="--batch-size"
        ) from None
    if batch < 1:
        raise click.BadParameter("batch size must be ≥ 1 (or 'dynamic')", param_hint="--batch-size")
    return batch


@click.command()
@click.argument("source")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=True),
    callback=xml_output,
    help="IR path (.xml) or folder. Default: the zoo cache, where `infer`/`bench` find it.",
)
@click.option(
    "-m",
    "--model",
    help="Zoo name whose labels/preprocessing apply (a .pdparams "
    "checkpoint's scale is detected from its shapes otherwise).",
)
@click.option(
    "--num-classes",
    type=int,
    help="Classifier width of a .pdparams checkpoint (default: read from fc.bias).",
)
@click.option(
    "--route",
    type=click.Choice(["onnx", "paddle"]),
    default="onnx",
    show_default=True,
    help="paddle2onnx + ONNX frontend, or OpenVINO's Paddle frontend (.pdmodel only).",
)
@click.option("--opset", type=int, default=14, show_default=True, help="ONNX opset (≥ 14).")
@click.option(
    "-b",
    "--batch-size",
    "batch",
    metavar="N|dynamic",
    default="dynamic",
    show_default=True,
    help="Static batch size, or 'dynamic'.",
)
@click.option("--batch", "old_batch", hidden=True, help="Old spelling of --batch-size.")
@click.option("--input-size", type=int, help="Square input side (default: the model's crop).")
@click.option(
    "--fp16/--fp32",
    "fp16",
    default=False,
    show_default=True,
    help="Store weights as fp16 (half the file; CPU still computes in f32/bf16).",
)
@click.option(
    "--embed-preprocessing",
    is_flag=True,
    help="Fold u8 BGR NHWC → normalized NCHW into the IR (PrePostProcessor).",
)
@click.option("--no-verify", is_flag=True, help="Skip the numerical check against the source.")
@click.option(
    "--config",
    "config",
    type=click.Path(exists=True, dir_okay=False),
    help="The model's pre/post-processing yaml (PaddleClas deploy/PULC inference_NAME.yaml); "
    "a folder's own inference.yml (PaddleX 3) is read without it.",
)
@force_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
def convert(
    source: str,
    output: str | None,
    model: str | None,
    num_classes: int | None,
    route: str,
    opset: int,
    batch: str,
    old_batch: str | None,
    input_size: int | None,
    fp16: bool,
    embed_preprocessing: bool,
    no_verify: bool,
    config: str | None,
    force: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Convert SOURCE to OpenVINO IR and verify it numerically.

    SOURCE is a zoo name (e.g. PPLCNet_x1_0, text_image_orientation), a Paddle inference folder
    (inference.pdmodel or inference.json + inference.pdiparams), a PaddleClas training
    checkpoint (.pdparams), or an .onnx file.
    """
    from ..export.conversion import ConvertOptions
    from ..export.conversion import convert as run_convert

    options = ConvertOptions(
        route=route,
        opset=opset,
        batch_size=_batch(batch if old_batch is None else old_batch),
        input_size=input_size,
        compress_to_fp16=fp16,
        embed_preprocessing=embed_preprocessing,
        verify=not no_verify,
        num_classes=num_classes,
    )
    # an existing IR is replaced only with --force: checked here, before any download or
    # conversion, wherever the target is known from the arguments (-o, or a zoo name's cache
    # slot); other sources' cache slots are named by what conversion reads, so the library
    # checks those just before writing (replace=False)
    target = _target(source, output, options)
    if output is None and target is not None and target.is_file() and not force:
        # a zoo name converted before: the cache already holds it, and running the quickstart
        # twice is not an error (an explicit -o is an output the user named: refused below)
        if as_json:
            click.echo(json.dumps({"xml": str(target), "converted": False}, indent=2))
        else:
            click.echo("• already converted (pass --force to convert again)", err=True)
            click.echo(str(target))
        return
    refuse_existing(target, force, shown=output)
    show = None if (quiet or as_json) else (lambda msg: click.echo(f"• {msg}", err=True))
    result = run_convert(
        source, output, model=model, options=options, on_step=show, replace=force, config=config
    )
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(str(result.xml))


def _target(source: str, output: str | None, options: object) -> Path | None:
    """The IR this conversion would write, when the arguments alone say (None otherwise)."""
    from .._outputs import ir_output
    from ..export.conversion import default_output
    from ..zoo import get_spec, is_known

    if output is not None:
        return ir_output(output)
    if not Path(source).expanduser().exists() and is_known(source):
        return default_output(get_spec(source).name, options)  # type: ignore[arg-type]
    return None
