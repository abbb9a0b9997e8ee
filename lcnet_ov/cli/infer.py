"""``lcnet-ov infer``: classify images, folders and globs with top-k labels.

A thin layer over :meth:`lcnet_ov.runtime.async_classifier.AsyncClassifier.map` (folders,
globs, several files: decoding overlaps inference) and
:meth:`lcnet_ov.runtime.classifier.Classifier.predict` (one file): every result is printed in
input order as soon as it is done, in PaddleClas' log format (or JSON lines), and a broken input
is reported on stderr with its reason while the rest go on; the exit code is 1 if any input
failed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from ._options import (
    fold_option,
    force_option,
    infer_precision_option,
    model_from_precision,
    model_option,
    precision_option,
    refuse_existing,
)
from ._streams import infer_streams, stream_options, wants_streams


def _load_numpy_without_blas_threads() -> None:
    """Import NumPy and OpenCV with one OpenBLAS thread each, then restore the environment.

    Both bundle OpenBLAS, which starts a worker per extra core when loaded, and each worker
    spins (``sched_yield``) for ~0.1 s waiting for BLAS work. Classifying never gives it any
    (decoding, preprocessing and top-k use no BLAS; inference runs in OpenVINO's own threads),
    so on a 2-core machine the spinners only took CPU from the main thread and from OpenVINO:
    measured on the AMD EPYC, they were ~20 % of a one-image ``infer``'s CPU samples (perf).
    The variable is read when the library loads, so it is set only for that import; a user's
    own ``OPENBLAS_NUM_THREADS``, or a NumPy already loaded, is left as it is.
    """
    if "numpy" in sys.modules or "OPENBLAS_NUM_THREADS" in os.environ:
        return
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        import cv2  # noqa: F401  (imports numpy first)
    finally:
        del os.environ["OPENBLAS_NUM_THREADS"]


def _quiet_opencv() -> None:
    """OpenCV logs its own warnings for undecodable files; ours already name the file."""
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


@click.command()
@click.argument("inputs", nargs=-1, required=True, metavar="IMAGE|DIR|GLOB|VIDEO|URL...")
@model_option
@precision_option(auto=True)
@click.option(
    "-k",
    "--topk",
    type=click.IntRange(min=1),
    default=None,
    help="Classes per single-label result [default: the model's own config, else 5].",
)
@click.option("-b", "--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), help="Inference threads (default: all).")
@click.option("--device", default="CPU", show_default=True, help="OpenVINO device.")
@click.option(
    "--class-id-map-file",
    type=click.Path(dir_okay=False),
    help="PaddleClas label file ('<id> <name>' per line) replacing the IR's labels.",
)
@infer_precision_option
@fold_option
@click.option(
    "--fast-decode/--exact-decode",
    default=None,
    help="Decode large JPEGs (camera photos) at 1/2-1/8 scale, never below the resize target: "
    "several times faster on 12 MP files, not bit-exact there (docs/fast_decode.md). "
    "Default: exact, fast with --engine ray.",
)
@click.option("-r", "--recursive", is_flag=True, help="Descend into sub-folders.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object per image on stdout (JSON lines).",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: this process. ray: a Ray Data job (local Ray, or --address), rows to --output.",
)
@click.option(
    "--address",
    metavar="auto|HOST:PORT|ray://HOST:10001",
    help="[ray] Cluster to run on; default: start a local Ray and stop it after.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    metavar="OUT.parquet|OUT.jsonl",
    help="[ray] Where the rows go (filename, frame, time_s, class_ids, scores, label_names, "
    "error).",
)
@click.option(
    "--actors",
    type=click.IntRange(min=1),
    help="[ray] Model replicas (default: cluster CPUs minus one for reading, / --threads).",
)
@force_option
@stream_options
def infer(
    inputs: tuple[str, ...],
    model: str,
    precision: str | None,
    topk: int | None,
    batch_size: int,
    threads: int | None,
    device: str,
    class_id_map_file: str | None,
    infer_precision: str | None,
    fold_preprocessing: bool | None,
    fast_decode: bool | None,
    recursive: bool,
    as_json: bool,
    engine: str = "local",
    address: str | None = None,
    output: str | None = None,
    actors: int | None = None,
    force: bool = False,
    **stream_opts: object,
) -> None:
    """Classify IMAGE files, DIR folders (their images, sorted) and GLOB patterns, and the
    frames of VIDEO files and live streams (rtsp:// rtmp:// http(s):// udp:// URL, camera:N).

    Prints PaddleClas' line per image (class_ids, scores, label_names, filename). Inputs that
    cannot be read are named on stderr with the reason; the others are still classified, and
    the exit code is 1 at the end.

    With --engine ray the same classification runs as a Ray Data job (--threads is then per
    actor, default 1) and rows are written to --output; a summary line follows.
    """
    model, precision = model_from_precision(click.get_current_context(), model, precision)
    streams = wants_streams(inputs, stream_opts, engine)  # stream options alone: exit 2 here
    if engine == "ray":
        _infer_on_ray(
            inputs, model, precision, topk, batch_size, threads, device, class_id_map_file,
            infer_precision, fold_preprocessing, bool(fast_decode), recursive, as_json,
            address, output, actors, force, stream_opts.get("every") or 1,
            stream_opts.get("max_fps"),
        )  # fmt: skip
        return
    if address or output or actors or force:
        raise click.UsageError("--address, --output, --actors and --force need --engine ray")
    _load_numpy_without_blas_threads()
    if streams:
        infer_streams(
            inputs, stream_opts, as_json=as_json, recursive=recursive, model=model,
            precision=precision, topk=topk, batch_size=batch_size, threads=threads,
            device=device, class_id_map_file=class_id_map_file,
            inference_precision=infer_precision, fold_preprocessing=fold_preprocessing,
            fast_decode=bool(fast_decode),
        )  # fmt: skip
        return
    from ..export.resolve import resolve_ir
    from ..results import FailedPrediction

    _quiet_opencv()
    auto = precision == "auto"
    xml = resolve_ir(
        model, None if auto else precision, on_step=lambda msg: click.echo(f"• {msg}", err=True)
    )
    failed = total = 0
    with _open_classifier(
        inputs,
        xml,
        precision="auto" if auto else None,
        device=device,
        threads=threads,
        inference_precision=infer_precision,
        topk=topk,
        class_id_map_file=class_id_map_file,
        batch_size=batch_size,
        fold_preprocessing=fold_preprocessing,
        fast_decode=bool(fast_decode),
    ) as clf:
        results = clf.predict if hasattr(clf, "predict") else clf.map
        classes = len(clf.labels)
        if topk is not None and topk > classes:
            click.echo(
                f"Warning: -k {topk} but {clf.metadata.name} has {classes} classes; "
                f"each result lists {classes}",
                err=True,
            )
        try:
            for result in results(inputs, recursive=recursive):
                total += 1
                if isinstance(result, FailedPrediction):
                    failed += 1
                    click.echo(f"error: {result.reason}", err=True)
                elif as_json:
                    click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
                else:
                    click.echo(result.format())
        except BrokenPipeError:
            # `lcnet-ov infer DIR | head`: the reader left; stop quietly, as coreutils do
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return
    if failed:  # a ClickException, not ctx.exit(1): `main()` turns it into exit code 1
        raise click.ClickException(f"{failed} of {total} inputs could not be classified")


def _open_classifier(inputs: tuple[str, ...], xml: Path, **options: Any) -> Any:
    """One image file: the synchronous :class:`Classifier` (nothing to overlap, and no
    pipeline threads to start). Anything more (folders, globs, several files): the async
    pipeline, where decoding runs on worker threads while batches of up to ``batch_size``
    form and infer, and :meth:`AsyncClassifier.map` hands results back in input order as they
    complete. Both decode exactly as PaddleClas does unless ``--fast-decode`` is given.
    """
    if len(inputs) == 1 and Path(inputs[0]).is_file():
        from ..runtime.classifier import Classifier

        return Classifier(xml, **options)
    from ..runtime.async_classifier import AsyncClassifier

    batch = options.pop("batch_size")
    return AsyncClassifier(xml, max_batch=batch, **options)


def _infer_on_ray(
    inputs: tuple[str, ...],
    model: str,
    precision: str | None,
    topk: int | None,
    batch_size: int,
    threads: int | None,
    device: str,
    class_id_map_file: str | None,
    infer_precision: str | None,
    fold_preprocessing: bool | None,
    fast_decode: bool,
    recursive: bool,
    as_json: bool,
    address: str | None,
    output: str | None,
    actors: int | None,
    force: bool,
    every: int = 1,
    fps: Any = None,
) -> None:
    """``--engine ray``: everything cheap is checked before Ray starts; the library does the job."""
    from ..distributed import check_address, check_output, classify, ray_session, write_results
    from ..export.resolve import resolve_ir

    if output is None:
        raise click.UsageError("--engine ray writes its rows to a file: give --output OUT.parquet")
    if as_json or device != "CPU" or class_id_map_file:
        raise click.UsageError(
            "--json, --device and --class-id-map-file are not available with --engine ray"
        )
    from ..distributed import OUTPUT_FORMATS

    if Path(output).suffix.lower() not in OUTPUT_FORMATS:  # a usage error: exit 2, no Ray
        raise click.BadParameter(
            f"{output}: output must end in {' or '.join(OUTPUT_FORMATS)}", param_hint="--output"
        )
    refuse_existing(output, force)
    out = check_output(output, force=force)  # a typo in the path costs nothing, not a job
    from .._deps import require

    require("ray.data", "ray")  # the missing extra is named before any model work
    check_address(address)  # an unreachable cluster too
    xml = resolve_ir(model, precision, on_step=lambda msg: click.echo(f"• {msg}", err=True))
    with ray_session(address):
        dataset = classify(
            list(inputs),
            xml,
            batch_size=batch_size,
            actors=actors,
            threads_per_actor=threads or 1,
            topk=topk,
            inference_precision=infer_precision,
            fold_preprocessing=fold_preprocessing,
            fast_decode=fast_decode,
            recursive=recursive,
            every=every,
            fps=fps,
        )
        summary = write_results(dataset, out, force=force)
    click.echo(f"{summary.line()} -> {out}")
    if summary.failed:
        raise click.ClickException(
            f"{summary.failed} of {summary.images} inputs could not be classified "
            f"(their rows in {out} say why)"
        )
