"""``perfmon migrations``: the results schema for a team's own PostgreSQL or Supabase, copied from the
installed package into the project's ``supabase/migrations/`` (the Supabase CLI's layout), never
overwriting a file. The package ships the same files this repository keeps in ``supabase/migrations``
(``perfmon/store/migrations`` links to them, so the wheel carries them); applying them is the
Supabase CLI's job (``supabase db push``), as in this repository's own tests.
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

from ..core.errors import ConfigError
from ._common import Subcommands

__all__ = ["copy_migrations", "register"]


def register(sub: Subcommands) -> None:
    cmd = sub.add_parser("migrations", help="copy the results schema (SQL migrations) into your project, to "
                                            "apply with `supabase db push`")
    cmd.add_argument("--into", type=Path, default=Path("supabase/migrations"), metavar="DIR",
                     help="where to put them (default: supabase/migrations, the Supabase CLI's folder)")
    cmd.set_defaults(handler=_migrations)


def _migrations(args: argparse.Namespace) -> int:
    written, kept = copy_migrations(args.into)
    for name in written:
        print(f"perfmon migrations: wrote {args.into / name}")
    for name in kept:
        print(f"perfmon migrations: kept {args.into / name} (it exists and differs; nothing overwritten)")
    if not written and not kept:
        print(f"perfmon migrations: {args.into} already has all of them")
    print('perfmon migrations: apply them with the Supabase CLI: supabase db push --db-url "$DATABASE_URL" '
          "(a Supabase project has the anon, authenticated and service_role roles their policies name; a plain "
          "PostgreSQL needs those three roles created first); then store with PERFMON_STORE=postgresql://… or "
          "supabase")
    return 0


def copy_migrations(into: Path) -> tuple[list[str], list[str]]:
    """Copy every shipped migration missing from ``into``; the names written, and those kept because a
    different file of that name is already there."""
    shipped = resources.files("perfmon.store").joinpath("migrations")
    files = sorted((f for f in shipped.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    if not files:
        raise ConfigError("this perfmon has no migrations in its package (perfmon/store/migrations); reinstall it")
    into.mkdir(parents=True, exist_ok=True)
    written, kept = [], []
    for source in files:
        target = into / source.name
        text = source.read_text(encoding="utf-8")
        if not target.exists():
            target.write_text(text, encoding="utf-8")
            written.append(source.name)
        elif target.read_text(encoding="utf-8") != text:
            kept.append(source.name)
    return written, kept
