-- Capacity planning (issue #15): what a stress run or a capacity search found, in rows people can
-- query and chart.
--
-- * performance_breaking_points gains what the sustainable rate means: about how many concurrent
--   users it serves at the SLO (from the run's own iteration time and think time), what limited the
--   search (the server, the load generator, or a bound), and what broke the SLO.
-- * performance_capacity_steps: one row per step of a search (or per window of a stress ramp): the
--   scheduled and achieved rate, users in flight, p50/p95/p99, errors, whether it held, and why not.
-- * performance_scalability_fits: a Universal Scalability Law fit (sigma, kappa, lambda with their
--   95 % intervals, R^2, the predicted peak), or why the data could not support one.
alter table public.performance_breaking_points add column if not exists users double precision;
alter table public.performance_breaking_points add column if not exists limited_by text;
alter table public.performance_breaking_points add column if not exists broken_by text;

create table if not exists public.performance_capacity_steps (
  run_id uuid not null references public.performance_test_runs (id) on delete cascade,
  scenario text not null,
  step integer not null check (step >= 0),
  rate double precision,
  achieved_rate double precision,
  concurrency double precision,
  p50 double precision,
  p95 double precision,
  p99 double precision,
  error_rate double precision,
  held boolean not null,
  broken_by text,
  suspect text,
  primary key (run_id, scenario, step)
);

create table if not exists public.performance_scalability_fits (
  run_id uuid not null references public.performance_test_runs (id) on delete cascade,
  scenario text not null,
  sigma double precision,
  sigma_low double precision,
  sigma_high double precision,
  kappa double precision,
  kappa_low double precision,
  kappa_high double precision,
  lambda double precision,
  lambda_low double precision,
  lambda_high double precision,
  r_squared double precision,
  peak_concurrency double precision,
  peak_throughput double precision,
  points integer not null default 0,
  refused text,
  primary key (run_id, scenario)
);

do $$
declare
  t text;
begin
  foreach t in array array['performance_capacity_steps', 'performance_scalability_fits'] loop
    execute format('alter table public.%I enable row level security', t);
    execute format('revoke all on table public.%I from public, anon, authenticated, service_role', t);
    execute format('grant select on table public.%I to authenticated', t);
    execute format('grant select, insert, update, delete on table public.%I to service_role', t);
    execute format('drop policy if exists "authenticated can read" on public.%I', t);
    execute format('create policy "authenticated can read" on public.%I for select to authenticated using (true)', t);
    execute format('drop policy if exists "service role can write" on public.%I', t);
    execute format(
      'create policy "service role can write" on public.%I for all to service_role using (true) with check (true)', t);
  end loop;
end
$$;
