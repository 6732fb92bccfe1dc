


"""The layout keeps its promises: folders are the layers, no import cycles, no upward imports,
measuring layers never judge, and HdrHistogram stays inside ``perfmon/core/metrics/``. Read from
the source with ``ast``. ``pytest -s -k folder_graph`` prints the folder graph, floor by floor."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "perfmon"


# Lowest first: one folder (or root module) per layer. A module may import its own layer or a lower
# one, never a higher one.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("core", ("perfmon._version", "perfmon.core")),
    ("system", ("perfmon.system",)),
    ("measuring", ("perfmon.browser", "perfmon.loadgen")),
    ("analysis", ("perfmon.analysis",)),
    ("store", ("perfmon.store",)),
    ("report", ("perfmon.report",)),
    ("pipeline", ("perfmon.pipeline",)),
    ("python entry points", ("perfmon.load",)),
    ("front ends", ("perfmon.pytest_plugin", "perfmon.cli")),
    ("public API", ("perfmon", "perfmon.monitor", "perfmon.__main__")),
]


MEASURING = ("perfmon.system", "perfmon.browser", "perfmon.loadgen")


MAX_ROOT_MODULES = 5


def module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def folder(module: str) -> str:
    """The layer's name a module belongs to: its folder, or itself for a root module."""
    best = ""
    for _, prefixes in LAYERS:
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
                best = prefix
    assert best, f"{module} is in no layer of this test: put it in a layer's folder"
    return best


def layer(module: str) -> int:
    unit = folder(module)
    return next(i for i, (_, prefixes) in enumerate(LAYERS) if unit in prefixes)


def imports(module: str) -> set[str]:
    """perfmon modules ``module`` imports anywhere (lazy imports inside functions included)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "perfmon")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.split(".")[0] != "perfmon":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
    return found - {module}


GRAPH = {m: imports(m) for m in MODULES}


def test_every_module_has_a_layer() -> None:
    for m in MODULES:
        layer(m)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_upward_imports(module: str) -> None:
    mine = layer(module)
    upward = sorted(f"{dep} ({LAYERS[layer(dep)][0]})" for dep in GRAPH[module] if layer(dep) > mine)
    assert not upward, f"{module} ({LAYERS[mine][0]}) imports upward: {', '.join(upward)}"


def test_only_entry_points_import_the_package_root() -> None:
    users = sorted(m for m, deps in GRAPH.items() if "perfmon" in deps and m != "perfmon.__main__")
    assert users == []


def test_no_import_cycles() -> None:
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for dep in sorted(GRAPH[m]):
            if state.get(dep) == 1:
                cycle = [*stack[stack.index(dep):], dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[m] = 2

    for m in sorted(MODULES):
        if m not in state:
            visit(m)


def test_measuring_layers_never_judge() -> None:
    """The engine, the browser iteration and the sampler measure; the verdict is the pipeline's."""
    for module, deps in GRAPH.items():
        if module.startswith(MEASURING):
            assert "perfmon.pipeline" not in deps and not any(d.startswith("perfmon.pipeline.") for d in deps)
            text = MODULES[module].read_text()
            assert ".status =" not in text, f"{module} sets a run status"


def test_hdrhistogram_and_its_scale_stay_in_metrics() -> None:
    leaks = []
    for module, path in MODULES.items():
        if module == "perfmon.core.metrics" or module.startswith("perfmon.core.metrics."):
            continue
        text = path.read_text()
        for needle in (r"hdrh", r"HdrHistogram", r"get_value_at_percentile", r"\._?scale\b", r"\bscale="):
            if re.search(needle, text):
                leaks.append(f"{module}: {needle}")
    assert leaks == []


def folder_graph() -> dict[str, set[str]]:
    """Which folders (and root modules) import which others."""
    graph: dict[str, set[str]] = {folder(m): set() for m in MODULES}
    for module, deps in GRAPH.items():
        graph[folder(module)].update(folder(d) for d in deps if folder(d) != folder(module))
    return graph


def test_the_folder_graph_has_no_cycle_and_about_nine_floors() -> None:
    graph = folder_graph()
    floor: dict[str, int] = {}

    def height(unit: str, seen: tuple[str, ...] = ()) -> int:
        assert unit not in seen, "folder cycle: " + " -> ".join([*seen, unit])
        if unit not in floor:
            floor[unit] = 1 + max((height(d, (*seen, unit)) for d in graph[unit]), default=0)
        return floor[unit]

    for unit in graph:
        height(unit)
    for n in sorted(set(floor.values())):
        print(f"floor {n}: {', '.join(sorted(u for u, f in floor.items() if f == n))}")
    assert max(floor.values()) <= len(LAYERS)


def test_the_package_root_holds_only_the_public_api() -> None:
    root = sorted(p.name for p in PKG.glob("*.py"))
    assert len(root) <= MAX_ROOT_MODULES, root


def test_no_module_is_over_500_lines() -> None:
    long = sorted(f"{m} ({n})" for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > 500)
    assert long == []


def test_no_function_is_over_60_lines() -> None:
    long = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > 60:
                    long.append(f"{module}.{node.name} ({n})")
    assert sorted(long) == []


def test_the_environment_is_read_in_one_place() -> None:
    """Only ``perfmon/core/env.py`` touches ``os.environ``; every variable read through it is declared."""
    from perfmon.core.env import VARIABLES

    declared = {v.name for v in VARIABLES}
    touching, undeclared = [], []
    for module, path in MODULES.items():
        text = path.read_text()
        if module != "perfmon.core.env" and re.search(r"os\.environ|getenv\(", text):
            touching.append(module)
        found = re.findall(r"\bread\(\"([A-Z_]+)\"", text)
        undeclared += [f"{module}: {name}" for name in found if name not in declared]
    assert touching == [] and undeclared == []


def test_the_two_analysis_families_stay_apart() -> None:
    """What one run shows (derive) never reads history, and history never re-derives a run."""
    crossing = sorted(f"{m} -> {d}" for m, deps in GRAPH.items() for d in deps
                      for mine, other in (("derive", "history"), ("history", "derive"))
                      if m.startswith(f"perfmon.analysis.{mine}") and d.startswith(f"perfmon.analysis.{other}"))
    assert crossing == []
