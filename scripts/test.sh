#!/usr/bin/env bash
# perfmon's own test suite (what CI runs): pgTAP on the Supabase migrations, lint, types, then the
# three tiers: tests/unit (in-process), tests/e2e (the real bundled app over HTTP, real Chromium and a
# real PostgreSQL 15 that this script starts and stops on a private port) and tests/reliability
# (faults, signals, hostile input). Installs what it needs first.
#   ./scripts/test.sh            everything (CI)
#   ./scripts/test.sh --fast     the unit tier only (in-process, under a minute; no services)
#   ./scripts/test.sh ARGS...    everything, ARGS passed to pytest
source "$(dirname "$0")/_bootstrap.sh"
source "$(dirname "$0")/_postgres.sh"
ensure_python
if [ "${1:-}" = "--fast" ]; then
  shift
  cd "$ROOT" || exit 2
  say "pytest: the unit tier (in-process only)"
  exec python -m pytest tests/unit "$@"
fi
ensure_chromium
ensure_postgres
ensure_supabase_cli
cd "$ROOT" || exit 2
start_postgres
say "pgTAP (migrations applied from scratch, in order, by the Supabase CLI)"
create_migrated_db perfmon_pgtap
pg_prove -d perfmon_pgtap supabase/tests/*.test.sql
say "ruff"
ruff check perfmon demo_app tests
say "the GitHub workflows (actionlint, with shellcheck on its run: steps; GitHub's workflow schema)"
apt_install shellcheck
actionlint .github/workflows/*.yml
check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
shellcheck -x -S warning scripts/*.sh .ci/run
say "mypy"
mypy
say "pytest (the unit, end-to-end and reliability tiers)"
apt_install openssh-server  # the scale-out tests start sshd on their own test hosts (xdist's ssh= gateway)
python -m pytest tests/unit tests/e2e tests/reliability --durations=25 "$@"
