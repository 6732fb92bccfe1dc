"""``python -m demo_app --port 8000``: serve the reference app with uvicorn on loopback."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from pathlib import Path

from .app import DEFAULT_ADMIN_TOKEN
from .faults import FaultError


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo_app", description="The WedSync reference app.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default: a fresh temporary one)")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    # The default token written out explicitly (or left empty) is still the default: anyone can read it here.
    if not _loopback(args.host) and (os.environ.get("DEMO_ADMIN_TOKEN") or DEFAULT_ADMIN_TOKEN) == DEFAULT_ADMIN_TOKEN:
        print(f"demo_app: refusing to serve on {args.host} with the default admin token; set DEMO_ADMIN_TOKEN "
              "to a secret of your own, or serve on 127.0.0.1", file=sys.stderr)
        return 2
    try:
        import uvicorn

        from .app import create_app

        app = create_app(db_path=args.db)
    except FaultError as exc:
        print(f"demo_app: {exc}; fix the DEMO_* variable and start again", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # pg.DatabaseUnavailable: its message hides the password
        print(f"demo_app: {exc}; start PostgreSQL or fix the URL", file=sys.stderr)
        return 2
    except ImportError as exc:
        fix = ("pip install 'pytest-perfmon[demo]' (its PostgreSQL mode)" if str(exc.name).startswith("psycopg")
               else "pip install --force-reinstall pytest-perfmon")
        print(f"demo_app: {exc.name} is missing; install it with: {fix}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
