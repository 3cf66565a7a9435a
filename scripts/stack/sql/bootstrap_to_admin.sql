-- A stack made before migrations ran as a non-superuser: initdb's bootstrap superuser was named
-- postgres and owned everything. The bootstrap superuser (OID 10) must stay a superuser and owns
-- the system catalogs, so it becomes supabase_admin, as on a hosted project, and a new,
-- non-superuser postgres takes over what the project made. Run once, in one transaction, by
-- `stack start` as a helper superuser (the previous supabase_admin, renamed out of the way);
-- hosted_roles.sql then gives postgres its attributes and grants.
alter role postgres rename to supabase_admin;
create role postgres login password 'postgres';

do $$
declare
  object record;
begin
  -- The project's schemas: neither Postgres's, nor an extension's, nor Supabase's services'.
  for object in
    select n.nspname from pg_namespace n
     where n.nspowner = 10
       and n.nspname not in ('information_schema', 'public', 'auth', 'storage', 'realtime')
       and n.nspname not like 'pg\_%'
       and not exists (select from pg_depend d where d.classid = 'pg_namespace'::regclass
                        and d.objid = n.oid and d.deptype = 'e')
  loop
    execute format('alter schema %I owner to postgres', object.nspname);
  end loop;

  -- Their tables, views and free-standing sequences (a column's sequence follows its table).
  for object in
    select c.oid::regclass as name, c.relkind from pg_class c
     where c.relowner = 10 and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
       and (c.relnamespace = 'public'::regnamespace
         or c.relnamespace in (select oid from pg_namespace where nspowner = 'postgres'::regrole))
       and not exists (select from pg_depend d where d.classid = 'pg_class'::regclass
                        and d.objid = c.oid and d.deptype = 'e')
       and not (c.relkind = 'S' and exists (select from pg_depend d
                 where d.classid = 'pg_class'::regclass and d.objid = c.oid
                   and d.deptype in ('a', 'i')))
  loop
    execute format('alter %s %s owner to postgres',
      case object.relkind when 'S' then 'sequence' when 'v' then 'view'
        when 'm' then 'materialized view' when 'f' then 'foreign table' else 'table' end,
      object.name);
  end loop;

  -- Their functions and procedures.
  for object in
    select p.oid::regprocedure as name from pg_proc p
     where p.proowner = 10
       and (p.pronamespace = 'public'::regnamespace
         or p.pronamespace in (select oid from pg_namespace where nspowner = 'postgres'::regrole))
       and not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass
                        and d.objid = p.oid and d.deptype = 'e')
  loop
    execute format('alter routine %s owner to postgres', object.name);
  end loop;

  -- Their types: enums, ranges, domains and free-standing composites (not arrays, not a
  -- table's row type).
  for object in
    select t.oid::regtype as name, t.typtype from pg_type t
     where t.typowner = 10 and t.typtype in ('e', 'r', 'd', 'c')
       and (t.typnamespace = 'public'::regnamespace
         or t.typnamespace in (select oid from pg_namespace where nspowner = 'postgres'::regrole))
       and (t.typrelid = 0 or (select relkind from pg_class where oid = t.typrelid) = 'c')
       and not exists (select from pg_depend d where d.classid = 'pg_type'::regclass
                        and d.objid = t.oid and d.deptype = 'e')
  loop
    execute format('alter %s %s owner to postgres',
      case object.typtype when 'd' then 'domain' else 'type' end, object.name);
  end loop;
end $$;

-- What the stack's pg_net and supabase_vault granted to postgres went to the bootstrap
-- superuser; grant it again to the new role (scripts/stack/extensions/).
do $$
begin
  if exists (select from pg_extension where extname = 'pg_net') then
    grant usage on schema net to postgres;
    grant execute on all functions in schema net to postgres;
    grant select, insert, update, delete on all tables in schema net to postgres;
    grant usage on all sequences in schema net to postgres;
  end if;
  if exists (select from pg_extension where extname = 'supabase_vault') then
    grant usage on schema vault to postgres;
    grant select, insert, update, delete on vault.secrets, vault.decrypted_secrets to postgres;
    grant execute on function vault.create_secret(text, text, text, uuid),
      vault.update_secret(uuid, text, text, text, uuid), vault._encrypt(text),
      vault._decrypt(text) to postgres;
  end if;
end $$;
