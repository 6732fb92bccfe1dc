-- The capacity search's estimate of where the SLO breaks, with its 95 % confidence interval (issue
-- #15): read off the steps' margins near the boundary, beside the bracket (sustainable_rate,
-- breaking_rate) the trials confirmed.
alter table public.performance_breaking_points add column if not exists rate_estimate double precision;
alter table public.performance_breaking_points add column if not exists rate_low double precision;
alter table public.performance_breaking_points add column if not exists rate_high double precision;
