-- The active-job limit under real parallel sessions (rule 3): eight dblink connections insert
-- at the same moment (released together by a gate holding the limit's lock); exactly as many
-- as there are free slots succeed, the others get queue_full. These sessions commit, so the
-- test removes its rows at the end.
begin;
\ir _helpers.sql
create extension if not exists dblink with schema extensions;
select plan(4);

create temp table conn as
select 'c' || n as name, n, gen_random_uuid() as uid from generate_series(1, 8) n;
select format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database()) as dsn \gset

select dblink_connect('setup', :'dsn');
select dblink_exec('setup', format(
  'insert into auth.users (id, role, aud) select unnest(%L::uuid[]), ''authenticated'', ''authenticated''',
  (select array_agg(uid) from conn)));
select (select active_job_limit from private.settings)
     - (select count(*)::int from public.jobs where status in ('pending', 'processing')) as free \gset

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
select dblink_exec('gate', 'commit');

create temp table outcome as
select c.name, c.uid, (select count(*) from dblink_get_result(c.name, false) as r(id text)) as inserted,
       dblink_error_message(c.name) as error
from conn c order by n;

select is((select count(*)::int from outcome where inserted = 1), :free,
  'exactly the free slots are filled by concurrent inserts');
select is((select count(*)::int from public.jobs where owner_id in (select uid from conn)), :free,
  'the committed jobs never exceed the limit');
select ok((select bool_and(error like '%jobs are processing; try again in a few minutes.%') from outcome where inserted = 0),
  'every refused insert got the queue_full message');

select dblink_disconnect(name) from conn;
select dblink_disconnect('gate');
select dblink_exec('setup', 'set session_replication_role = replica');
select dblink_exec('setup', format('delete from private.events where job_id in (select id from public.jobs where owner_id = any (%L::uuid[]))',
  (select array_agg(uid) from conn)));
select dblink_exec('setup', 'set session_replication_role = origin');
select dblink_exec('setup', format('delete from auth.users where id = any (%L::uuid[])', (select array_agg(uid) from conn)));
select dblink_disconnect('setup');

select finish();
rollback;
