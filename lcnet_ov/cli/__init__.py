"""The ``lcnet-ov`` command. Each sub-command lives in its own module and is imported lazily,
so ``lcnet-ov --help`` never pays for OpenVINO, Paddle or NNCF."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import threading
from typing import NoReturn

import click

from .. import __version__

# command name -> "module:attribute"
_COMMANDS = {
    "models": "lcnet_ov.cli.models:models",
    "convert": "lcnet_ov.cli.convert:convert",
    "infer": "lcnet_ov.cli.infer:infer",
    "quantize": "lcnet_ov.cli.quantize:quantize",
    "eval": "lcnet_ov.cli.eval:eval_cmd",
    "bench": "lcnet_ov.cli.bench:bench",
    "serve": "lcnet_ov.cli.serve:serve",
    "export": "lcnet_ov.cli.export:export",
}
_HELP = {
    "models": "List the model zoo and download official models.",
    "convert": "Convert a Paddle/ONNX PP-LCNet to OpenVINO IR, verified numerically.",
    "infer": "Classify images (files, folders, globs) with top-k labels.",
    "quantize": "INT8 post-training quantization with NNCF on a calibration subset.",
    "eval": "Top-1/top-5 accuracy on a labeled dataset, FP32 and INT8 side by side.",
    "bench": "Latency and throughput benchmark (agrees with benchmark_app).",
    "serve": "Open Inference Protocol (KServe v2) server: REST + gRPC, batched across requests.",
    "export": "Write an OVMS / Triton model repository (u8 NHWC input, dynamic batch).",
}


class LazyGroup(click.Group):
    """Commands imported only when run (or asked for their --help)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = _COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Describe commands from _HELP so listing them does not import their modules.
        rows = [(name, _HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lcnet-ov")
def cli() -> None:
    """PP-LCNet on Intel CPUs through OpenVINO: convert, quantize, run and benchmark."""


def main(argv: list[str] | None = None) -> int:
    """Entry point: domain errors become one clean line on stderr and a non-zero exit."""
    from ..errors import LcnetOVError

    try:
        rv = cli.main(args=argv, prog_name="lcnet-ov", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.UsageError as exc:
        # one line, like every other error, instead of click's usage block; exit code 2
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        click.echo(f"Error: {exc.format_message()}{where}", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except LcnetOVError as exc:
        click.echo(f"Error: {_one_line(str(exc))}", err=True)
        return exc.exit_code
    except OSError as exc:
        # the last net: a file system failure no check caught is still one line naming the path
        click.echo(f"Error: {_os_error_line(exc)}", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except click.exceptions.Exit as exc:
        return exc.exit_code
    # with standalone_mode=False, ctx.exit(n) comes back as the return value
    return rv if isinstance(rv, int) else 0


def run() -> NoReturn:
    """The ``lcnet-ov`` program (console script, ``python -m lcnet_ov``): :func:`main`, then exit.

    A local ``infer`` exits without the interpreter's teardown: once its output is written,
    destroying ~350 modules and unloading OpenVINO's CPU plugin (its Core, TBB threads) took
    40-70 ms of a ~0.45 s one-image process on the 2-core AMD EPYC, for nothing the OS does
    not do anyway. Atexit handlers still run and stdout/stderr are flushed; with any other
    Python thread still alive, a profiler or tracer watching (they write their results at the
    end), or another command, the exit is the ordinary one.
    """
    code = main()
    watched = sys.getprofile() is not None or sys.gettrace() is not None  # cProfile, coverage
    if _local_infer(sys.argv[1:]) and threading.active_count() == 1 and not watched:
        import atexit

        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # a reader gone (`| head`)
                stream.flush()
        os._exit(code)
    sys.exit(code)


def _local_infer(args: list[str]) -> bool:
    """``infer`` on this machine (not ``--engine ray``, whose Ray session ends at teardown)."""
    if args[:1] != ["infer"]:
        return False
    engines = [b for a, b in zip(args, [*args[1:], ""], strict=True) if a == "--engine"]
    engines += [a.split("=", 1)[1] for a in args if a.startswith("--engine=")]
    return all(engine == "local" for engine in engines)


def _one_line(message: str) -> str:
    """A message whose text came from elsewhere (tarfile, paddle2onnx logs) may hold line
    breaks; the CLI's promise is one line per error, so they become spaces."""
    return " ".join(part.strip() for part in message.splitlines() if part.strip())


def _os_error_line(exc: OSError) -> str:
    """``PATH: reason`` for an OSError (both paths for a failed rename)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is None:
        return reason
    if exc.filename2 is not None:
        return f"{exc.filename} -> {exc.filename2}: {reason}"
    return f"{exc.filename}: {reason}"


if __name__ == "__main__":  # pragma: no cover
    run()
