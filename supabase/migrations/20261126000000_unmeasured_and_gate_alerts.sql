-- A run that could not be measured (issue #14's exit code 3): the client was saturated, the target
-- stopped answering, or a threshold had no samples. It is neither passed nor failed, so the deploy
-- gate and the history's baselines can tell it apart from a slow release.
alter table public.performance_test_runs drop constraint if exists performance_test_runs_status_check;
alter table public.performance_test_runs add constraint performance_test_runs_status_check
  check (status in ('passed', 'failed', 'interrupted', 'partial', 'unmeasured'));

-- When `perfmon gate` first posted a refusal of this run to PERFMON_ALERT_WEBHOOK: a retried or second
-- deploy job finds it set and does not post again (one alert per run).
alter table public.performance_test_runs add column if not exists gate_alerted_at timestamptz;
