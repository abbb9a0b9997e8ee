"""The benchmark scripts cannot rot: every one runs (``--smoke``, a fresh interpreter, as
``python -m benchmarks.X``), prints its sections with a provenance line, and writes docs only
when asked; what they share is defined once, in ``benchmarks/harness.py``."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks"
#: every runnable script: the package's modules that are not helpers (``_x``) or the harness
SCRIPTS = sorted(
    p.stem for p in BENCH.glob("*.py") if not p.stem.startswith("_") and p.stem != "harness"
)
#: what only the harness may define or do
HARNESS_FUNCTIONS = {
    "write_section", "spread", "ratio_spread", "ratios", "machine_line", "provenance",
    "load_line", "load_average", "cpu_ticks", "steal_since", "steal_percent", "md_table",
    "interleave", "passes_over", "git_commit", "markers",
}  # fmt: skip


@pytest.fixture(autouse=True)
def _harness_state(monkeypatch):
    """``benchmarks`` importable from the checkout (it is not an installed package), and what
    ``harness.start`` sets (the current run, the model cache, offline mode) undone after."""
    monkeypatch.syspath_prepend(str(REPO))
    from benchmarks import harness

    monkeypatch.setattr(harness, "_RUN", None)
    monkeypatch.setenv("LCNET_OV_OFFLINE", "1")


def _trees() -> dict[str, ast.Module]:
    return {p.stem: ast.parse(p.read_text(), str(p)) for p in sorted(BENCH.glob("*.py"))}


def test_harness_functions_are_defined_once_in_the_harness():
    for module, tree in _trees().items():
        defined = {
            n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        if module == "harness":
            assert HARNESS_FUNCTIONS - {"machine_line", "load_line", "steal_since"} <= defined
        else:
            assert not defined & HARNESS_FUNCTIONS, f"benchmarks/{module}.py redefines them"


def test_scripts_share_code_only_through_the_harness():
    """No ``sys.path`` games, no script importing another script, no parser or load average of
    their own (the harness's parser gives every script --write and --smoke)."""
    for module, tree in _trees().items():
        for node in ast.walk(tree):
            # only the benchmarks package's own modules can be scripts (lcnet_ov.testing.streams
            # is a library module that happens to share a script's name)
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                if node.module.split(".")[0] != "benchmarks":
                    continue
                imported = {node.module.rsplit(".", 1)[-1]} | {a.name for a in node.names}
                assert not imported & set(SCRIPTS), f"{module} imports a script: {imported}"
            elif isinstance(node, ast.ImportFrom) and node.level:
                imported = {node.module or ""} | {a.name for a in node.names}
                assert not imported & set(SCRIPTS), f"{module} imports a script: {imported}"
            elif isinstance(node, ast.Import):
                names = {
                    a.name.rsplit(".", 1)[-1] for a in node.names if a.name.startswith("benchmarks")
                }
                assert not names & set(SCRIPTS), f"{module} imports a script: {names}"
            if isinstance(node, ast.Attribute) and module != "harness":
                call = f"{getattr(node.value, 'id', '')}.{node.attr}"
                assert call not in ("sys.path", "os.getloadavg", "argparse.ArgumentParser"), (
                    f"benchmarks/{module}.py uses {call}"
                )


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_prints_by_default_and_has_smoke_and_write(script):
    module = importlib.import_module(f"benchmarks.{script}")  # no heavy work at import
    parser = module.build_parser()
    options = {o for a in parser._actions for o in a.option_strings}
    assert {"--smoke", "--write", "--docs"} <= options
    assert not options & {"--dry-run", "--no-write", "--out"}
    args = parser.parse_args([])
    assert not args.write and not args.smoke  # printing is the default
    with pytest.raises(SystemExit) as exc:  # a smoke run's numbers can never reach docs/
        parser.parse_args(["--smoke", "--write"])
    assert exc.value.code == 2


def test_scripts_are_the_documented_ones():
    """docs/benchmarks.md tells newcomers how to run them; a script it does not know, or a
    name it gives that no longer exists, is drift."""
    text = (REPO / "docs" / "benchmarks.md").read_text() + (REPO / "README.md").read_text()
    for script in SCRIPTS:
        assert f"`{script}`" in text, script
    assert not re.search(r"python benchmarks/\w+\.py`?\s", text.split("<!--", 1)[0])


def test_section_writer_replaces_only_its_section(tmp_path):
    from benchmarks.harness import section_text, write_section

    doc = tmp_path / "page.md"
    doc.write_text("# Mine\n\nkept\n\n<!-- a:start -->\nold\n<!-- a:end -->\n\ntail\n")
    write_section(doc, "a", "new $1 \\1 body")  # replacement text taken literally
    write_section(doc, "b", "appended")
    text = doc.read_text()
    assert text.startswith("# Mine\n\nkept\n\n<!-- a:start -->\nnew $1 \\1 body\n<!-- a:end -->")
    assert "\n\ntail\n\n<!-- b:start -->\nappended\n<!-- b:end -->\n" in text
    assert section_text(text, "a") == "new $1 \\1 body"
    assert [p.name for p in tmp_path.iterdir()] == ["page.md"]  # no temp file left behind
    write_section(tmp_path / "new.md", "c", "x", title="Title")
    assert (tmp_path / "new.md").read_text() == "# Title\n\n<!-- c:start -->\nx\n<!-- c:end -->\n"


def test_rounds_rotate_and_figures_carry_their_range():
    from benchmarks import harness

    order: list[str] = []
    jobs = [(n, lambda n=n: order.append(n) or len(order)) for n in "abc"]
    got = harness.interleave(jobs, 3, log=False)
    assert order == list("abcbcacab")  # every job in every slot once
    assert got["a"] == [1, 6, 8]
    assert harness.spread([3.0, 1.0, 2.0]) == "2.00 (1.00–3.00)"
    assert harness.spread([5.0], ".0f") == "5"
    assert harness.ratio_spread([2.0, 4.0, 3.0], [1.0, 2.0, 1.0]) == "2.00× (2.00–3.00)"


def _run(script: str, *args: str, timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", f"benchmarks.{script}", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_emit_prints_without_write_and_writes_with_provenance(tmp_path, monkeypatch):
    """The harness end to end on a tiny fake script run: printing leaves docs alone; --write
    replaces the section and stamps the commit this checkout is at."""
    from benchmarks import harness

    monkeypatch.setenv("LCNET_OV_BENCH_WORK", str(tmp_path / "work"))
    monkeypatch.setenv("LCNET_OV_HOME", str(tmp_path / "home"))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "p.md").write_text("# P\n\n<!-- s:start -->\nold\n<!-- s:end -->\n")
    parser = harness.parser("Fake.")
    argv = ["--docs", str(docs)]
    run = harness.start(parser.parse_args(argv), "fake", argv)
    run.emit("p.md", "s", "printed only")
    assert "old" in (docs / "p.md").read_text()
    run = harness.start(parser.parse_args([*argv, "--write"]), "fake", [*argv, "--write"])
    run.emit("p.md", "s", "| a |\n|---|\n| 1 |")
    body = harness.section_text((docs / "p.md").read_text(), "s")
    assert body.startswith("| a |\n|---|\n| 1 |\n\nProvenance: `python -m benchmarks.fake --docs")
    sha = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short=10", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert f"at commit {sha}" in body and "load average (1 min)" in body
    assert "openvino " in body and "cores" in body


def test_paddlex_serve_says_why_paddlex_is_not_measured(tmp_path, monkeypatch):
    """No PaddleX interpreter, or one without paddlex: the section's reason, not a crash (the
    smoke run then measures lcnet-ov's routes alone)."""
    from benchmarks import paddlex_serve

    missing = tmp_path / "nope" / "python"
    monkeypatch.setenv("LCNET_OV_PADDLEX_PYTHON", str(missing))
    assert paddlex_serve.paddlex_python() == (None, f"no interpreter at {missing} "
                                              "($LCNET_OV_PADDLEX_PYTHON)")  # fmt: skip
    bare = tmp_path / "python"  # this interpreter without site-packages: no paddlex
    bare.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    bare.chmod(0o755)
    monkeypatch.setenv("LCNET_OV_PADDLEX_PYTHON", str(bare))
    assert paddlex_serve.paddlex_python() == (None, f"paddlex does not import in {bare}")


# ---- every script's --smoke: the one slow test that keeps them all running ---------------------


#: extra checks on a script's printed sections (the smoke numbers mean nothing, their shape does)
def _check_e2e(out: str) -> None:
    rows = {
        m["label"]: [float(v) for v in re.findall(r"\d+\.\d+", m["rest"])]
        for m in re.finditer(r"^\| (?P<label>(?:fp32|int8) (?:exact|folded)) \|(?P<rest>.*)$",
                             out, re.M)
    }  # fmt: skip
    assert set(rows) == {"fp32 exact", "fp32 folded", "int8 exact", "int8 folded"}
    assert all(v > 0 for values in rows.values() for v in values[:3])
    assert "failed images: 0" in out
    cells = {
        m["group"]: [float(v) for v in re.findall(r"[-+]?\d+\.\d+", m["rest"])[:3]]
        for m in re.finditer(r"^\| (?P<group>[^|]+?) \|(?P<rest>.*)$", out, re.M)
    }
    # the same rounds give the thread breakdown: infer workers only exist end to end, and the
    # per-group extras add up to the process's
    workers_alone, workers_e2e, _ = cells["infer workers"]
    assert workers_alone == 0 and workers_e2e > 0
    total_alone, total_e2e, extra = cells["**process** (`process_time`)"]
    assert abs(total_e2e - total_alone - extra) < 0.02


def _check_serve_memory(out: str) -> None:
    """Every kind measured; a burst at a size limit is answered (200, or 503 / UNAVAILABLE for
    what the budget cannot take), never refused as too large (413) or failed (500)."""
    inflation = re.findall(r"^\| ([^|]+) \| [\d.]+ \| -?[\d.]+ \| -?[\d.]+ \|$", out, re.M)
    assert len(inflation) == 3, out
    answers = re.findall(r"^\| [^|]+ \| [\d.]+ \| \d+ \| ([^|]+) \|", out, re.M)
    assert len(answers) == 4, out
    for cell in answers:
        codes = dict(part.split(": ") for part in cell.strip().split(", "))
        assert set(codes) <= {"200", "503", "OK", "UNAVAILABLE", "RESOURCE_EXHAUSTED"}, cell
        assert any(k in codes for k in ("200", "OK")), cell


def _check_paddlex(out: str) -> None:
    rows = dict(re.findall(r"^\| ([^|]+?) \| ([\d.]+|–)", out, re.M))
    ours = [k for k in rows if k.startswith(("`lcnet-ov infer DIR`", "`AsyncClassifier.map`"))]
    assert len(ours) == 4 and all(float(rows[k]) > 0 for k in ours), rows
    if "PaddleX: not measured" not in out:  # its own venv is there: both thread counts timed
        pdx = [k for k in rows if k.startswith("PaddleX predictor")]
        assert len(pdx) >= 1 and all(float(rows[k]) > 0 for k in pdx), rows


def _check_paddlex_serve(out: str) -> None:
    """lcnet-ov's two routes at 1, 8 and 32 clients; where PaddleX's serving is installed, its
    route too, every rate positive, and both servers' top-1 answers the same on every image."""
    rows = re.findall(r"^\| (\d+) \| ([^|]+?) \| ([\d.]+)", out, re.M)
    ours = [r for r in rows if r[1].startswith("lcnet-ov")]
    assert len(ours) == 6 and all(float(r[2]) > 0 for r in ours), rows
    if "PaddleX: not measured" in out:
        return
    pdx = [r for r in rows if r[1].startswith("PaddleX")]
    assert len(pdx) == 3 and all(float(r[2]) > 0 for r in pdx), rows
    agreed = re.findall(r"top-1 class the same on (\d+)/(\d+) images", out)
    assert len(agreed) == 2 and all(a == b for a, b in agreed), agreed


def _check_serve_hint(out: str) -> None:
    """Both hints at 1, 8 and 32 clients, every rate positive."""
    rows = re.findall(r"^\| (\d+) \| `--hint (\w+)` \| ([\d.]+)", out, re.M)
    assert sorted((int(c), h) for c, h, _ in rows) == sorted(
        (c, h) for c in (1, 8, 32) for h in ("latency", "throughput")
    ), rows
    assert all(float(r[2]) > 0 for r in rows), rows


CHECKS = {
    "e2e_throughput": _check_e2e,
    "serve_hint": _check_serve_hint,
    "serve_memory": _check_serve_memory,
    "paddlex_peer": _check_paddlex,
    "paddlex_serve": _check_paddlex_serve,
}
#: sections each script prints (page, name)
SECTIONS = {
    "benchmark_app_agreement": ["bench-agreement"],
    "conversion_parity": ["conversion-parity"],
    "e2e_throughput": ["pipeline-overhead", "e2e"],
    "fast_decode": ["fast-decode"],
    "folding_parity": ["folding"],
    "int8_layers": ["int8-profile", "int8-layers"],
    "networks": ["bench-scales", "bench-seed", "bench-peak"],
    "paddlex_peer": ["paddlex"],
    "paddlex_serve": ["paddlex-serve"],
    "quantize_study": ["quantize-study"],
    "quantize_time": ["quantize"],
    "ray_throughput": ["ray"],
    "serve_hint": ["serve-hint"],
    "serve_load": ["serve-load"],
    "serve_memory": ["serve-memory"],
    "startup": ["startup", "cli-startup"],
    "streams": ["streams"],
}


def test_every_script_is_listed_with_its_sections():
    assert sorted(SECTIONS) == SCRIPTS


@pytest.fixture(scope="module")
def smoke_work(tmp_path_factory) -> Path:
    """One scratch folder for all smoke runs, so a model one script builds the next reuses."""
    return tmp_path_factory.mktemp("bench-work")


@pytest.mark.slow
@pytest.mark.usefixtures("orientation_xml")  # the zoo IR converted once, in LCNET_OV_HOME
@pytest.mark.parametrize("script", SCRIPTS)
def test_smoke(script, smoke_work, tmp_path, monkeypatch):
    """``python -m benchmarks.X --smoke``: the real code path on tiny sizes, every section
    printed with its provenance, nothing written (not even into a docs folder it is given)."""
    monkeypatch.setenv("LCNET_OV_BENCH_WORK", str(smoke_work))
    docs = tmp_path / "docs"
    docs.mkdir()
    proc = _run(script, "--smoke", "--docs", str(docs), timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = re.findall(r"^==== (\S+), section (\S+) ====$", proc.stdout, re.M)
    assert [name for _, name in printed] == SECTIONS[script]
    assert proc.stdout.count(f"Provenance: `python -m benchmarks.{script} --smoke") == len(printed)
    assert list(docs.iterdir()) == []
    CHECKS.get(script, lambda out: None)(proc.stdout)


@pytest.mark.slow
def test_peak_int8_gemm_is_quantized_and_runs_on_an_integer_kernel(tmp_path, monkeypatch):
    """The INT8 limit of ``benchmarks.networks`` is measured on a GEMM NNCF really quantized:
    the CPU plugin runs its MatMul at an 8-bit runtime precision, not in f32."""
    from benchmarks import _peak, harness

    monkeypatch.setenv("LCNET_OV_BENCH_WORK", str(tmp_path))
    harness.start(harness.parser("x").parse_args(["--smoke"]), "peak", ["--smoke"])
    fp32 = _peak.gemm_kernel(_peak.matmul_ir(64, "fp32"))
    int8 = _peak.gemm_kernel(_peak.matmul_ir(64, "int8"))
    assert fp32.endswith("(f32)"), fp32
    assert re.search(r"\((u8|i8)\)$", int8), int8
    assert (tmp_path / "smoke" / "matmul" / "n64-int8" / "model.xml").is_file()
