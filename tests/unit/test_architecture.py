"""The layout keeps its promises: no import cycles, no upward imports, measuring layers never judge,
and HdrHistogram stays inside ``perfmon/metrics.py``. Read from the source with ``ast``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "perfmon"

# Lowest first. A module may import its own layer or a lower one, never a higher one.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("leaf", ("perfmon._version", "perfmon.errors", "perfmon.exit_codes", "perfmon.durations", "perfmon.names",
              "perfmon.redaction", "perfmon.config_reader", "perfmon.metrics", "perfmon.samples",
              "perfmon.worker_bytecode")),
    ("model", ("perfmon.thresholds", "perfmon.config", "perfmon.results", "perfmon.measurements", "perfmon.host")),
    ("measuring", ("perfmon.sampling", "perfmon.shared", "perfmon.target", "perfmon.browser", "perfmon.load.client",
                   "perfmon.load.transports", "perfmon.load.h1",
                   "perfmon.load.schedules", "perfmon.load.engine", "perfmon.load.progress", "perfmon.load.processes",
                   "perfmon.load.scripts", "perfmon.load.capacity", "perfmon.target_db")),
    ("analysis", ("perfmon.analysis",)),
    ("outputs", ("perfmon.store", "perfmon.report", "perfmon.monitor")),
    ("pipeline", ("perfmon.pipeline",)),
    ("entry points", ("perfmon.load", "perfmon.session", "perfmon.xdist_workers", "perfmon.pytest_plugin",
                      "perfmon.cli", "perfmon.capacity_cli",
                      "perfmon.calibration",
                      "perfmon.__main__",
                      "perfmon")),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def layer(module: str) -> int:
    best, found = -1, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), i
    assert found >= 0, f"{module} is in no layer of this test: add it to LAYERS"
    return found


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
        if LAYERS[layer(module)][0] == "measuring" and module != "perfmon.load.capacity":
            assert "perfmon.pipeline" not in deps and not any(d.startswith("perfmon.pipeline.") for d in deps)
            text = MODULES[module].read_text()
            assert ".status =" not in text, f"{module} sets a run status"


def test_hdrhistogram_and_its_scale_stay_in_metrics() -> None:
    leaks = []
    for module, path in MODULES.items():
        if module == "perfmon.metrics":
            continue
        text = path.read_text()
        for needle in (r"hdrh", r"HdrHistogram", r"get_value_at_percentile", r"\._?scale\b", r"\bscale="):
            if re.search(needle, text):
                leaks.append(f"{module}: {needle}")
    assert leaks == []


def test_a_worker_imports_nothing_heavy_until_a_test_needs_it() -> None:
    """Every xdist worker imports the plugin: at -n 50, 19 MB of needless imports each is ~0.9 GiB."""
    import subprocess
    import sys

    code = ("import sys, perfmon.pytest_plugin; print(' '.join(sorted(m for m in sys.modules if m in "
            "{'aiohttp', 'httpx', 'numpy', 'jinja2', 'playwright', 'psutil', 'perfmon.pipeline', 'perfmon.load', "
            "'perfmon.sampling', 'perfmon.report', 'perfmon.analysis'})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert out.stdout.split() == []
