"""``lcnet-ov quantize``: NNCF INT8 post-training quantization on a calibration folder.

Argument parsing and printing only; :func:`lcnet_ov.export.quantization.quantize` does the
work. Progress bars and NNCF's own output go to stderr so ``--json`` stdout stays parseable.
"""

from __future__ import annotations

import json
from typing import Any

import click

from ._options import force_option, model_param, refuse_existing, xml_output

#: skipped files named in the text report; ``--json`` lists all of them
SHOW_SKIPPED = 10


@click.command()
@model_param(default=None)
@click.option(
    "-d",
    "--data",
    required=True,
    type=click.Path(exists=True),
    help="Calibration images: a folder with train_list.txt/val_list.txt (PaddleClas), "
    "one sub-folder per class, or plain images; or a list file.",
)
@click.option(
    "--list-file",
    type=click.Path(),
    help="List file inside --data to use (default: train_list.txt, else val_list.txt).",
)
@click.option(
    "--subset-size",
    type=int,
    default=300,
    show_default=True,
    help="Calibration images (class-balanced subset).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the subset.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=True),
    callback=xml_output,
    help="INT8 IR path (.xml) or "
    "folder. Default: beside the FP32 IR, where `--precision int8` finds it.",
)
@click.option(
    "--preset",
    type=click.Choice(["mixed", "performance"]),
    default="mixed",
    show_default=True,
    help="mixed: asymmetric activations (fits HardSwish); performance: symmetric.",
)
@click.option(
    "--fast-bias-correction/--full-bias-correction",
    default=True,
    show_default=True,
    help="Full bias correction took twice as long for at most 0.1 point on PP-LCNet.",
)
@click.option(
    "--quantize-se/--keep-se-fp32",
    "quantize_se",
    default=True,
    show_default=True,
    help="Quantize the SE block's feature×gate Multiply, or keep it in float.",
)
@click.option(
    "--ignore",
    "ignore",
    multiple=True,
    metavar="OP",
    help="Keep an op in float: exact name, type:OpType or re:regex (repeatable).",
)
@click.option(
    "--model-type",
    type=click.Choice(["cnn", "transformer"]),
    default="cnn",
    show_default=True,
    help="NNCF model type.",
)
@click.option(
    "--max-drop",
    type=float,
    help="Accuracy control: largest top-1 drop accepted, "
    "as a fraction (0.005 = 0.5 points). Needs --val-data.",
)
@click.option(
    "--val-data", type=click.Path(exists=True), help="Labeled validation images for --max-drop."
)
@click.option(
    "--val-subset-size",
    type=int,
    default=1000,
    show_default=True,
    help="Validation images used by accuracy control.",
)
@click.option(
    "--allow-small-calibration",
    is_flag=True,
    help="Quantize even with fewer than 10 usable calibration images (ranges will fit them).",
)
@force_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress display.")
def quantize(
    model: str | None,
    data: str,
    list_file: str | None,
    subset_size: int,
    seed: int,
    output: str | None,
    preset: str,
    fast_bias_correction: bool,
    quantize_se: bool,
    ignore: tuple[str, ...],
    model_type: str,
    max_drop: float | None,
    val_data: str | None,
    val_subset_size: int,
    allow_small_calibration: bool,
    force: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """INT8 post-training quantization with NNCF.

    Calibrates on a class-balanced subset of --data with the model's own preprocessing and
    writes the INT8 IR beside the FP32 one (or to --output). Unreadable images are skipped
    and named in the report.
    """
    from .._outputs import ir_output
    from ..errors import UnknownModelError
    from ..export.quantization import quantize as run_quantize
    from ..paths import int8_ir_path

    if model is None:
        raise click.UsageError("give the FP32 model to quantize: -m/--model NAME|PATH")
    if (max_drop is None) != (val_data is None):
        raise click.UsageError("--max-drop and --val-data go together")
    try:  # where the library will write; an unknown model is left to it (after its checks)
        target = ir_output(output) if output is not None else int8_ir_path(model)
    except UnknownModelError:
        target = None
    refuse_existing(target, force, shown=output)
    result = run_quantize(
        model,
        data,
        subset_size=subset_size,
        seed=seed,
        output=output,
        preset=preset,
        fast_bias_correction=fast_bias_correction,
        ignore_se_multiply=not quantize_se,
        ignored_scope=ignore,
        model_type=None if model_type == "cnn" else model_type,
        max_drop=max_drop,
        val_data=val_data,
        val_subset_size=val_subset_size,
        list_file=list_file,
        progress=not (quiet or as_json),
        force=allow_small_calibration,  # the library's name for it (kept for its callers)
    )
    if as_json:
        for warning in result.warnings:
            click.echo(f"Warning: {warning}", err=True)
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    s = result.settings
    data_info = result.data
    lines = [
        f"INT8 model: {result.xml}",
        f"  from:        {result.source_xml}",
        f"  calibration: {_images(result.images_used, data_info)} "
        f"({data_info['layout']} {data_info['source']}, seed {s.seed})",
        f"  settings:    preset {s.preset}, "
        f"{'fast' if s.fast_bias_correction else 'full'} bias correction, SE multiply "
        f"{'in float' if s.ignore_se_multiply else 'quantized'}"
        + (f", ignored {', '.join(s.ignored_scope)}" if s.ignored_scope else ""),
        f"  result:      {len(result.int8_ops)} INT8 compute ops, {len(result.fp32_ops)} in "
        f"float, {result.fake_quantize} FakeQuantize; {result.seconds:.1f} s, "
        f"NNCF {result.nncf_version}",
    ]
    acc = result.accuracy
    if acc is not None:
        lines += _accuracy_lines(acc)
    if result.speed is not None:
        sp = result.speed
        lines.append(
            f"  speed here:  INT8 {sp['int8_fps']:.0f} vs FP32 {sp['fp32_fps']:.0f} images/s "
            f"(×{sp['ratio']:.2f}; batch 1, {sp['threads']} threads)"
        )
    if result.skipped:
        lines.append(f"  skipped {len(result.skipped)} unreadable file(s):")
        for item in result.skipped[:SHOW_SKIPPED]:
            lines.append(f"    {item.name}: {item.reason}")
        if len(result.skipped) > SHOW_SKIPPED:
            lines.append(f"    … and {len(result.skipped) - SHOW_SKIPPED} more (see --json)")
    click.echo("\n".join(lines))
    for warning in result.warnings:  # after the report, where they are read
        click.echo(f"Warning: {warning}", err=True)


def _images(used: int, data_info: dict) -> str:
    """``20 images from 4 classes``, or ``4 unlabelled images`` (not "from 0 classes")."""
    if not data_info.get("labeled") or not data_info.get("classes_used"):
        return f"{used} unlabelled images"
    return f"{used} images from {data_info['classes_used']} classes"


def _accuracy_lines(acc: Any) -> list[str]:
    """Top-1 of both models in whole images, the drop before and after accuracy control, and
    the ops kept in float by PaddleClas layer."""
    verdict = "met" if acc.met else "NOT met"
    n = acc.val_images
    lines = [
        f"  accuracy:    top-1 FP32 {acc.fp32_top1 * 100:.2f}% ({acc.fp32_correct}/{n}) → INT8 "
        f"{acc.int8_top1 * 100:.2f}% ({acc.int8_correct}/{n}); drop {acc.drop * 100:+.2f} pt, "
        f"limit {acc.max_drop * 100:.2f} pt ({acc.allowed_misses} of {n} images): {verdict}"
    ]
    if acc.ptq_drop is not None:
        lines.append(
            f"  plain INT8:  drop {acc.ptq_drop * 100:+.2f} pt "
            f"({acc.fp32_correct - acc.ptq_correct} images) before any op was reverted"
            + ("; accuracy control reverted ops" if acc.controlled else ": within the limit")
        )
    names = acc.kept_fp32_layers or acc.kept_fp32
    lines.append(f"  kept FP32:   {', '.join(names) if names else 'none'}")
    return lines
