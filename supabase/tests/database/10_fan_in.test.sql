-- Fan-in under real parallel sessions: the last two chunks of a job complete at the same time
-- in two sessions; the step after them (merge) must still be planned exactly once. Without
-- serialising completions per job each session sees the other chunk still running and the job
-- stalls with every chunk done (found by the parallel benchmark). These sessions commit, so
-- the test removes its rows at the end; dispatch is switched off meanwhile so no function runs.
begin;
\set committing_sessions true
\ir _helpers.sql
create extension if not exists dblink with schema extensions;
select plan(3);

-- dblink from postgres, which is not a superuser, must sign in with its password (PGPASSWORD, as
-- pg_prove was given it), as on a hosted project.
\getenv db_password PGPASSWORD
select format('host=127.0.0.1 port=%s dbname=%s user=postgres password=%s', current_setting('port'),
  current_database(), :'db_password') as dsn \gset
select gen_random_uuid() as uid, gen_random_uuid() as job, gen_random_uuid() as t0, gen_random_uuid() as t1,
       gen_random_uuid() as l0, gen_random_uuid() as l1 \gset
select (select functions_url_secret from private.settings) as url_secret \gset

select dblink_connect('setup', :'dsn');
select dblink_exec('setup', 'set session_replication_role = replica');
select dblink_exec('setup', 'update private.settings set functions_url_secret = ''fan-in-test-no-dispatch''');
select dblink_exec('setup', format('insert into auth.users (id, role, aud) values (%L, ''authenticated'', ''authenticated'')', :'uid'));
select dblink_exec('setup', format($$insert into public.jobs (id, owner_id, filename, media, options, status)
  values (%L, %L, 'fan-in.mp4', jsonb_build_object('path', %L || '/u/m.json', 'bytes', 1, 'sha256', repeat('a', 64)),
          '{"translate_to": [], "summarize": false}', 'processing')$$, :'job', :'uid', :'uid'));
select dblink_exec('setup', format($$insert into private.tasks (job_id, step, key, chunk_index, params, status, output, completed_at)
  values (%L, 'prepare', '', null, '{}', 'completed', '{"duration": 1200, "chunks": [
    {"index": 0, "path": "c0", "start": 0, "end": 600, "overlap_before": 0},
    {"index": 1, "path": "c1", "start": 600, "end": 1200, "overlap_before": 0}]}', now())$$, :'job'));
select dblink_exec('setup', format($$insert into private.tasks (id, job_id, step, key, chunk_index, params, status, lease, attempts, claimed_at, heartbeat_at)
  values (%L, %L, 'transcribe', '0', 0, '{"index": 0}', 'running', %L, 1, now(), now()),
         (%L, %L, 'transcribe', '1', 1, '{"index": 1}', 'running', %L, 1, now(), now())$$,
  :'t0', :'job', :'l0', :'t1', :'job', :'l1'));
select dblink_exec('setup', 'set session_replication_role = origin');

-- Session a completes chunk 0 and holds its transaction open; session b completes chunk 1.
select dblink_connect('a', :'dsn');
select dblink_connect('b', :'dsn');
select dblink_exec('a', 'begin');
select * from dblink('a', format($$select public.complete_task(%L, %L, '{"transcript": {"text": "zero"}}')::text$$,
  :'t0', :'l0')) as r(answer text);
select dblink_send_query('b', format($$select public.complete_task(%L, %L, '{"transcript": {"text": "one"}}')::text$$,
  :'t1', :'l1'));
select pg_sleep(0.3);
select dblink_exec('a', 'commit');
create temp table b_answer as select answer::jsonb from dblink_get_result('b') as r(answer text);

select is((select answer ->> 'ok' from b_answer), 'true', 'the second completion succeeds');
select is((select count(*)::int from private.tasks where job_id = :'job' and step = 'transcribe' and status = 'completed'),
  2, 'both chunks are completed');
select is((select count(*)::int from private.tasks where job_id = :'job' and step = 'merge'), 1,
  'the merge after them is planned once');

select dblink_disconnect('a');
select dblink_disconnect('b');
select dblink_exec('setup', format('update private.settings set functions_url_secret = %L', :'url_secret'));
select dblink_exec('setup', 'set session_replication_role = replica');
select dblink_exec('setup', format('delete from private.events where job_id = %L', :'job'));
select dblink_exec('setup', format('delete from public.jobs where id = %L', :'job'));
select dblink_exec('setup', 'set session_replication_role = origin');
select dblink_exec('setup', format('delete from private.tasks where job_id = %L', :'job'));
select dblink_exec('setup', format('delete from auth.users where id = %L', :'uid'));
select dblink_disconnect('setup');

select finish();
rollback;
