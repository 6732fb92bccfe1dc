-- Views for review in the table editor and SQL. security_invoker: a view runs with the rights
-- of the person reading it, so RLS and grants on the tables still apply (no security-definer
-- views). Only complete runs appear.

create or replace view public.performance_latest_runs with (security_invoker = true) as
select distinct on (r.test_type, r.environment)
  r.id, r.test_type, r.environment, r.profile, r.status, r.passed, r.created_at, r.git_sha, r.branch,
  r.concurrent_users, r.duration_seconds, r.avg_response_time, r.p95_response_time, r.error_rate, r.throughput,
  r.client_saturation
from public.performance_test_runs r
where r.complete
order by r.test_type, r.environment, r.started_at desc;

create or replace view public.performance_p95_trend with (security_invoker = true) as
select
  r.id as run_id, r.started_at, r.environment, r.git_sha,
  coalesce(s.tags ->> 'journey', s.tags ->> 'scenario') as journey_or_scenario,
  s.name as metric, s.p95, s.p75, s.count
from public.performance_test_runs r
join public.performance_metric_series s on s.run_id = r.id
where r.complete
  and s.name in ('http_req_duration', 'browser_step_duration', 'browser_vital_lcp', 'browser_vital_inp',
                 'browser_vital_cls', 'browser_vital_fcp', 'browser_vital_ttfb');

create or replace view public.performance_open_regressions with (security_invoker = true) as
select g.id, g.metric, g.baseline, g.observed, g.change_ratio, g.detected_at, r.id as run_id, r.test_type,
       r.environment, r.git_sha, r.branch
from public.performance_regressions g
join public.performance_test_runs r on r.id = g.run_id
where g.status = 'open' and r.complete;

revoke all on public.performance_latest_runs, public.performance_p95_trend, public.performance_open_regressions
  from public, anon;
grant select on public.performance_latest_runs, public.performance_p95_trend, public.performance_open_regressions
  to authenticated, service_role;
