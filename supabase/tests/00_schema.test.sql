-- The migrations applied from scratch, in order, give the tables, types and indexes people review.
begin;
select plan(17);

select has_table('public', 'performance_test_runs', 'the spec''s runs table');
select has_table('public', 'performance_metric_series', 'per-series aggregates');
select has_table('public', 'performance_metric_windows', 'per-window time series');
select has_table('public', 'performance_threshold_results', 'threshold outcomes');
select has_table('public', 'performance_resource_samples', 'CPU and memory per process role');
select has_table('public', 'performance_web_vitals', 'Web Vitals per page and journey');
select has_table('public', 'performance_breaking_points', 'breaking points');
select has_table('public', 'performance_regressions', 'regressions');
select columns_are('public', 'performance_test_runs', array[
  'id', 'test_type', 'environment', 'concurrent_users', 'duration_seconds', 'avg_response_time',
  'p95_response_time', 'error_rate', 'throughput', 'passed', 'created_at', 'status', 'profile', 'base_url',
  'git_sha', 'branch', 'host', 'tool_version', 'started_at', 'finished_at', 'client_saturation',
  'lost_iterations', 'metadata', 'complete'], 'the runs table has exactly the spec''s columns plus run identity');
select col_type_is('public', 'performance_test_runs', 'p95_response_time', 'double precision', 'measurements are doubles');
select col_type_is('public', 'performance_test_runs', 'created_at', 'timestamp with time zone', 'times are timestamptz');
select col_type_is('public', 'performance_test_runs', 'metadata', 'jsonb', 'metadata is jsonb');
select has_index('public', 'performance_test_runs', 'idx_perf_runs_type_env_created', 'history is indexed');
select has_index('public', 'performance_metric_windows', 'idx_perf_windows_start', 'windows have a BRIN index');
select throws_ok(
  $$insert into public.performance_test_runs (id, test_type, environment, concurrent_users, duration_seconds, passed,
    status, profile, started_at) values (gen_random_uuid(), 'load', 'mars', 1, 1, true, 'passed', 'x', now())$$,
  '23514', null, 'environment is checked');
select throws_ok(
  $$insert into public.performance_test_runs (id, test_type, environment, concurrent_users, duration_seconds, passed,
    status, profile, started_at, error_rate) values (gen_random_uuid(), 'load', 'ci', 1, 1, true, 'passed', 'x',
    now(), 1.5)$$,
  '23514', null, 'error_rate is a share between 0 and 1');
select is(
  (select count(*)::int from pg_views where schemaname = 'public' and viewname like 'performance_%'
     and definition is not null),
  3, 'three review views');

select * from finish();
rollback;
