#!/usr/bin/env bash
# The `perfmon` command with its Python dependencies installed first (no Chromium): what a deploy
# job runs to ask `perfmon gate`, or anyone to read history, on a machine with nothing installed.
#
#   ./scripts/perfmon.sh gate --sha "$GITHUB_SHA" --env staging
source "$(dirname "$0")/_bootstrap.sh"
ensure_python
exec perfmon "$@"
