-- Detail tables the review views need, and a completion flag.
--
-- `complete` is flipped last, after every detail row of a run is written: backends that cannot
-- write a run in one transaction (Supabase's REST API) insert the run with complete = false,
-- write the details, then set it. Review views show complete runs only, so a reader never sees
-- a run without its details.

alter table public.performance_test_runs add column if not exists complete boolean not null default false;

create table if not exists public.performance_web_vitals (
  run_id uuid not null references public.performance_test_runs (id) on delete cascade,
  journey text not null,
  page text not null,
  metric text not null check (metric in ('LCP', 'FCP', 'CLS', 'INP', 'TTFB')),
  count integer not null,
  p75 double precision,
  p95 double precision,
  primary key (run_id, journey, page, metric)
);

create table if not exists public.performance_breaking_points (
  run_id uuid not null references public.performance_test_runs (id) on delete cascade,
  scenario text not null,
  sustainable_rate double precision,
  breaking_rate double precision,
  steps jsonb not null default '[]'::jsonb,
  primary key (run_id, scenario)
);

create table if not exists public.performance_regressions (
  id uuid primary key,
  run_id uuid not null references public.performance_test_runs (id) on delete cascade,
  metric text not null,
  baseline double precision,
  observed double precision,
  change_ratio double precision,
  status text not null default 'open' check (status in ('open', 'acknowledged', 'resolved')),
  detected_at timestamptz not null default now()
);
create index if not exists idx_perf_regressions_run on public.performance_regressions (run_id);
create index if not exists idx_perf_regressions_open on public.performance_regressions (status) where status = 'open';
