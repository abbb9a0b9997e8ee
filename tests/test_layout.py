"""The package's structure: no import cycle inside ``lcnet_ov/``, lazy imports included.

The graph is built from the AST of every module, so imports inside functions (the lazy ones
that keep ``import lcnet_ov`` light) and ``TYPE_CHECKING`` blocks count as much as top-level
ones: a cycle hidden in a function body still ties two modules into one.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lcnet_ov"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module (or package) ``name`` refers to: itself, else its longest known prefix."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph() -> dict[str, set[str]]:
    """module -> lcnet_ov modules it imports anywhere in its body."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_pkg = path.name == "__init__.py"
        package = name if is_pkg else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base_parts = package.split(".")
                    base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                    base = ".".join(base_parts)
                    base = f"{base}.{node.module}" if node.module else base
                else:
                    base = node.module or ""
                # `from pkg import sub` imports the submodule when there is one
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.add(sub if sub in modules else base)
        edges = {m for t in targets if (m := _resolve(t, modules)) and m != name}
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_cycle_finder_sees_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_graph_sees_function_level_imports():
    graph = import_graph()
    # classifier -> loaded_model at top level; sources imports checkpoint only inside a function
    assert "lcnet_ov.runtime.loaded_model" in graph["lcnet_ov.runtime.classifier"]
    assert "lcnet_ov.export.checkpoint" in graph["lcnet_ov.export.sources"]


def test_no_import_cycle_inside_the_package():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("module", ["lcnet_ov.testing"])
def test_library_never_imports_the_test_scaffolding(module):
    graph = import_graph()
    if module not in graph:
        pytest.skip(f"{module} does not exist")
    # its own submodules (testing.streams uses testing's pages) are scaffolding, not library
    users = sorted(
        m for m, deps in graph.items() if module in deps and not m.startswith(f"{module}.")
    )
    assert users == [], f"{module} is imported by library code: {users}"


def _layout_block() -> str:
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    return section.split("```", 2)[1]


#: sub-packages whose every module README's Layout names (cli/, bench/ and serving/ are named
#: as folders: one command or backend a module)
LISTED_PACKAGES = ("export", "runtime", "inputs", "distributed", "testing")


def test_readme_layout_matches_the_tree():
    """Every module and sub-package of lcnet_ov/ is in README's Layout, and nothing else is."""
    block = _layout_block()
    package_block = block.split("\ntests/", 1)[0]
    named = set(re.findall(r"\b([a-z_][a-z0-9_]*\.py)\b", package_block))
    named |= {f"{d}/" for d in re.findall(r"^ +([a-z_][a-z0-9_]*)/", package_block, flags=re.M)}
    actual = {p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")}
    actual |= {f"{p.name}/" for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    for sub in LISTED_PACKAGES:
        actual |= {p.name for p in (PACKAGE / sub).glob("*.py") if p.name != "__init__.py"}
    assert sorted(actual - named) == [], "in lcnet_ov/ but not in README's Layout"
    everywhere = {p.name for p in PACKAGE.rglob("*.py")} | actual
    assert sorted(named - everywhere) == [], "in README's Layout but not in lcnet_ov/"
    for folder in re.findall(r"^([a-z_]+)/", block, flags=re.M):
        assert (PACKAGE.parent / folder).is_dir(), f"README's Layout names {folder}/"


MAX_MODULE_LINES = 500


def test_no_module_over_500_lines():
    """Big modules hide several concerns; split by concern before one grows past this."""
    sizes = {
        str(p.relative_to(PACKAGE.parent)): len(p.read_text(encoding="utf-8").splitlines())
        for p in PACKAGE.rglob("*.py")
    }
    over = {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES}
    assert over == {}, f"modules over {MAX_MODULE_LINES} lines: {over}"


def test_import_contracts_hold():
    """import-linter's contracts (pyproject.toml): the layers, the run side never importing
    the export side, the library never importing lcnet_ov.testing. CI runs lint-imports too;
    this keeps a broken contract from reaching CI unnoticed."""
    import shutil
    import subprocess
    import sys

    # the interpreter's own bin folder too: a venv's python run by path, not activated
    exe = shutil.which("lint-imports") or shutil.which(
        "lint-imports", path=str(Path(sys.executable).parent)
    )
    if exe is None:
        pytest.skip("import-linter is not installed (pip install -e .[dev])")
    out = subprocess.run(
        [exe, "--no-cache"], cwd=PACKAGE.parent, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "BROKEN" not in out.stdout and "KEPT" in out.stdout


@pytest.mark.slow  # fast tier under a minute: this one costs ~0.5-2 s
def test_run_side_can_be_imported_without_the_export_side():
    """Opening and running an IR never loads conversion, Paddle or NNCF code: a server or a
    Ray actor stays light (what the forbidden contract promises, checked at run time)."""
    import subprocess
    import sys

    code = (
        "import sys, lcnet_ov.runtime.classifier, lcnet_ov.runtime.async_classifier, "
        "lcnet_ov.serving.model, lcnet_ov.distributed\n"
        "print(sorted(m for m in sys.modules if m.startswith(('lcnet_ov.export', 'paddle', "
        "'nncf'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
