-- Data only (the schema is in migrations/): one small passing run, so the review views show
-- something in a fresh local project.
insert into public.performance_test_runs
  (id, test_type, environment, concurrent_users, duration_seconds, avg_response_time_ms, p95_response_time_ms,
   error_rate, throughput_rps, passed, status, profile, base_url, started_at, finished_at, complete)
values
  ('00000000-0000-4000-8000-000000000001', 'load', 'local', 10, 12, 14.2, 41.0, 0, 61.8, true, 'passed',
   'smoke', 'http://127.0.0.1:8000', now() - interval '1 minute', now(), true)
on conflict (id) do nothing;
