-- The migrations applied from scratch, in order, give the tables, types and indexes people review.
begin;
select plan(42);

select has_table('public', 'performance_test_runs', 'the spec''s runs table');
select has_table('public', 'performance_metric_series', 'per-series aggregates');
select has_table('public', 'performance_metric_windows', 'per-window time series');
select has_table('public', 'performance_threshold_results', 'threshold outcomes');
select has_table('public', 'performance_resource_samples', 'CPU and memory per process role');
select has_table('public', 'performance_web_vitals', 'Web Vitals per page and journey');
select has_table('public', 'performance_breaking_points', 'breaking points');
select has_table('public', 'performance_capacity_steps', 'capacity search steps and stress ramp windows');
select has_table('public', 'performance_scalability_fits', 'Universal Scalability Law fits');
select columns_are('public', 'performance_capacity_steps', array[
  'run_id', 'scenario', 'step', 'rate', 'achieved_rate', 'concurrency', 'p50', 'p95', 'p99', 'error_rate', 'held',
  'broken_by', 'suspect'], 'a capacity step holds issue #15''s per-step figures');
select col_type_is('public', 'performance_breaking_points', 'users', 'double precision',
                   'a breaking point says how many users the sustainable rate serves');
select col_type_is('public', 'performance_breaking_points', 'rate_low', 'double precision',
                   'and the lower end of its interval');
select has_table('public', 'performance_regressions', 'regressions');
select has_table('public', 'performance_calibrations', 'perfmon calibrate''s results per machine');
select columns_are('public', 'performance_calibrations', array[
  'id', 'created_at', 'host', 'machine_class', 'cpus', 'cpu_model', 'memory_gb', 'platform', 'suite', 'level', 'margin',
  'levels'], 'a calibration is stored with the machine''s identity and every level tried');
select has_table('public', 'performance_run_shards', 'each shard''s part of a sharded run');
select columns_are('public', 'performance_run_shards', array['run_id', 'shard', 'shards', 'host', 'stored_at', 'part'],
                   'a shard''s part is kept by run and shard, with its host');
select has_pk('public', 'performance_run_shards', 'a retried shard replaces its own part');
select columns_are('public', 'performance_test_runs', array[
  'id', 'test_type', 'environment', 'concurrent_users', 'duration_seconds', 'avg_response_time_ms',
  'p95_response_time_ms', 'error_rate', 'throughput_rps', 'passed', 'created_at', 'status', 'profile', 'base_url',
  'git_sha', 'branch', 'host', 'tool_version', 'started_at', 'finished_at', 'client_saturation',
  'lost_iterations', 'metadata', 'complete', 'baseline_accepted_at', 'gate_alerted_at'], 'the runs table has exactly the spec''s columns plus run identity');
-- WS-180's "Database Schema Required", column by column.
select col_type_is('public', 'performance_test_runs', 'id', 'uuid', 'spec: id UUID');
select col_default_is('public', 'performance_test_runs', 'id', 'gen_random_uuid()', 'spec: id DEFAULT gen_random_uuid()');
select col_type_is('public', 'performance_test_runs', 'test_type', 'text', 'spec: test_type TEXT');
select col_type_is('public', 'performance_test_runs', 'environment', 'text', 'spec: environment TEXT');
select col_type_is('public', 'performance_test_runs', 'concurrent_users', 'integer', 'spec: concurrent_users INT');
select col_type_is('public', 'performance_test_runs', 'duration_seconds', 'integer', 'spec: duration_seconds INT');
select col_type_is('public', 'performance_test_runs', 'avg_response_time_ms', 'numeric(8,2)',
                   'spec: avg_response_time_ms DECIMAL(8,2)');
select col_type_is('public', 'performance_test_runs', 'p95_response_time_ms', 'numeric(8,2)',
                   'spec: p95_response_time_ms DECIMAL(8,2)');
select col_type_is('public', 'performance_test_runs', 'error_rate', 'numeric(5,4)', 'spec: error_rate DECIMAL(5,4)');
select col_type_is('public', 'performance_test_runs', 'throughput_rps', 'numeric(8,2)', 'spec: throughput_rps DECIMAL(8,2)');
select col_type_is('public', 'performance_test_runs', 'passed', 'boolean', 'spec: passed BOOLEAN');
select col_type_is('public', 'performance_test_runs', 'created_at', 'timestamp with time zone', 'spec: created_at TIMESTAMPTZ');
select has_index('public', 'performance_test_runs', 'idx_performance_test_runs_created', array['created_at'],
                 'spec: idx_performance_test_runs_created');
select has_index('public', 'performance_test_runs', 'idx_performance_test_runs_type', array['test_type'],
                 'spec: idx_performance_test_runs_type');
select hasnt_index('public', 'performance_test_runs', 'idx_perf_runs_created', 'no duplicate of the spec''s index');
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
select lives_ok(
  $$insert into public.performance_test_runs (id, test_type, environment, concurrent_users, duration_seconds, passed,
    status, profile, started_at) values (gen_random_uuid(), 'load', 'ci', 1, 1, false, 'unmeasured', 'x', now())$$,
  'a run that could not be measured is a status of its own');
select throws_ok(
  $$insert into public.performance_test_runs (id, test_type, environment, concurrent_users, duration_seconds, passed,
    status, profile, started_at) values (gen_random_uuid(), 'load', 'ci', 1, 1, false, 'sideways', 'x', now())$$,
  '23514', null, 'status is checked');
select is(
  (select count(*)::int from pg_views where schemaname = 'public' and viewname like 'performance_%'
     and definition is not null),
  3, 'three review views');

select * from finish();
rollback;
