-- performance_test_runs becomes a superset of WS-180's own definition ("Database Schema Required"),
-- so the WedSync app's TypeScript (PerformanceMonitor.recordTestResults) and the people reviewing in
-- Supabase use the spec's names, and the spec's own insert succeeds as service_role.
--
-- * The spec's column names: avg_response_time_ms, p95_response_time_ms, throughput_rps (renamed,
--   rows kept).
-- * The spec's types: DECIMAL(8,2) for the two times and the throughput, DECIMAL(5,4) for the error
--   rate, INT for users and duration. These are the run's summary as people read it; the exact
--   figures stay in performance_metric_series (histograms and rates), which every threshold and
--   comparison reads. perfmon rounds to these scales before writing (and clamps a time above
--   999999.99 ms, which DECIMAL(8,2) cannot hold) so SQLite and PostgreSQL hold the same values.
-- * id defaults to gen_random_uuid(); perfmon still sends its own client-generated ids.
-- * Every perfmon-only NOT NULL column gets a default: status follows passed (a trigger, since a
--   default cannot read another column), profile 'custom', started_at now(); complete defaults to
--   true (the Supabase store still sends false first and flips it last), so a run inserted by the
--   spec's code appears in the review views.
-- * The spec's indexes idx_performance_test_runs_created and idx_performance_test_runs_type; the
--   created_at index of the first migration duplicated the spec's and is dropped. The composite
--   (test_type, environment, created_at) index stays: history reads filter on both.
-- * Grants: on a project with Supabase's legacy default privileges ("grant all on tables to anon,
--   authenticated, service_role"), views created after the security migration carried INSERT,
--   UPDATE, DELETE and TRUNCATE for authenticated. Every perfmon relation is now: anon nothing,
--   authenticated SELECT only, service_role SELECT (views) or read-write (tables).

-- Views depend on the columns whose types change: drop them, recreate them below with the new names.
drop view if exists public.performance_latest_runs;
drop view if exists public.performance_p95_trend;
drop view if exists public.performance_open_regressions;

alter table public.performance_test_runs rename column avg_response_time to avg_response_time_ms;
alter table public.performance_test_runs rename column p95_response_time to p95_response_time_ms;
alter table public.performance_test_runs rename column throughput to throughput_rps;

alter table public.performance_test_runs
  alter column id set default gen_random_uuid(),
  alter column concurrent_users type integer,
  alter column duration_seconds type integer using round(duration_seconds)::integer,
  alter column avg_response_time_ms type decimal(8, 2) using least(avg_response_time_ms, 999999.99)::decimal(8, 2),
  alter column p95_response_time_ms type decimal(8, 2) using least(p95_response_time_ms, 999999.99)::decimal(8, 2),
  alter column error_rate type decimal(5, 4) using error_rate::decimal(5, 4),
  alter column throughput_rps type decimal(8, 2) using least(throughput_rps, 999999.99)::decimal(8, 2),
  alter column profile set default 'custom',
  alter column started_at set default now(),
  alter column complete set default true;

create or replace function public.performance_test_runs_fill_status() returns trigger
  language plpgsql set search_path = '' as $$
begin
  if new.status is null then
    new.status := case when new.passed then 'passed' else 'failed' end;
  end if;
  return new;
end
$$;
revoke all on function public.performance_test_runs_fill_status() from public, anon, authenticated;
drop trigger if exists performance_test_runs_fill_status on public.performance_test_runs;
create trigger performance_test_runs_fill_status before insert on public.performance_test_runs
  for each row execute function public.performance_test_runs_fill_status();

drop index if exists public.idx_perf_runs_created;
create index if not exists idx_performance_test_runs_created on public.performance_test_runs (created_at);
create index if not exists idx_performance_test_runs_type on public.performance_test_runs (test_type);

create view public.performance_latest_runs with (security_invoker = true) as
select distinct on (r.test_type, r.environment)
  r.id, r.test_type, r.environment, r.profile, r.status, r.passed, r.created_at, r.git_sha, r.branch,
  r.concurrent_users, r.duration_seconds, r.avg_response_time_ms, r.p95_response_time_ms, r.error_rate,
  r.throughput_rps, r.client_saturation
from public.performance_test_runs r
where r.complete
order by r.test_type, r.environment, r.started_at desc;

create view public.performance_p95_trend with (security_invoker = true) as
select
  r.id as run_id, r.started_at, r.environment, r.git_sha,
  coalesce(s.tags ->> 'journey', s.tags ->> 'scenario') as journey_or_scenario,
  s.tags ->> 'name' as endpoint,
  s.name as metric, s.p95, s.p75, s.count
from public.performance_test_runs r
join public.performance_metric_series s on s.run_id = r.id
where r.complete
  and s.name in ('http_req_duration', 'browser_step_duration', 'browser_vital_lcp', 'browser_vital_inp',
                 'browser_vital_cls', 'browser_vital_fcp', 'browser_vital_ttfb');

create view public.performance_open_regressions with (security_invoker = true) as
select g.id, g.metric, g.baseline, g.observed, g.change_ratio, g.detected_at, r.id as run_id, r.test_type,
       r.environment, r.git_sha, r.branch
from public.performance_regressions g
join public.performance_test_runs r on r.id = g.run_id
where g.status = 'open' and r.complete;

do $$
declare
  rel record;
begin
  for rel in
    select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relname like 'performance\_%' and c.relkind in ('r', 'v')
  loop
    execute format('revoke all on table public.%I from public, anon, authenticated, service_role', rel.relname);
    execute format('grant select on table public.%I to authenticated', rel.relname);
    if rel.relkind = 'r' then
      execute format('grant select, insert, update, delete on table public.%I to service_role', rel.relname);
    else
      execute format('grant select on table public.%I to service_role', rel.relname);
    end if;
  end loop;
end
$$;
