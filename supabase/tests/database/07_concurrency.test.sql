-- The active-job limit under real parallel sessions (rule 3): eight dblink connections insert
-- at the same moment (released together by a gate holding the limit's lock) with fewer slots
-- free than inserts; a sampler counting active jobs throughout sees the count reach the limit
-- and never pass it, the others get queue_full. The invariant is the peak sampled under the
-- race, not rows committed: on a used database the live engine may free slots meanwhile.
-- These sessions commit, so the test removes its rows and restores the limit at the end.
begin;
\set committing_sessions true
\ir _helpers.sql
create extension if not exists dblink with schema extensions;
select plan(4);

create temp table conn as
select 'c' || n as name, n, gen_random_uuid() as uid from generate_series(1, 8) n;
-- dblink from postgres, which is not a superuser, must sign in with its password (PGPASSWORD, as
-- pg_prove was given it), as on a hosted project.
\getenv db_password PGPASSWORD
select format('host=127.0.0.1 port=%s dbname=%s user=postgres password=%s', current_setting('port'),
  current_database(), :'db_password') as dsn \gset

select dblink_connect('setup', :'dsn');
select dblink_exec('setup', format(
  'insert into auth.users (id, role, aud) select unnest(%L::uuid[]), ''authenticated'', ''authenticated''',
  (select array_agg(uid) from conn)));
-- Four slots free, whatever the database holds.
select (select active_job_limit from private.settings) as old_limit \gset
select dblink_exec('setup', 'update private.settings set active_job_limit = 4 + (select count(*)
  from public.jobs where status in (''pending'', ''processing''))');
select (select active_job_limit from private.settings) as job_limit \gset

-- The sampler: the number of active jobs every 2 ms for 1.5 s, each count a fresh snapshot.
select dblink_connect('sampler', :'dsn');
select dblink_exec('sampler', $q$create function pg_temp.peak_active() returns integer
  language plpgsql as $f$
  declare peak integer := 0; n integer; until timestamptz := clock_timestamp() + interval '1.5 seconds';
  begin
    while clock_timestamp() < until loop
      select count(*) into n from public.jobs where status in ('pending', 'processing');
      peak := greatest(peak, n);
      perform pg_sleep(0.002);
    end loop;
    return peak;
  end $f$$q$);

-- The gate: holds the limit's lock so every insert below waits at the same point.
select dblink_connect('gate', :'dsn');
select dblink_exec('gate', 'begin');
select * from dblink('gate', $$select pg_advisory_xact_lock(hashtext('ai_subs.active_jobs'))::text$$) as t(x text);

select dblink_connect(name, :'dsn') from conn order by n;
select dblink_exec(name, 'set role authenticated'),
       dblink_exec(name, format('set request.jwt.claims = %L', json_build_object('sub', uid, 'role', 'authenticated')))
from conn order by n;
select dblink_send_query(name, format(
  'insert into public.jobs (filename, media) values (''race.mp4'', %L) returning id::text',
  jsonb_build_object('path', uid || '/u/a.json', 'bytes', 1000, 'sha256', encode(extensions.digest(uid::text, 'sha256'), 'hex'))))
from conn order by n;
select pg_sleep(0.3);
select is((select count(*)::int from pg_stat_activity where wait_event_type = 'Lock' and query like 'insert into public.jobs%race.mp4%'),
  8, 'all eight inserts are in flight at once, waiting on the limit');
select dblink_send_query('sampler', 'select pg_temp.peak_active()');
select dblink_exec('gate', 'commit');

create temp table outcome as
select c.name, c.uid, (select count(*) from dblink_get_result(c.name, false) as r(id text)) as inserted,
       dblink_error_message(c.name) as error
from conn c order by n;

-- Other jobs of a used database may finish during the race and free slots: the invariant is
-- that the active count never passes the limit and that the four slots free at the start are
-- all taken by the race.
select ok((select peak from dblink_get_result('sampler') as r(peak integer)) <= :job_limit
    and (select count(*) from outcome where inserted = 1) >= 4,
  'under the race the active jobs never pass the limit, and every free slot is taken');
-- The live engine fails these jobs (their manifests do not exist) and hands their slots on, so
-- under a slow machine later inserts of the race may find a slot again: how many are refused
-- depends on timing; that each accepted one is committed and each refused one is queue_full
-- does not.
select ok((select count(*) filter (where inserted = 1) >= 4
             and count(*) filter (where inserted = 1) = (select count(*) from public.jobs where owner_id in (select uid from conn))
           from outcome),
  'the concurrent inserts that are accepted are committed');
select ok((select coalesce(bool_and(error like '%jobs are processing; try again in a few minutes.%'), true) from outcome where inserted = 0),
  'every refused insert got the queue_full message');

select dblink_disconnect(name) from conn;
select dblink_disconnect('gate');
select dblink_disconnect('sampler');
select dblink_exec('setup', format('update private.settings set active_job_limit = %s', :'old_limit'));
select dblink_exec('setup', 'set session_replication_role = replica');
select dblink_exec('setup', format('delete from private.events where job_id in (select id from public.jobs where owner_id = any (%L::uuid[]))',
  (select array_agg(uid) from conn)));
select dblink_exec('setup', 'set session_replication_role = origin');
select dblink_exec('setup', format('delete from auth.users where id = any (%L::uuid[])', (select array_agg(uid) from conn)));
select dblink_disconnect('setup');

select finish();
rollback;
