# shellcheck shell=bash
# Sourced by test.sh: a private PostgreSQL 15 (from Debian) on a free loopback port, started as
# the postgres user (the server refuses root), with pgTAP; stopped when the script exits.
PGBIN=/usr/lib/postgresql/15/bin

ensure_postgres() {
  apt_install postgresql-15 postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
}

as_pg_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  PGWORK="$(mktemp -d /tmp/perfmon-pg.XXXXXX)"
  [ "$(id -u)" = 0 ] && chown postgres "$PGWORK"
  PGPORT="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  as_pg_user "$PGBIN/initdb" -D "$PGWORK/data" -U postgres -A trust --no-sync >/dev/null \
    || die "initdb failed in $PGWORK"
  as_pg_user "$PGBIN/pg_ctl" -D "$PGWORK/data" -l "$PGWORK/log" -w -o \
    "-p $PGPORT -k $PGWORK -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
     -c shared_preload_libraries=pg_stat_statements" start >/dev/null \
    || die "PostgreSQL did not start; see $PGWORK/log"
  trap stop_postgres EXIT
  export PGHOST=127.0.0.1 PGPORT PGUSER=postgres PGOPTIONS="-c client_min_messages=warning"
  export PERFMON_TEST_PG="postgresql://postgres@127.0.0.1:$PGPORT"
}

stop_postgres() {
  [ -n "${PGWORK:-}" ] && as_pg_user "$PGBIN/pg_ctl" -D "$PGWORK/data" -m fast stop >/dev/null 2>&1
  rm -rf "${PGWORK:-/nonexistent}"
}

# The real Supabase CLI, pinned in tools/supabase-cli (package.json + package-lock.json), installed
# with npm when it is missing or its lock file changed. Sets SUPABASE_CLI, or leaves it empty when
# there is no npm (then migrations go through psql, and the script says so).
SUPABASE_CLI=""
ensure_supabase_cli() {
  local dir="$ROOT/tools/supabase-cli" stamp want
  if ! command -v npm >/dev/null; then
    say "no npm here: migrations are applied with psql, not the Supabase CLI (install nodejs and npm to use it)"
    return 0
  fi
  stamp="$dir/node_modules/.perfmon-installed"
  want="$(sha1sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ ! -x "$dir/node_modules/.bin/supabase" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing the Supabase CLI (npm ci in tools/supabase-cli)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci failed in $dir"
    echo "$want" > "$stamp"
  fi
  SUPABASE_CLI="$dir/node_modules/.bin/supabase"
}

# A fresh database with Supabase's roles (bootstrap.sql: what a Supabase project already has) and
# every migration applied in order, by `supabase db push` as a WedSync engineer deploys them;
# `supabase migration list` must then show each one applied.
create_migrated_db() {
  local db="$1" url m applied
  psql -q -X -v ON_ERROR_STOP=1 -d postgres -c "drop database if exists $db" -c "create database $db" >/dev/null
  psql -q -X -v ON_ERROR_STOP=1 -d "$db" -f "$ROOT/supabase/tests/bootstrap.sql" >/dev/null
  psql -q -X -v ON_ERROR_STOP=1 -d postgres -c "alter database $db set search_path = public, extensions" >/dev/null
  if [ -z "$SUPABASE_CLI" ]; then
    for m in $(ls "$ROOT"/supabase/migrations/*.sql | sort); do
      psql -q -X -v ON_ERROR_STOP=1 -d "$db" -f "$m" >/dev/null || die "migration $(basename "$m") failed"
    done
    return 0
  fi
  url="postgresql://postgres@127.0.0.1:$PGPORT/$db?sslmode=disable"
  "$SUPABASE_CLI" db push --db-url "$url" --workdir "$ROOT" --yes >"$PGWORK/db-push.log" 2>&1 \
    || die "supabase db push failed: $(tail -n 3 "$PGWORK/db-push.log")"
  "$SUPABASE_CLI" migration list --db-url "$url" --workdir "$ROOT" >"$PGWORK/migrations.txt" 2>&1 \
    || die "supabase migration list failed: $(tail -n 3 "$PGWORK/migrations.txt")"
  for m in "$ROOT"/supabase/migrations/*.sql; do
    m="$(basename "$m" | cut -d_ -f1)"
    applied="$(grep -c "\`$m\` | \`$m\`" "$PGWORK/migrations.txt" || true)"
    [ "$applied" = 1 ] || die "supabase migration list does not show $m applied (see $PGWORK/migrations.txt)"
  done
  say "supabase db push applied $(ls "$ROOT"/supabase/migrations/*.sql | wc -l) migrations to $db (supabase migration list agrees)"
}
