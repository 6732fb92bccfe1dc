#!/usr/bin/env bash
# perfmon's own test suite (what CI runs): lint, types, then the tests against the real bundled
# app over HTTP and real Chromium. Installs what it needs first.
source "$(dirname "$0")/_bootstrap.sh"
ensure_python
ensure_chromium
cd "$ROOT"
say "ruff"
ruff check perfmon demo_app tests
say "mypy"
mypy
say "pytest"
python -m pytest tests/unit "$@"
