"""Compiled bytecode for pytest-xdist workers when the environment forbids writing it.

Why: every xdist worker is a new interpreter that imports pytest, its plugins and perfmon. Under
``PYTHONDONTWRITEBYTECODE`` (set by many container images, and on this project's CI machine)
nothing is cached, so each worker compiles and assertion-rewrites some 65 modules again: 0.75
CPU-s per worker, most of the harness's extra CPU per journey at ``-n 50``
(bench/browser_pool.py). The workers get a cache of their own under ``.perfmon/pycache``
(``PYTHONPYCACHEPREFIX``) instead: the source tree still gets no ``.pyc`` file, which is what
the setting is for. A ``PYTHONPYCACHEPREFIX`` the user set is left as it is.

A prefix hides the ``__pycache__`` folders that installed packages already have, so before the
workers start, the modules this process has loaded get their compiled files copied into it;
otherwise the first run's workers would compile all of site-packages. The modules pytest
rewrites (plugins, test files) are compiled by the first run's workers, as without the cache,
and read by every later run.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import py_compile
import shutil
import sys
from collections.abc import MutableMapping
from pathlib import Path

from ..core.env import environ as process_environ

__all__ = ["share_worker_bytecode"]


def share_worker_bytecode(root: Path, environ: MutableMapping[str, str] | None = None) -> Path | None:
    """Point the processes started from here on at ``root/.perfmon/pycache``, filled with what this
    process has loaded; returns the folder, or None when bytecode may be written anyway, the user
    chose a prefix, or the folder cannot be made."""
    environ = process_environ() if environ is None else environ
    if not environ.get("PYTHONDONTWRITEBYTECODE") or environ.get("PYTHONPYCACHEPREFIX"):
        return None
    prefix = root / ".perfmon" / "pycache"
    try:
        prefix.mkdir(parents=True, exist_ok=True)
        _fill(prefix)
    except OSError:
        return None  # a read-only project: the workers compile as they did
    del environ["PYTHONDONTWRITEBYTECODE"]
    environ["PYTHONPYCACHEPREFIX"] = str(prefix)
    return prefix


def _fill(prefix: Path) -> None:
    """Put each loaded module's compiled file where an interpreter with ``prefix`` looks for it."""
    for module in list(sys.modules.values()):
        spec = getattr(module, "__spec__", None)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader) or not spec.origin:
            continue  # built-in, extension, or rewritten by pytest (its own loader and file name)
        source = Path(spec.origin)
        usual = Path(importlib.util.cache_from_source(str(source)))
        target = prefix / source.parent.relative_to(source.anchor) / usual.name
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.{os.getpid()}")  # workers may read it: appear whole
        if usual.exists():
            shutil.copyfile(usual, partial)
        elif not py_compile.compile(str(source), cfile=str(partial), doraise=False):
            continue
        os.replace(partial, target)
