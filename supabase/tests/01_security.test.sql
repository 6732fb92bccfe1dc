-- RLS on every table; anon gets nothing; authenticated reads; service_role writes; re-sending a
-- run (an upsert keyed by the client's run id, as the stores do) is idempotent.
begin;
select plan(13);

select is(
  (select array_agg(c.relname::text order by c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind = 'r' and not c.relrowsecurity),
  null, 'RLS is enabled on every public table');
select is(
  (select count(*)::int from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind = 'v'
       and not coalesce('security_invoker=true' = any(c.reloptions), false)),
  0, 'every view is security_invoker');

-- service_role writes a run and a detail row, twice: the second time changes nothing.
set local role service_role;
select lives_ok($$
  insert into public.performance_test_runs (id, test_type, environment, concurrent_users, duration_seconds, passed,
    status, profile, started_at, complete, p95_response_time)
  values ('11111111-1111-4111-8111-111111111111', 'load', 'ci', 10, 12, true, 'passed', 'smoke', now(), true, 40)
  on conflict (id) do update set p95_response_time = excluded.p95_response_time$$, 'service_role can write runs');
select lives_ok($$
  insert into public.performance_test_runs (id, test_type, environment, concurrent_users, duration_seconds, passed,
    status, profile, started_at, complete, p95_response_time)
  values ('11111111-1111-4111-8111-111111111111', 'load', 'ci', 10, 12, true, 'passed', 'smoke', now(), true, 40)
  on conflict (id) do update set p95_response_time = excluded.p95_response_time$$, 'and re-send the same run');
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
