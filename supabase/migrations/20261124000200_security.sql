-- Row-level security and explicit grants on every perfmon table.
--
-- New Supabase projects no longer grant table access by default, so every grant is written
-- here: `authenticated` reads, `service_role` (the CI writer, with the service key) writes,
-- `anon` gets nothing. RLS is enabled everywhere; service_role also bypasses RLS in Supabase,
-- the write policies make the intent explicit anyway.

do $$
declare
  t text;
begin
  foreach t in array array[
    'performance_test_runs', 'performance_metric_series', 'performance_metric_windows',
    'performance_threshold_results', 'performance_resource_samples', 'performance_web_vitals',
    'performance_breaking_points', 'performance_regressions'
  ] loop
    execute format('alter table public.%I enable row level security', t);
    execute format('revoke all on table public.%I from public, anon, authenticated', t);
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
