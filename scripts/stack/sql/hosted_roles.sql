-- What a hosted project's `postgres` role is and holds (README, "The database as hosted", with
-- sources). Run as the superuser (supabase_admin) at every `stack start`, after the base, so a
-- stack made before this file existed gets it too; every statement is idempotent.

-- Role attributes (supabase/postgres 10000000000000_demote-postgres.sql) and memberships
-- (grant_auth_roles_to_postgres, grant_pg_monitor_to_postgres,
-- grant_predefined_roles_to_postgres). No membership in the services' admin roles
-- (revoke_admin_roles_from_postgres; supabase/realtime reduce_grants_postgres_user).
alter role postgres nosuperuser createdb createrole replication bypassrls login
  password 'postgres';
grant anon, authenticated, service_role, pg_monitor, pg_read_all_data, pg_signal_backend
  to postgres;
do $$
declare
  admin text;
begin
  foreach admin in array array['supabase_auth_admin', 'supabase_storage_admin',
    'supabase_realtime_admin', 'supabase_admin']
  loop
    if pg_has_role('postgres', admin, 'member') then
      execute format('revoke %I from postgres', admin);
    end if;
  end loop;
end $$;

-- postgres owns the database (so the public schema) and the extensions schema.
alter database postgres owner to postgres;
alter schema extensions owner to postgres;
alter publication supabase_realtime owner to postgres;

-- The tables and functions of Auth, Storage and Realtime belong to their services' roles, so
-- postgres changes them only through its grants and supautils.
do $$
declare
  service record;
  object record;
begin
  for service in
    select * from (values ('auth', 'supabase_auth_admin'), ('storage', 'supabase_storage_admin'),
      ('realtime', 'supabase_realtime_admin')) as s (schema_name, owner_name)
  loop
    execute format('alter schema %I owner to %I', service.schema_name, service.owner_name);
    for object in
      select c.oid::regclass as name from pg_class c
       where c.relnamespace = service.schema_name::regnamespace and c.relkind in ('r', 'p', 'v')
         and pg_get_userbyid(c.relowner) <> service.owner_name
    loop
      execute format('alter table %s owner to %I', object.name, service.owner_name);
    end loop;
    for object in
      select p.oid::regprocedure as name from pg_proc p
       where p.pronamespace = service.schema_name::regnamespace
         and pg_get_userbyid(p.proowner) <> service.owner_name
    loop
      execute format('alter routine %s owner to %I', object.name, service.owner_name);
    end loop;
  end loop;
end $$;

-- Auth: everything on its tables, no CREATE in the schema (demote-postgres,
-- update-auth-permissions, revoke_admin_roles_from_postgres).
revoke create on schema auth from postgres;
grant usage on schema auth to postgres;
grant all on all tables in schema auth to postgres;
grant all on all sequences in schema auth to postgres;
grant all on all routines in schema auth to postgres;
-- Storage: the same, with grant option on the schema and the buckets and objects
-- (grant_storage_schema_to_postgres_with_grant_option,
-- tmp_grant_storage_tables_to_postgres_with_grant_option).
revoke create on schema storage from postgres;
grant usage on schema storage to postgres with grant option;
grant all on all tables in schema storage to postgres with grant option;
grant all on all sequences in schema storage to postgres;
grant all on all routines in schema storage to postgres;
-- Realtime: read and send messages only (supabase/realtime reduce_grants_postgres_user).
revoke create on schema realtime from postgres;
grant usage on schema realtime to postgres with grant option;
revoke all on table realtime.messages from postgres;
grant select, insert on table realtime.messages to postgres with grant option;

-- What postgres creates in public is the API roles' to use, as Supabase's defaults grant
-- (RLS and explicit revokes decide the rest).
alter default privileges for role postgres in schema public
  grant all on tables to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on sequences to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on functions to anon, authenticated, service_role;
