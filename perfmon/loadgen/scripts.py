"""Loading user scripts named ``path/to/file.py:function`` (or ``package.module:function``)."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any

from ..core.errors import ScriptError

__all__ = ["load_callable"]


def load_callable(ref: str, *, root: Path) -> Any:
    """The async function ``ref`` names; a bad reference is one clear :class:`ScriptError`."""
    target, colon, func = ref.rpartition(":")
    if not colon or not target or not func:
        raise ScriptError(f"script {ref!r} must be written FILE.py:FUNCTION or MODULE:FUNCTION")
    try:
        if target.endswith(".py"):
            path = (root / target).resolve()
            if not path.is_file():
                raise ScriptError(f"script file {path} does not exist")
            spec = importlib.util.spec_from_file_location(f"perfmon_user_{path.stem}", path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.path.insert(0, str(path.parent))  # let the script import its neighbours
            try:
                spec.loader.exec_module(module)
            finally:
                sys.path.remove(str(path.parent))
        else:
            module = importlib.import_module(target)
    except ScriptError:
        raise
    except Exception as exc:  # noqa: BLE001 - any error in user code becomes one line
        raise ScriptError(f"cannot load script {ref!r}: {type(exc).__name__}: {exc}") from None
    fn = getattr(module, func, None)
    if fn is None:
        raise ScriptError(f"script {target!r} has no function {func!r}")
    if not inspect.iscoroutinefunction(fn):
        raise ScriptError(f"{ref!r} must be an async function: async def {func}(client, user)")
    return fn
