-- Calibrations (issue #16): how many concurrent browser journeys a machine holds before its own
-- numbers drift (`perfmon calibrate`), stored with the machine's identity. The pytest plugin reads
-- the newest one of its machine class and warns when a run's -n exceeds it; `levels` keeps every
-- concurrency tried (drift against one journey, share of samples quarantined, why it did not hold).
create table if not exists public.performance_calibrations (
  id uuid primary key default gen_random_uuid(),
  created_at timestamptz not null default now(),
  host text not null,
  machine_class text not null,
  cpus integer not null check (cpus > 0),
  cpu_model text,
  memory_gb double precision,
  platform text,
  suite text not null,
  level integer not null check (level >= 0),
  margin double precision not null check (margin > 0),
  levels jsonb not null default '[]'::jsonb
);

create index if not exists idx_perf_calibrations_machine
  on public.performance_calibrations (machine_class, created_at desc);

alter table public.performance_calibrations enable row level security;
revoke all on table public.performance_calibrations from public, anon, authenticated, service_role;
grant select on table public.performance_calibrations to authenticated;
grant select, insert, update, delete on table public.performance_calibrations to service_role;
drop policy if exists "authenticated can read" on public.performance_calibrations;
create policy "authenticated can read" on public.performance_calibrations for select to authenticated using (true);
drop policy if exists "service role can write" on public.performance_calibrations;
create policy "service role can write" on public.performance_calibrations
  for all to service_role using (true) with check (true);
