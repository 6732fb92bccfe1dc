-- A run that could not be measured (issue #14's exit code 3): the client was saturated, the target
-- stopped answering, or a threshold had no samples. It is neither passed nor failed, so the deploy
-- gate and the history's baselines can tell it apart from a slow release.
alter table public.performance_test_runs drop constraint if exists performance_test_runs_status_check;
alter table public.performance_test_runs add constraint performance_test_runs_status_check
  check (status in ('passed', 'failed', 'interrupted', 'partial', 'unmeasured'));
