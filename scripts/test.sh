#!/usr/bin/env bash
# perfmon's own test suite (what CI runs): pgTAP on the Supabase migrations, lint, types, then the
# tests against the real bundled app over HTTP, real Chromium and a real PostgreSQL 15 that this
# script starts (and stops) on a private port. Installs what it needs first.
source "$(dirname "$0")/_bootstrap.sh"
source "$(dirname "$0")/_postgres.sh"
ensure_python
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
say "pytest (unit and end-to-end, then the reliability suite)"
apt_install openssh-server  # the scale-out tests start sshd on their own test hosts (xdist's ssh= gateway)
python -m pytest tests/unit tests/reliability --durations=25 "$@"
