-- The embedded store's tables: supabase/migrations in SQLite's dialect (uuid/jsonb/timestamptz
-- become TEXT holding the same values; times are ISO-8601 UTC; the spec's DECIMAL columns are REAL
-- holding values perfmon rounded to the spec's scales). Keep the column lists equal. A file from
-- before the spec's column names is upgraded when it is opened (SQLiteStore).
pragma journal_mode = wal;

create table if not exists performance_test_runs (
  id text primary key,
  test_type text not null check (test_type in ('load', 'stress', 'spike', 'endurance', 'browser', 'mixed')),
  environment text not null check (environment in ('development', 'staging', 'production', 'ci', 'local')),
  concurrent_users integer not null check (concurrent_users >= 0),
  duration_seconds integer not null check (duration_seconds >= 0),
  avg_response_time_ms real,
  p95_response_time_ms real,
  error_rate real check (error_rate is null or (error_rate >= 0 and error_rate <= 1)),
  throughput_rps real,
  passed integer not null,
  created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  status text not null check (status in ('passed', 'failed', 'interrupted', 'partial', 'unmeasured')),
  profile text not null,
  base_url text,
  git_sha text,
  branch text,
  host text,
  tool_version text,
  started_at text not null,
  finished_at text,
  client_saturation real,
  lost_iterations integer not null default 0,
  metadata text not null default '{}',
  complete integer not null default 0,
  baseline_accepted_at text,
  gate_alerted_at text
);
create index if not exists idx_perf_runs_type_env_created on performance_test_runs (test_type, environment, created_at desc);
create index if not exists idx_performance_test_runs_created on performance_test_runs (created_at);
create index if not exists idx_performance_test_runs_type on performance_test_runs (test_type);

create table if not exists performance_metric_series (
  run_id text not null references performance_test_runs (id) on delete cascade,
  name text not null,
  tags text not null default '{}',
  tags_key text not null,
  kind text not null check (kind in ('trend', 'rate', 'counter', 'gauge')),
  count real,
  avg real,
  min real,
  max real,
  p50 real,
  p75 real,
  p90 real,
  p95 real,
  p99 real,
  rate real,
  value real,
  data text not null,
  primary key (run_id, name, tags_key)
);

create table if not exists performance_metric_windows (
  run_id text not null references performance_test_runs (id) on delete cascade,
  name text not null,
  tags_key text not null,
  window_start text not null,
  count real,
  avg real,
  p50 real,
  p95 real,
  p99 real,
  rate real,
  primary key (run_id, name, tags_key, window_start)
);

create table if not exists performance_threshold_results (
  run_id text not null references performance_test_runs (id) on delete cascade,
  metric text not null,
  expression text not null,
  observed real,
  passed integer not null,
  abort_on_fail integer not null default 0,
  primary key (run_id, metric, expression)
);

create table if not exists performance_web_vitals (
  run_id text not null references performance_test_runs (id) on delete cascade,
  journey text not null,
  page text not null,
  metric text not null check (metric in ('LCP', 'FCP', 'CLS', 'INP', 'TTFB')),
  count integer not null,
  p75 real,
  p95 real,
  primary key (run_id, journey, page, metric)
);

create table if not exists performance_breaking_points (
  run_id text not null references performance_test_runs (id) on delete cascade,
  scenario text not null,
  sustainable_rate real,
  breaking_rate real,
  steps text not null default '[]',
  users real,
  limited_by text,
  broken_by text,
  rate_estimate real,
  rate_low real,
  rate_high real,
  primary key (run_id, scenario)
);

create table if not exists performance_capacity_steps (
  run_id text not null references performance_test_runs (id) on delete cascade,
  scenario text not null,
  step integer not null check (step >= 0),
  rate real,
  achieved_rate real,
  concurrency real,
  p50 real,
  p95 real,
  p99 real,
  error_rate real,
  held integer not null,
  broken_by text,
  suspect text,
  primary key (run_id, scenario, step)
);

create table if not exists performance_scalability_fits (
  run_id text not null references performance_test_runs (id) on delete cascade,
  scenario text not null,
  sigma real,
  sigma_low real,
  sigma_high real,
  kappa real,
  kappa_low real,
  kappa_high real,
  lambda real,
  lambda_low real,
  lambda_high real,
  r_squared real,
  peak_concurrency real,
  peak_throughput real,
  points integer not null default 0,
  refused text,
  primary key (run_id, scenario)
);

create table if not exists performance_regressions (
  id text primary key,
  run_id text not null references performance_test_runs (id) on delete cascade,
  metric text not null,
  baseline real,
  observed real,
  change_ratio real,
  status text not null default 'open' check (status in ('open', 'acknowledged', 'resolved')),
  detected_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  statistic text,
  tags text not null default '{}',
  kind text not null default 'gate' check (kind in ('gate', 'change_point', 'leak')),
  confidence real,
  first_bad_run text,
  first_bad_sha text,
  previous_sha text
);

create table if not exists performance_resource_samples (
  run_id text not null references performance_test_runs (id) on delete cascade,
  role text not null,
  sampled_at text not null,
  cpu_percent real,
  rss_bytes real,
  processes integer,
  primary key (run_id, role, sampled_at)
);

create table if not exists performance_calibrations (
  id text primary key,
  created_at text not null,
  host text not null,
  machine_class text not null,
  cpus integer not null check (cpus > 0),
  cpu_model text,
  memory_gb real,
  platform text,
  suite text not null,
  level integer not null check (level >= 0),
  margin real not null check (margin > 0),
  levels text not null default '[]'
);

create index if not exists idx_perf_calibrations_machine on performance_calibrations (machine_class, created_at desc);

-- One shard's part of a sharded run (supabase/migrations/20261127000000_run_shards.sql).
create table if not exists performance_run_shards (
  run_id text not null,
  shard integer not null check (shard >= 1),
  shards integer not null check (shard <= shards),
  host text,
  stored_at text not null,
  part text not null,
  primary key (run_id, shard)
);
