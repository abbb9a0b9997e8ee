"""One CLI vocabulary (issue 9): --infer-precision, --json on stdout, one multi-value mechanism,
one table formatter, exit code 2 for usage errors only."""

from __future__ import annotations

import inspect
import json
import shutil
from pathlib import Path

import click
import pytest

from lcnet_ov import errors
from lcnet_ov.cli import _COMMANDS, cli, main

REPO = Path(__file__).resolve().parents[1]
PAGES = REPO / "samples" / "images"


def _commands() -> dict[str, click.Command]:
    """Every command and sub-command (``models download``), imported for real."""
    ctx = click.Context(cli)
    found: dict[str, click.Command] = {}
    for name in _COMMANDS:
        cmd = cli.get_command(ctx, name)
        if cmd is None:
            continue
        found[name] = cmd
        if isinstance(cmd, click.Group):
            for sub, subcmd in cmd.commands.items():
                found[f"{name} {sub}"] = subcmd
    return found


def _visible_opts(cmd: click.Command) -> set[str]:
    return {
        opt
        for p in cmd.params
        if isinstance(p, click.Option) and not p.hidden
        for opt in (*p.opts, *p.secondary_opts)
    }


def test_precision_hint_is_spelled_infer_precision_everywhere():
    commands = _commands()
    with_hint = {
        name for name, cmd in commands.items() if "--infer-precision" in _visible_opts(cmd)
    }
    assert {"infer", "bench", "eval"} <= with_hint
    for name, cmd in commands.items():
        assert "--inference-precision" not in _visible_opts(cmd), name


def test_json_is_a_flag_that_prints_on_stdout_in_every_command():
    commands = _commands()
    with_json = []
    for name, cmd in commands.items():
        for p in cmd.params:
            if isinstance(p, click.Option) and "--json" in p.opts:
                with_json.append(name)
                assert p.is_flag, f"{name}: --json takes a value"
                assert "stdout" in (p.help or ""), name
    assert {"convert", "infer", "quantize", "eval", "bench", "models"} <= set(with_json)


@pytest.mark.parametrize(
    "words",
    [["-p", "fp32", "int8"], ["-p", "fp32,int8"], ["-p", "fp32", "-p", "int8"]],
)
def test_eval_takes_several_precisions_every_way(words):
    cmd = _commands()["eval"]
    ctx = cmd.make_context("eval", ["-m", "x", "-d", str(PAGES), *words, "-b", "2"])
    assert ctx.params["precisions"] == ("fp32", "int8")
    assert ctx.params["batch_size"] == 2


@pytest.mark.parametrize(
    "words",
    [
        ["--threads", "1", "2", "auto"],
        ["--threads", "1,2,auto"],
        ["--threads", "1,2", "--threads", "auto"],
    ],
)
def test_bench_takes_several_values_the_same_way(words):
    cmd = _commands()["bench"]
    ctx = cmd.make_context("bench", ["-m", "x", *words, "-b", "1", "8", "--mode", "sync"])
    assert ctx.params["threads"] == ("1", "2", "auto")
    assert ctx.params["batch_size"] == ("1", "8")
    assert ctx.params["mode"] == "sync"


def test_multi_value_options_share_one_mechanism():
    from lcnet_ov.cli._options import Command, MultiOption

    for name in ("eval", "bench"):
        cmd = _commands()[name]
        assert isinstance(cmd, Command), name
        assert any(isinstance(p, MultiOption) for p in cmd.params), name
    for name in ("bench", "eval"):  # the hand-rolled parsers are gone
        source = inspect.getsource(inspect.getmodule(_commands()[name].callback))
        assert "def parse_args" not in source and "more_precisions" not in source, name


def test_one_table_formatter():
    from lcnet_ov._table import format_table

    text = format_table(
        ["Name", "Top-1", "Note"],
        [["a", "9.5", "x"], ["long", "10.25", "yz"]],
        right=[False, True, False],
    )
    assert text.splitlines() == ["Name  Top-1  Note", "a       9.5  x", "long  10.25  yz"]
    with pytest.raises(ValueError):
        format_table(["a", "b"], [["only one"]])
    # no command module pads columns by itself any more
    for module in ("models", "eval", "bench"):
        source = (REPO / "lcnet_ov" / "cli" / f"{module}.py").read_text()
        assert "ljust(" not in source and "rjust(" not in source, module
    assert "ljust(" not in (REPO / "lcnet_ov" / "bench" / "report.py").read_text()


def test_models_table_comes_from_the_shared_formatter(capsys):
    from lcnet_ov._table import format_table
    from lcnet_ov.cli.models import _COLUMNS, _cell
    from lcnet_ov.export.download import zoo_summary

    assert main(["models"]) == 0
    rows = zoo_summary()
    expected = format_table(
        [t for _, t in _COLUMNS],
        [[_cell(k, r[k]) for k, _ in _COLUMNS] for r in rows],
        right=[k not in ("name", "downloaded", "converted") for k, _ in _COLUMNS],
    )
    assert capsys.readouterr().out.rstrip("\n") == expected


@pytest.mark.parametrize(
    "args",
    [
        ["convert", "--frobnicate"],
        ["infer"],
        ["quantize", "-m", "x"],
        ["eval", "-m", "x", "-d", "/no/such/dir"],
        ["bench", "-m", "x", "--threads", "0"],
        ["bench", "-m", "x", "--mode", "sync", "--requests", "4"],
        ["models", "download"],
        ["convert", "x.onnx", "--batch", "0"],
        ["quantize", "-m", "x", "-d", str(PAGES), "--max-drop", "0.01"],
        ["quantize", "-m", "x", "-d", str(PAGES), "-n", "0"],
        ["quantize", "-m", "x", "-d", str(PAGES), "--ignore", "re:("],
        ["convert", "x.onnx", "--opset", "13"],
        ["eval", "-m", "x", "-d", str(PAGES), "-b", "0"],
    ],
)
def test_usage_errors_exit_2_on_one_line(args, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("Error: "), err


@pytest.mark.parametrize(
    "args",
    [
        ["convert", "does-not-exist.onnx"],
        ["infer", "-m", "does-not-exist.xml", str(PAGES)],
        ["bench", "-m", "does-not-exist.xml", "-n", "1"],
        ["models", "download", "no_such_model"],
    ],
)
def test_failures_that_are_not_usage_errors_exit_1(args, capsys):
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("Error: "), err


def test_only_usage_errors_carry_exit_code_2():
    for _, cls in inspect.getmembers(errors, inspect.isclass):
        if issubclass(cls, errors.LcnetOVError):
            assert (cls.exit_code == 2) == issubclass(cls, errors.UsageError), cls
    assert errors.BenchError("nothing measured").exit_code == 1
    assert errors.BenchOptionError("--threads 0").exit_code == 2


@pytest.mark.slow
def test_eval_old_precision_spelling_still_works_and_warns(orientation_xml, tmp_path, capsys):
    data = tmp_path / "pages"
    for page in sorted(PAGES.glob("page_*deg.jpg")):
        (data / page.stem.split("_")[1].removesuffix("deg")).mkdir(parents=True)
        shutil.copy(page, data / page.stem.split("_")[1].removesuffix("deg") / page.name)
    runs = {}
    for spelling in ("--infer-precision", "--inference-precision"):
        assert (
            main(["eval", "-m", str(orientation_xml), "-d", str(data), spelling, "bf16", "--json"])
            == 0
        )
        captured = capsys.readouterr()
        runs[spelling] = (json.loads(captured.out), captured.err)
    new, old = runs["--infer-precision"], runs["--inference-precision"]
    assert "now spelled --infer-precision" in old[1] and "spelled" not in new[1]
    assert old[0]["scores"][0]["inference_precision"] == new[0]["scores"][0]["inference_precision"]
    assert old[0]["scores"][0]["top1"] == new[0]["scores"][0]["top1"]
