-- perfmon results: the spec's performance_test_runs plus the detail rows one run writes.
-- Measurements are double precision and times timestamptz. Rows are keyed by the run id the
-- client generates, so re-sending a run (spool replay, retries, merged shards) is idempotent.
-- perfmon/store/schema_sqlite.sql mirrors these tables for the embedded store; a unit test
-- keeps their column lists equal.

create table if not exists public.performance_test_runs (
  id uuid primary key,
  -- 'browser' and 'mixed' join the spec's four types: Chromium journeys and hybrid runs are
  -- stored as runs too.
  test_type text not null check (test_type in ('load', 'stress', 'spike', 'endurance', 'browser', 'mixed')),
  -- 'ci' and 'local' join the spec's three: nightly/PR runs against throwaway targets must not
  -- be mixed into the history of real environments.
  environment text not null check (environment in ('development', 'staging', 'production', 'ci', 'local')),
  concurrent_users integer not null check (concurrent_users >= 0),
  duration_seconds double precision not null check (duration_seconds >= 0),
  avg_response_time double precision,
  p95_response_time double precision,
  error_rate double precision check (error_rate is null or (error_rate >= 0 and error_rate <= 1)),
  throughput double precision,
  passed boolean not null,
  created_at timestamptz not null default now(),
  -- run identity and context
  status text not null check (status in ('passed', 'failed', 'interrupted', 'partial')),
  profile text not null,
  base_url text,
  git_sha text,
  branch text,
  host text,
  tool_version text,
  started_at timestamptz not null,
  finished_at timestamptz,
  client_saturation double precision,
  lost_iterations integer not null default 0,
  metadata jsonb not null default '{}'::jsonb
);
create index if not exists idx_perf_runs_type_env_created
  on public.performance_test_runs (test_type, environment, created_at desc);
create index if not exists idx_perf_runs_created on public.performance_test_runs (created_at desc);

-- One row per metric series (name + tags): the aggregate people read, and the serialised
-- mergeable histogram windows that reports and comparisons re-read.
create table if not exists public.performance_metric_series (
  run_id uuid not null references public.performance_test_runs (id) on delete cascade,
  name text not null,
  tags jsonb not null default '{}'::jsonb,
  tags_key text not null,
  kind text not null check (kind in ('trend', 'rate', 'counter', 'gauge')),
  count double precision,
  avg double precision,
  min double precision,
  max double precision,
  p50 double precision,
  p75 double precision,
  p90 double precision,
  p95 double precision,
  p99 double precision,
  rate double precision,
  value double precision,
  data jsonb not null,
  primary key (run_id, name, tags_key)
);

-- One row per metric series per time window: charts over time without re-reading histograms.
create table if not exists public.performance_metric_windows (
  run_id uuid not null references public.performance_test_runs (id) on delete cascade,
  name text not null,
  tags_key text not null,
  window_start timestamptz not null,
  count double precision,
  avg double precision,
  p50 double precision,
  p95 double precision,
  p99 double precision,
  rate double precision,
  primary key (run_id, name, tags_key, window_start)
);
create index if not exists idx_perf_windows_start on public.performance_metric_windows using brin (window_start);

create table if not exists public.performance_threshold_results (
  run_id uuid not null references public.performance_test_runs (id) on delete cascade,
  metric text not null,
  expression text not null,
  observed double precision,
  passed boolean not null,
  abort_on_fail boolean not null default false,
  primary key (run_id, metric, expression)
);

-- CPU and memory of the runner, the browsers and the target, sampled by psutil.
create table if not exists public.performance_resource_samples (
  run_id uuid not null references public.performance_test_runs (id) on delete cascade,
  role text not null,
  sampled_at timestamptz not null,
  cpu_percent double precision,
  rss_bytes double precision,
  processes integer,
  primary key (run_id, role, sampled_at)
);
create index if not exists idx_perf_samples_at on public.performance_resource_samples using brin (sampled_at);
