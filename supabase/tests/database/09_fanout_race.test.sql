-- The last chunks of a fan-out completing at the same moment in two sessions still plan the
-- next step exactly once. A gate holds the job row, which complete_task writes after
-- planning, so both completions are in flight together. These sessions commit, so the test
-- removes its rows at the end.
begin;
\ir _helpers.sql
create extension if not exists dblink with schema extensions;
select plan(3);

select format('host=127.0.0.1 port=%s dbname=%s user=postgres', current_setting('port'), current_database()) as dsn \gset
select gen_random_uuid() as uid \gset

-- Setup, committed: a job with prepare done and both transcribe tasks claimed by "us", so the
-- stack's functions (if any are listening) find nothing to claim.
select dblink_connect('setup', :'dsn');
select dblink_exec('setup', format($$insert into auth.users (id, role, aud) values (%L, 'authenticated', 'authenticated')$$, :'uid'));
select job::text as job from dblink('setup', format($$
  insert into public.jobs (owner_id, filename, media) values (%L, 'race.mp4',
    jsonb_build_object('path', %L || '/race/manifest.json', 'bytes', 10,
      'sha256', encode(extensions.digest(gen_random_uuid()::text, 'sha256'), 'hex')))
  returning id$$, :'uid', :'uid')) as t(job uuid) \gset
select dblink_exec('setup', format($q$
  do $do$
  declare
    t private.tasks;
    claim jsonb;
  begin
    select * into t from private.tasks where job_id = %L and step = 'prepare';
    claim := public.claim_task(t.id);
    perform public.complete_task(t.id, (claim ->> 'lease')::uuid, jsonb_build_object('duration', 1200,
      'chunks', jsonb_build_array(
        jsonb_build_object('index', 0, 'path', 'c0.m4a', 'start', 0, 'end', 600),
        jsonb_build_object('index', 1, 'path', 'c1.m4a', 'start', 597, 'end', 1200, 'overlap_before', 3))));
  end
  $do$$q$, :'job'));
create temp table leases as
select * from dblink('setup', format($$
  select t.id, (public.claim_task(t.id) ->> 'lease')::uuid from private.tasks t
  where t.job_id = %L and t.step = 'transcribe' and t.status = 'dispatched' order by t.chunk_index$$, :'job'))
  as l(task_id uuid, lease uuid);
select is((select count(*)::int from leases where lease is not null), 2, 'both chunks are claimed');

select dblink_connect('gate', :'dsn');
select dblink_exec('gate', 'begin');
select * from dblink('gate', format('select id::text from public.jobs where id = %L for update', :'job')) as t(x text);

select dblink_connect('c' || row_number() over (), :'dsn') from leases;
select dblink_send_query('c' || row_number() over (order by task_id), format(
  $$select public.complete_task(%L, %L, '{"transcript": {"language": "en", "segments": []}}')::text$$, task_id, lease))
from leases;
select pg_sleep(0.3);
select dblink_exec('gate', 'commit');
select count(*) from dblink_get_result('c1') as r(x text);
select count(*) from dblink_get_result('c2') as r(x text);

select is((select count(*)::int from private.tasks where job_id = :'job' and step = 'transcribe' and status = 'completed'),
  2, 'both completions went through');
select is((select count(*)::int from private.tasks where job_id = :'job' and step = 'merge'),
  1, 'merge is planned once, by whichever completion came second');

select dblink_exec('setup', format('delete from public.jobs where id = %L', :'job'));
select dblink_exec('setup', format('delete from auth.users where id = %L', :'uid'));
select dblink_disconnect(name) from unnest(array['setup', 'gate', 'c1', 'c2']) name;
select finish();
rollback;
