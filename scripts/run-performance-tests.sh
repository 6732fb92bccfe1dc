#!/usr/bin/env bash
# The main job: install what is missing, run the browser and API suites against BASE_URL (or the
# bundled app), store the run, print the summary; exit non-zero when a threshold fails.
#
#   ./scripts/run-performance-tests.sh --profile smoke
#   BASE_URL=https://staging.example.com ./scripts/run-performance-tests.sh --profile ci --env staging
#   ./scripts/run-performance-tests.sh --type browser --workers 50 --profile smoke
# Everything after the options goes to `perfmon run` (see `perfmon run --help`).
source "$(dirname "$0")/_bootstrap.sh"
ensure_python
ensure_chromium
cd "$ROOT" || exit 2
# exec: Ctrl-C and a cancelled job's SIGTERM reach perfmon itself, which stops pytest and keeps the partial run.
exec perfmon run "$@"
