"""What an xdist worker imports: the plugin alone must pull in nothing heavy, in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys


def test_a_worker_imports_nothing_heavy_until_a_test_needs_it() -> None:
    """Every xdist worker imports the plugin: at -n 50, 19 MB of needless imports each is ~0.9 GiB."""
    code = ("import sys, perfmon.pytest_plugin; print(' '.join(sorted(m for m in sys.modules if m in "
            "{'aiohttp', 'httpx', 'numpy', 'jinja2', 'playwright', 'psutil', 'perfmon.pipeline', 'perfmon.load', "
            "'perfmon.system.resources', 'perfmon.report', 'perfmon.analysis'})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert out.stdout.split() == []

