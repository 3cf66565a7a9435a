-- What the cleanup function is told to remove: a doomed job's folder and the paths it
-- references elsewhere, minus anything a live job still uses.
begin;
\ir _helpers.sql
select plan(6);

update private.settings set active_job_limit = 10, per_user_active_limit = 10;
select tests.new_user() as alice \gset

-- Submits a job (as its owner, under RLS) whose media is at `path`.
create function tests.submit_at(uid uuid, path text) returns uuid
language plpgsql as $$
declare
  job uuid;
begin
  perform tests.as_user(uid);
  insert into public.jobs (filename, media, options)
  values ('talk.mp4', jsonb_build_object('path', path, 'bytes', 10, 'duration', 1200,
    'sha256', encode(extensions.digest(gen_random_uuid()::text, 'sha256'), 'hex')), '{}')
  returning id into job;
  perform tests.as_admin();
  return job;
end;
$$;

-- Completes a job's prepare task with chunks at `chunk_paths`.
create function tests.prepared(job uuid, chunk_paths text[]) returns jsonb
language plpgsql as $$
declare
  task_id uuid := (tests.task(job, 'prepare')).id;
  claim jsonb := public.claim_task(task_id);
begin
  return public.complete_task(task_id, (claim ->> 'lease')::uuid, jsonb_build_object(
    'duration', 600 * cardinality(chunk_paths),
    'chunks', (select jsonb_agg(jsonb_build_object('index', n - 1, 'path', p, 'start', (n - 1) * 600,
      'end', n * 600, 'overlap_before', 0) order by n) from unnest(chunk_paths) with ordinality u(p, n))));
end;
$$;

-- Someone else's live job, so "what live jobs use" is never trivially empty.
select tests.new_user() as bob \gset
select tests.submit_at(:'bob', :'bob' || '/z/manifest.json') as z \gset
select tests.prepared(:'z', array[:'bob' || '/z/c0.m4a']);

select tests.submit_at(:'alice', :'alice' || '/a/manifest.json') as a \gset
select tests.prepared(:'a', array[:'alice' || '/a/c0.m4a', :'alice' || '/x/c1.m4a']);
update public.jobs set deleted_at = now() where id = :'a';

select is(public.cleanup_targets(array[:'a']::uuid[]) -> 0,
  jsonb_build_object('job_id', :'a', 'bucket', 'media', 'prefix', :'alice' || '/a/',
    'paths', jsonb_build_array(:'alice' || '/x/c1.m4a')),
  'a deleted job: its folder, and the chunks it references outside it');

select tests.submit_at(:'alice', :'alice' || '/b/manifest.json') as b \gset
select tests.prepared(:'b', array[:'alice' || '/x/c1.m4a']);
select is(public.cleanup_targets(array[:'a']::uuid[]) #> '{0,paths}', '[]'::jsonb,
  'a chunk a live job also uses is not listed');
select is(public.cleanup_targets(array[:'a']::uuid[]) #>> '{0,prefix}', :'alice' || '/a/',
  'the folder still goes when no live job uses it');

select tests.submit_at(:'alice', :'alice' || '/c/manifest.json') as c \gset
select tests.prepared(:'c', array[:'alice' || '/a/c0.m4a']);
select is(public.cleanup_targets(array[:'a']::uuid[]) #>> '{0,prefix}', null,
  'a folder holding a chunk of a live job is kept');

select tests.submit_at(:'alice', :'alice' || '/b/other.mp4') as d \gset
update public.jobs set expires_at = now() - interval '1 minute' where id = :'d';
select is(public.cleanup_targets(array[:'d']::uuid[]) #>> '{0,prefix}', null,
  'an expired job sharing its folder with a live job leaves the folder');
select is(jsonb_array_length(public.cleanup_targets(array[:'b', :'c']::uuid[])), 0,
  'live jobs are never targets');

select finish();
rollback;
