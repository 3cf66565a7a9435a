-- Shared by every *.test.sql file (included with \ir inside its transaction, so it is rolled
-- back with the test). Creates users, switches the caller the way the REST gateway does, and
-- drives tasks through the step API with canned outputs.
create extension if not exists pgtap with schema extensions;
create schema tests;

-- Every file starts from the settings as shipped (column defaults), whatever a used database
-- holds (a dev stack's caps for its offline engine, say): a file changes only what it tests.
-- A file whose other sessions commit (dblink) sets committing_sessions first and changes the
-- settings it needs from those sessions, since this row lock would block them.
\if :{?committing_sessions}
\else
do $$
begin
  execute (select 'update private.settings set ' || string_agg(format('%I = default', a.attname), ', ')
           from pg_attribute a
           where a.attrelid = 'private.settings'::regclass and a.attnum > 0 and not a.attisdropped
             and a.attname <> 'singleton');
end;
$$;
\endif
grant usage on schema tests to anon, authenticated, service_role;

create function tests.new_user() returns uuid
language sql as $$
  insert into auth.users (id, role, aud, is_anonymous) values (gen_random_uuid(), 'authenticated', 'authenticated', true)
  returning id
$$;

-- Acts as a signed-in user (role authenticated, JWT claims) until tests.as_admin().
create function tests.as_user(uid uuid) returns void
language plpgsql as $$
begin
  perform set_config('request.jwt.claims', json_build_object('sub', uid, 'role', 'authenticated')::text, true);
  perform set_config('role', 'authenticated', true);
end;
$$;

create function tests.as_anon() returns void
language plpgsql as $$
begin
  perform set_config('request.jwt.claims', '{"role": "anon"}', true);
  perform set_config('role', 'anon', true);
end;
$$;

create function tests.as_service() returns void
language plpgsql as $$
begin
  perform set_config('request.jwt.claims', '{"role": "service_role"}', true);
  perform set_config('role', 'service_role', true);
end;
$$;

create function tests.as_admin() returns void
language plpgsql as $$
begin
  perform set_config('role', 'postgres', true);
  perform set_config('request.jwt.claims', '', true);
end;
$$;
grant execute on all functions in schema tests to anon, authenticated, service_role;

create function tests.media(uid uuid, sha text default null, duration numeric default 1200) returns jsonb
language sql as $$
  select jsonb_build_object('path', uid || '/upload-1/manifest.json', 'bytes', 52428800,
    'sha256', coalesce(sha, encode(extensions.digest(gen_random_uuid()::text, 'sha256'), 'hex')),
    'duration', duration)
$$;

-- Submits a job as `uid` through the client path (insert under RLS) and returns its id.
create function tests.submit(uid uuid, options jsonb default '{}', sha text default null) returns uuid
language plpgsql as $$
declare
  job uuid;
begin
  perform tests.as_user(uid);
  insert into public.jobs (filename, media, options)
  values ('talk.mp4', tests.media(uid, sha), options) returning id into job;
  perform tests.as_admin();
  return job;
end;
$$;

create function tests.task(job uuid, step_name text, task_key text default '') returns private.tasks
language sql as $$ select * from private.tasks where job_id = job and step = step_name and key = task_key $$;

-- A plausible output of each step.
create function tests.output_for(task private.tasks) returns jsonb
language sql as $$
  select case task.step
    when 'prepare' then jsonb_build_object('duration', 1500, 'chunks', jsonb_build_array(
      jsonb_build_object('index', 0, 'path', 'c0.m4a', 'start', 0, 'end', 600, 'overlap_before', 0),
      jsonb_build_object('index', 1, 'path', 'c1.m4a', 'start', 597, 'end', 1200, 'overlap_before', 3),
      jsonb_build_object('index', 2, 'path', 'c2.m4a', 'start', 1197, 'end', 1500, 'overlap_before', 3)))
    when 'transcribe' then jsonb_build_object('transcript', jsonb_build_object('text', 'chunk ' || task.key))
    when 'merge' then jsonb_build_object('transcript', jsonb_build_object('text', 'merged'))
    when 'translate_part' then jsonb_build_object('texts', jsonb_build_array('t' || task.key))
    when 'translate' then jsonb_build_object('language', task.key, 'transcript', jsonb_build_object('text', 'in ' || task.key))
    when 'summarize_part' then jsonb_build_object('summary', 'part ' || task.key, 'chapters', '[]'::jsonb, 'keyPoints', '[]'::jsonb)
    when 'summarize' then jsonb_build_object('summary', 'short', 'chapters', '[]'::jsonb, 'keyPoints', '[]'::jsonb)
    when 'render' then jsonb_build_object('outputs', jsonb_build_array(
      jsonb_build_object('language', 'en', 'format', 'srt', 'content', E'1\n00:00:00,000 --> 00:00:02,000\nHi\n'),
      jsonb_build_object('language', 'en', 'format', 'vtt', 'content', E'WEBVTT\n\n00:00.000 --> 00:02.000\nHi\n')))
  end
$$;

-- Claims and completes one task with its canned output; returns complete_task's answer.
create function tests.run(task_id uuid) returns jsonb
language plpgsql as $$
declare
  claim jsonb := public.claim_task(task_id);
begin
  if claim is null then return null; end if;
  return public.complete_task(task_id, (claim ->> 'lease')::uuid,
    tests.output_for((select t from private.tasks t where t.id = task_id)));
end;
$$;

-- Runs every dispatched task of a job until none is left; returns the job's status.
create function tests.drive(job uuid) returns text
language plpgsql as $$
declare
  next_task uuid;
begin
  loop
    select id into next_task from private.tasks where job_id = job and status = 'dispatched' limit 1;
    exit when next_task is null;
    perform tests.run(next_task);
  end loop;
  return (select status from public.jobs where id = job);
end;
$$;

-- The error a statement raises, as {sqlstate, message, hint, detail}; null when it succeeds.
-- Runs as the current role, in a subtransaction that is rolled back on error.
create function tests.error_of(statement text) returns jsonb
language plpgsql as $$
declare
  state text; msg text; hint text; detail text;
begin
  execute statement;
  return null;
exception when others then
  get stacked diagnostics state = returned_sqlstate, msg = message_text,
    hint = pg_exception_hint, detail = pg_exception_detail;
  return jsonb_build_object('sqlstate', state, 'message', msg, 'hint', hint, 'detail', detail);
end;
$$;
grant execute on function tests.error_of(text) to anon, authenticated, service_role;

-- The plan of a query, as one text (for the index tests).
create function tests.plan_of(query text) returns text
language plpgsql as $$
declare
  line text;
  result text := '';
begin
  for line in execute 'explain (costs off) ' || query loop
    result := result || line || E'\n';
  end loop;
  return result;
end;
$$;

-- The error a client insert raises (null when accepted), as the current role.
create function tests.submit_error(filename text, media jsonb, options jsonb default '{}') returns jsonb
language plpgsql as $$
declare
  state text; msg text; hint text; detail text;
begin
  insert into public.jobs (filename, media, options) values (filename, media, options);
  return null;
exception when others then
  get stacked diagnostics state = returned_sqlstate, msg = message_text,
    hint = pg_exception_hint, detail = pg_exception_detail;
  return jsonb_build_object('sqlstate', state, 'message', msg, 'hint', hint, 'detail', detail);
end;
$$;
grant execute on function tests.submit_error(text, jsonb, jsonb) to anon, authenticated, service_role;
