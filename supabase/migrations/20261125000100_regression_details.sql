-- What the regression detector (issue #13) records about each regression: the series (metric,
-- statistic and tags), how it was found (kind), how sure it is (confidence = 1 - the
-- Benjamini-Hochberg adjusted p-value), and where it first appeared (the run and its commit, and
-- the commit of the newest baseline run before it: the suspect range is (previous_sha, first_bad_sha]).
alter table public.performance_regressions add column if not exists statistic text;
alter table public.performance_regressions add column if not exists tags jsonb not null default '{}'::jsonb;
alter table public.performance_regressions add column if not exists kind text not null default 'gate'
  check (kind in ('gate', 'change_point', 'leak'));
alter table public.performance_regressions add column if not exists confidence double precision;
alter table public.performance_regressions add column if not exists first_bad_run uuid;
alter table public.performance_regressions add column if not exists first_bad_sha text;
alter table public.performance_regressions add column if not exists previous_sha text;

create or replace view public.performance_open_regressions with (security_invoker = true) as
select g.id, g.metric, g.baseline, g.observed, g.change_ratio, g.detected_at, r.id as run_id, r.test_type,
       r.environment, r.git_sha, r.branch, g.kind, g.statistic, g.tags, g.confidence, g.previous_sha,
       g.first_bad_sha
from public.performance_regressions g
join public.performance_test_runs r on r.id = g.run_id
where g.status = 'open' and r.complete;
