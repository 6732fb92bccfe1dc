-- `perfmon baseline accept RUN_ID` marks an intended change (issue #13): later runs of the same test
-- type, environment, profile, target and scenarios are compared only with this run and the runs
-- after it, so an accepted slowdown stops being reported as a regression.
alter table public.performance_test_runs add column if not exists baseline_accepted_at timestamptz;
