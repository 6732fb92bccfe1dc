-- Sharded runs (issue #18): N independent runners (a CI matrix, a Kubernetes Indexed Job) each run
-- a slice of one run and store their part here under the shared run id. A part is the shard's
-- measurements as recorded (mergeable histograms, browser samples with their intervals, the facts
-- of how it ran), never a verdict: the run is judged once, on the merged parts, when all N are in
-- or at a deadline (`perfmon merge`), and written to performance_test_runs like any other run.
-- (run_id, shard) is the key, so a retried shard replaces its own part and never counts twice.
-- run_id has no foreign key: parts arrive before the run they make exists.
create table if not exists public.performance_run_shards (
  run_id uuid not null,
  shard integer not null check (shard >= 1),
  shards integer not null check (shard <= shards),
  host text,
  stored_at timestamptz not null default now(),
  part jsonb not null,
  primary key (run_id, shard)
);

alter table public.performance_run_shards enable row level security;
revoke all on table public.performance_run_shards from public, anon, authenticated, service_role;
grant select on table public.performance_run_shards to authenticated;
grant select, insert, update, delete on table public.performance_run_shards to service_role;
drop policy if exists "authenticated can read" on public.performance_run_shards;
create policy "authenticated can read" on public.performance_run_shards for select to authenticated using (true);
drop policy if exists "service role can write" on public.performance_run_shards;
create policy "service role can write" on public.performance_run_shards
  for all to service_role using (true) with check (true);
