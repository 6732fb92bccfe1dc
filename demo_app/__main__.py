"""``python -m demo_app --port 8000``: serve the reference app with uvicorn on loopback."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .faults import FaultError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo_app", description="The WedSync reference app.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default: a fresh temporary one)")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    try:
        import uvicorn

        from .app import create_app

        app = create_app(db_path=args.db)
    except FaultError as exc:
        print(f"demo_app: {exc}; fix the DEMO_* variable and start again", file=sys.stderr)
        return 2
    except ImportError as exc:
        print(f"demo_app: {exc.name} is missing; install with: pip install -e '.[demo]'", file=sys.stderr)
        return 2
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
