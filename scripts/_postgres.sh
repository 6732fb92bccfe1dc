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
    "-p $PGPORT -k $PGWORK -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" start >/dev/null \
    || die "PostgreSQL did not start; see $PGWORK/log"
  trap stop_postgres EXIT
  export PGHOST=127.0.0.1 PGPORT PGUSER=postgres PGOPTIONS="-c client_min_messages=warning"
  export PERFMON_TEST_PG="postgresql://postgres@127.0.0.1:$PGPORT"
}

stop_postgres() {
  [ -n "${PGWORK:-}" ] && as_pg_user "$PGBIN/pg_ctl" -D "$PGWORK/data" -m fast stop >/dev/null 2>&1
  rm -rf "${PGWORK:-/nonexistent}"
}

# A fresh database with Supabase's roles and every migration applied in order.
create_migrated_db() {
  local db="$1"
  psql -q -X -v ON_ERROR_STOP=1 -d postgres -c "drop database if exists $db" -c "create database $db" >/dev/null
  psql -q -X -v ON_ERROR_STOP=1 -d "$db" -f "$ROOT/supabase/tests/bootstrap.sql" >/dev/null
  psql -q -X -v ON_ERROR_STOP=1 -d postgres -c "alter database $db set search_path = public, extensions" >/dev/null
  for m in $(ls "$ROOT"/supabase/migrations/*.sql | sort); do
    psql -q -X -v ON_ERROR_STOP=1 -d "$db" -f "$m" >/dev/null || die "migration $(basename "$m") failed"
  done
}
