-- Test-only stand-in for what a Supabase project already has: its roles and the auth schema.
-- Applied before the migrations by scripts/test.sh; never part of supabase/migrations/.
do $$
begin
  if not exists (select from pg_roles where rolname = 'anon') then create role anon nologin noinherit; end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
end
$$;
grant anon, authenticated, service_role to authenticator;
create schema if not exists auth;
create or replace function auth.role() returns text language sql stable
  as $$ select nullif(current_setting('request.jwt.claim.role', true), '')::text $$;
create or replace function auth.uid() returns uuid language sql stable
  as $$ select nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
grant usage on schema auth to anon, authenticated, service_role;
grant usage on schema public to anon, authenticated, service_role;
-- Supabase's legacy default privileges (projects created before the change still have them): every
-- table, view, sequence and function created later is granted to all three roles. The migrations
-- must take back what they do not mean to give; 01_security.test.sql checks they do.
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
-- pgTAP in its own schema, as Supabase keeps extensions: its helper views must not sit in public.
create schema if not exists extensions;
create extension if not exists pgtap schema extensions;
grant usage on schema extensions to anon, authenticated, service_role;
