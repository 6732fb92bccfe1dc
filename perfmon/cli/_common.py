"""What the commands share: argument types, the exit codes of the read commands, number cells,
loading the config from the command line and reading the store."""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

from ..core.config import Config, load_config
from ..core.errors import StoreError
from ..core.exit_codes import ExitCode
from ..core.suggest import did_you_mean

if TYPE_CHECKING:
    from ..store import Store

from ..core.numbers import number

__all__ = ["NO_VERDICT", "STORE_UNREADABLE", "TYPES", "Parser", "Subcommands", "config", "count", "fmt", "newest",
           "port", "positive", "reading_store"]

class Parser(argparse.ArgumentParser):
    """argparse with perfmon's one error form: ``perfmon: error: …``, "did you mean" for a misspelt
    choice, the command's help named, exit 2; and no prefix matching (``--profil`` is not ``--profile``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        if found := re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message):
            message += did_you_mean(found.group(1), re.findall(r"'([^']*)'", found.group(2)))
        self.exit(ExitCode.USAGE, f"perfmon: error: {message} (see `{self.prog} --help`)\n")

    def unknown(self, extra: list[str]) -> NoReturn:
        """Refuse arguments nothing took, with the closest option of this parser."""
        options = [o for action in self._actions for o in action.option_strings]
        flag = next((a.split("=", 1)[0] for a in extra if a.startswith("-")), "")
        self.error(f"unrecognized arguments: {' '.join(extra)}{did_you_mean(flag, options) if flag else ''}")


# What add_subparsers returns (argparse names it privately; generic only to type checkers).
if TYPE_CHECKING:
    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Subcommands = argparse._SubParsersAction

# `perfmon run` follows perfmon's table (perfmon.core.exit_codes); the read commands use the same codes:
NO_VERDICT = ExitCode.UNMEASURED  # no verdict: too little comparable history, or no (recent) run of the commit
STORE_UNREADABLE = ExitCode.SPOOLED  # `perfmon gate`: the store could not be read

TYPES = ("all", "browser", "load", "stress", "spike", "endurance")


def config(args: argparse.Namespace) -> Config:
    """The config the command line names (``--config``, ``--store``; ``--profile`` and ``--env`` of ``run``)."""
    return load_config(args.config, store=args.store, profile=getattr(args, "profile", None),
                       environment=getattr(args, "env", None) if args.command == "run" else None,
                       base_url=getattr(args, "base_url", None))


@contextmanager
def reading_store(cfg: Config) -> Iterator[Store]:
    """The config's store, opened to read (never created), closed after."""
    from ..store import open_store

    store = open_store(cfg.store, root=cfg.root, create=False)
    try:
        yield store
    finally:
        store.close()


def newest(store: Store) -> str:
    """The id of the newest stored run. A run stamped in the future (the clock of the machine that ran it
    was wrong) would stay "newest" until that time: it is passed over, with a line saying so."""
    found = store.history(limit=50)
    if not found:
        raise StoreError(f"{store.url} holds no run yet; run `perfmon run` first")
    from ..pipeline.deploy_check import CLOCK_SKEW_S  # the skew the deploy gate allows

    now = time.time()
    ahead = [s for s in found if s.started_at is not None and s.started_at > now + CLOCK_SKEW_S]
    chosen = next((s for s in found if s not in ahead), found[0])
    for s in ahead:
        if s is not chosen:
            print(f"perfmon: passed over run {s.run_id[:8]}, stamped {(s.started_at or now) - now:.0f} s in the future "
                  "(a wrong clock where it ran); name it to use it", file=sys.stderr)
    return chosen.run_id


def port(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if not 0 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: give 0-65535 (0: any free port)")
    return n


_MOST = 1_000_000  # a count no command needs more of; a larger one overflowed SQLite's integers (a traceback)


def positive(text: str) -> int:
    return _whole(text, 1)


def count(text: str) -> int:
    return _whole(text, 0)


def _whole(text: str, least: int) -> int:
    try:
        n = int(text)
    except ValueError:
        n = least - 1
    if not least <= n <= _MOST:
        raise argparse.ArgumentTypeError(f"expected a whole number from {least} to {_MOST:,}, not {text!r}")
    return n


def fmt(v: float | None) -> str:
    """A figure in a CLI table (core/numbers.py: four significant digits, never scientific)."""
    return number(v, digits=4)
