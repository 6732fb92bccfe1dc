"""``perfmon init``: a working starting point in an empty or existing repository, never overwriting a
file: ``perfmon.toml`` (the built-in scenarios and profiles shown commented), one browser journey,
one API scenario, a GitHub workflow (the pull request's smoke run, the gate before a deploy) and the
``.gitignore`` lines for what perfmon writes. Against the bundled app (``perfmon demo``) the suite
passes as written; ``--base-url`` points it at the user's own app.

The files are templates shipped in the package (``templates/``); only ``perfmon.toml`` is filled in
(the base URL and the built-in tables), by plain replacement: two values do not need a template engine.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..core.config.loading import builtin_text
from ..core.errors import ConfigError
from ._common import Subcommands

__all__ = ["register", "scaffold"]

_IGNORED = (".perfmon/", "perf-reports/", "test-results/")


@dataclass(frozen=True)
class Scaffolded:
    written: tuple[str, ...]
    kept: tuple[str, ...]  # there already: left as they were


def register(sub: Subcommands) -> None:
    init = sub.add_parser("init", help="write a starting config, a journey, an API scenario and a CI workflow here")
    init.add_argument("--base-url", default=None, metavar="URL",
                      help="the app to test (default: none, perfmon starts its bundled reference app)")
    init.add_argument("--dir", type=Path, default=Path("."), metavar="PATH", help="the repository (default: here)")
    init.set_defaults(handler=_init)


def _init(args: argparse.Namespace) -> int:
    if args.base_url is not None and not args.base_url.startswith(("http://", "https://")):
        raise ConfigError(f"--base-url {args.base_url!r} is not an http(s) URL; write e.g. https://staging.example.com")
    done = scaffold(args.dir, args.base_url)
    for path in done.written:
        print(f"perfmon init: wrote {path}")
    for path in done.kept:
        print(f"perfmon init: kept {path} (it exists; nothing overwritten)")
    print("perfmon init: next: `perfmon demo` in another terminal (or --base-url your app), "
          "`export PERF_PASSWORD=testpassword` (the bundled app's seeded password), then "
          "`perfmon run --profile smoke`")
    return 0


def scaffold(root: Path, base_url: str | None) -> Scaffolded:
    """Write the starting files under ``root``; a file already there is kept as it was."""
    if not root.is_dir():
        raise ConfigError(f"--dir {root}: no such folder; create it first, or run perfmon init inside the repository")
    files = {
        "perfmon.toml": _config(base_url),
        "tests/browser_perf/test_journeys.py": _template("test_journeys.py.tmpl"),
        "tests/api_perf/test_api.py": _template("test_api.py.tmpl"),
        ".github/workflows/performance.yml": _template("performance.yml.tmpl"),
    }
    written: list[str] = []
    kept: list[str] = []
    for name, text in files.items():
        path = root / name
        if path.exists():
            kept.append(name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(name)
    if _ignore(root / ".gitignore"):
        written.append(".gitignore")
    return Scaffolded(tuple(written), tuple(kept))


def _template(name: str) -> str:
    return resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")


def _config(base_url: str | None) -> str:
    line = (f'base_url = "{base_url}"  # the app under test (BASE_URL or --base-url override it)' if base_url else
            '# base_url = "https://staging.example.com"  # unset: perfmon starts its bundled reference app')
    builtin = "\n".join(f"# {row}".rstrip() for row in builtin_text().splitlines())
    return _template("perfmon.toml.tmpl").replace("@BASE_URL@", line).replace("@BUILTIN@", builtin)


def _ignore(path: Path) -> bool:
    """Add the lines perfmon's outputs need to ``.gitignore``; False when they were all there."""
    have = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    missing = [line for line in _IGNORED if line not in have and line.rstrip("/") not in have]
    if not missing:
        return False
    lead = "\n" if have and have[-1].strip() else ""
    with path.open("a", encoding="utf-8") as f:
        f.write(f"{lead}# perfmon: its results store, reports and failed journeys' evidence\n" + "\n".join(missing)
                + "\n")
    return True
