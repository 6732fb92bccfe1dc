#!/usr/bin/env bash
# Fail a CI job in one line, before anything runs, when a secret it needs is missing (exit 2):
# BASE_URL (the target; not for --store-only), and a store: PERFMON_STORE, plus SUPABASE_URL and
# SUPABASE_SERVICE_ROLE_KEY (or SUPABASE_SECRET_KEY) when the store is Supabase. Never prints a value.
#
#   ./scripts/check-ci-secrets.sh              # a job that runs the tests
#   ./scripts/check-ci-secrets.sh --store-only # a deploy job that only asks `perfmon gate`
set -euo pipefail
missing() { printf 'perfmon: error: the secret %s is not set; %s\n' "$1" "$2" >&2; exit 2; }

if [ "${1:-}" != "--store-only" ] && [ -z "${BASE_URL:-}" ]; then
  missing PERFMON_BASE_URL "add it to the repository's secrets (Settings > Secrets and variables > Actions) or the environment's; it is the URL of the app to test"
fi
store="${PERFMON_STORE:-}"
if [ -z "$store" ]; then
  missing PERFMON_STORE "set it to a postgresql:// URL or to 'supabase'; a CI runner's own SQLite file is gone when the job ends, so the deploy gate could never see the run"
fi
case "$store" in
  supabase*)
    [ -n "${SUPABASE_URL:-}" ] || missing SUPABASE_URL "PERFMON_STORE=supabase needs the project URL (https://<ref>.supabase.co)"
    [ -n "${SUPABASE_SERVICE_ROLE_KEY:-}${SUPABASE_SECRET_KEY:-}" ] \
      || missing SUPABASE_SERVICE_ROLE_KEY "PERFMON_STORE=supabase needs the service-role (or secret) key to write runs"
    ;;
esac
echo "perfmon: the secrets this job needs are set"
