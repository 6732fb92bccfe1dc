-- RLS on every table; anon gets nothing; authenticated reads; service_role writes; re-sending a
-- run (an upsert keyed by the client's run id, as the stores do) is idempotent.
begin;
select plan(21);

select is(
  (select array_agg(c.relname::text order by c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind = 'r' and not c.relrowsecurity),
  null, 'RLS is enabled on every public table');
select is(
  (select count(*)::int from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind = 'v'
       and not coalesce('security_invoker=true' = any(c.reloptions), false)),
  0, 'every view is security_invoker');

-- Grants on every relation, views included, even with Supabase's legacy default privileges
-- (bootstrap.sql grants all on new tables to anon, authenticated and service_role).
select is(
  (select count(*)::int from information_schema.role_table_grants
     where grantee = 'anon' and table_schema = 'public' and table_name like 'performance\_%'),
  0, 'anon holds no privilege on any table or view');
select is(
  (select array_agg(distinct table_name || ': ' || privilege_type order by table_name || ': ' || privilege_type)
     from information_schema.role_table_grants
     where grantee = 'authenticated' and table_schema = 'public' and table_name like 'performance\_%'
       and privilege_type <> 'SELECT'),
  null, 'authenticated holds only SELECT on every table and view');
select is(
  (select count(*)::int from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relname like 'performance\_%' and c.relkind in ('r', 'v')
       and not has_table_privilege('authenticated', c.oid, 'SELECT')),
  0, 'authenticated can SELECT every table and view');
select is(
  (select count(*)::int from information_schema.role_table_grants
     where grantee = 'service_role' and table_schema = 'public' and privilege_type <> 'SELECT'
       and table_name in ('performance_latest_runs', 'performance_p95_trend', 'performance_open_regressions')),
  0, 'no one writes through a view');

-- WS-180's own insert (PerformanceMonitor.recordTestResults: exactly its column list) as service_role.
set local role service_role;
select lives_ok($$
  insert into public.performance_test_runs (test_type, environment, concurrent_users, duration_seconds,
    avg_response_time_ms, p95_response_time_ms, error_rate, throughput_rps, passed)
  values ('load', 'staging', 100, 600, 850.25, 1800.5, 0.0042, 120.75, true)$$, 'the spec''s insert succeeds');
select results_eq($$
  select status, profile, complete, p95_response_time_ms, error_rate from public.performance_test_runs
  where environment = 'staging' and test_type = 'load'$$,
  $$values ('passed'::text, 'custom'::text, true, 1800.50::decimal(8, 2), 0.0042::decimal(5, 4))$$,
  'perfmon''s own columns fill themselves in');
select lives_ok($$
  insert into public.performance_test_runs (test_type, environment, concurrent_users, duration_seconds,
    avg_response_time_ms, p95_response_time_ms, error_rate, throughput_rps, passed)
  values ('stress', 'production', 500, 900, 2100, 5200, 0.07, 80, false)$$, 'and a failed one');
reset role;
set local role authenticated;
select is((select status from public.performance_latest_runs where environment = 'production'), 'failed',
          'a run the spec''s code inserted shows in the review views, its status from passed');
reset role;

-- service_role writes a run and a detail row, twice: the second time changes nothing.
set local role service_role;
select lives_ok($$
  insert into public.performance_test_runs (id, test_type, environment, concurrent_users, duration_seconds, passed,
    status, profile, started_at, complete, p95_response_time_ms)
  values ('11111111-1111-4111-8111-111111111111', 'load', 'ci', 10, 12, true, 'passed', 'smoke', now(), true, 40)
  on conflict (id) do update set p95_response_time_ms = excluded.p95_response_time_ms$$, 'service_role can write runs');
select lives_ok($$
  insert into public.performance_test_runs (id, test_type, environment, concurrent_users, duration_seconds, passed,
    status, profile, started_at, complete, p95_response_time_ms)
  values ('11111111-1111-4111-8111-111111111111', 'load', 'ci', 10, 12, true, 'passed', 'smoke', now(), true, 40)
  on conflict (id) do update set p95_response_time_ms = excluded.p95_response_time_ms$$, 'and re-send the same run');
select lives_ok($$
  insert into public.performance_threshold_results (run_id, metric, expression, observed, passed)
  values ('11111111-1111-4111-8111-111111111111', 'http_req_duration', 'p(95)<2000', 40, true)
  on conflict (run_id, metric, expression) do update set observed = excluded.observed$$,
  'service_role can write details');
select is((select count(*)::int from public.performance_test_runs
           where id = '11111111-1111-4111-8111-111111111111'), 1, 're-sending a run is idempotent');
reset role;

set local role authenticated;
select is((select count(*)::int from public.performance_latest_runs where id = '11111111-1111-4111-8111-111111111111'),
          1, 'authenticated can read the review views');
select is((select count(*)::int from public.performance_threshold_results), 1, 'authenticated can read details');
select throws_ok($$delete from public.performance_test_runs$$, '42501', null, 'authenticated cannot delete');
select throws_ok($$update public.performance_test_runs set passed = false$$, '42501', null,
                 'authenticated cannot update');
reset role;

set local role anon;
select throws_ok($$select * from public.performance_test_runs$$, '42501', null, 'anon cannot read runs');
select throws_ok($$select * from public.performance_latest_runs$$, '42501', null, 'anon cannot read views');
select throws_ok($$insert into public.performance_regressions (id, run_id, metric)
                   values (gen_random_uuid(), '11111111-1111-4111-8111-111111111111', 'x')$$, '42501', null,
                 'anon cannot write');
reset role;

select * from finish();
rollback;
