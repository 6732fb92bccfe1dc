"""Typed reads of the config file's values, each error one line with ``file:line``, the key, what
was expected and what was found.

tomllib gives plain dicts without positions, so a key's line is found again in the file's text:
the first line that sets it after its table's header (``[tool.perfmon.scenarios.load]`` or
``[scenarios.load]``), else the first line that mentions it. Hand-written because the schema
libraries (pydantic, cattrs) report paths, not lines, and would be a dependency for ten checks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..durations import parse_duration
from ..errors import ConfigError

__all__ = ["Reader"]


@dataclass(frozen=True)
class Reader:
    """Reads values of one file (``source`` its path, ``text`` its contents; both empty for defaults)."""

    source: str
    text: str = ""

    def where(self, table: str, key: str | None = None) -> str:
        """``file:line`` of ``key`` in ``table`` (a dotted path under ``tool.perfmon``)."""
        if not self.text:
            return self.source
        lines = self.text.splitlines()
        start = 0
        if table:
            header = re.compile(rf"^\s*\[\s*(?:tool\.perfmon\.)?{re.escape(table)}\s*\]")
            start = next((i for i, line in enumerate(lines) if header.match(line)), 0)
        if key is None:
            return f"{self.source}:{start + 1}" if table else self.source
        dotted = re.escape(f"{table}.{key}" if table else key)
        setting = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=|[{{,]\s*{re.escape(key)}\s*="
                             rf"|^\s*\[\s*(?:tool\.perfmon\.)?{dotted}[\s.\]]")  # or a table of its own
        for i in (*range(start, len(lines)), *range(0, start)):
            if setting.search(lines[i]):
                return f"{self.source}:{i + 1}"
        return self.source

    def fail(self, table: str, key: str, value: Any, expected: str) -> ConfigError:
        name = f"{table}.{key}" if table else key
        return ConfigError(f"{self.where(table, key)}: {name} = {_show(value)}: expected {expected}")

    def table(self, table: str, key: str, value: Any) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(table, key, value, f"a table, e.g. [tool.perfmon.{_join(table, key)}]")
        return value

    def tables(self, table: str, key: str, value: Any, example: str) -> Sequence[Mapping[str, Any]]:
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise self.fail(table, key, value, f"a list of tables, e.g. {key} = [{example}]")
        return value

    def duration(self, table: str, key: str, value: Any) -> float:
        return parse_duration(value, what=f"{self.where(table, key)}: {_join(table, key)}")

    def text_value(self, table: str, key: str, value: Any) -> str:
        if not isinstance(value, str):
            raise self.fail(table, key, value, "a string in quotes")
        return value

    def integer(self, table: str, key: str, value: Any, *, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(table, key, value, f"a whole number of at least {minimum}")
        return value

    def number(self, table: str, key: str, value: Any, *, minimum: float = 0.0, above: bool = False,
               maximum: float | None = None) -> float:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if ok and (value < minimum or (above and value == minimum) or (maximum is not None and value > maximum)):
            ok = False
        if not ok:
            bound = f"above {minimum:g}" if above else f"of at least {minimum:g}"
            upto = f" and at most {maximum:g}" if maximum is not None else ""
            raise self.fail(table, key, value, f"a finite number {bound}{upto}")
        return float(value)


def _join(table: str, key: str) -> str:
    return f"{table}.{key}" if table else key


def _show(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."
