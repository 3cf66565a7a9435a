-- The step API (rule 5): claim, heartbeat, complete; fan-out within caps; plan as data;
-- progress; a duplicate dispatch executes once; an event for every transition.
begin;
\ir _helpers.sql
select plan(23);

update private.settings set per_job_parallelism = 2;
select tests.new_user() as alice \gset
select tests.submit(:'alice', '{"translate_to": ["fr", "de"], "summarize": true}') as job \gset
select (tests.task(:'job', 'prepare')).id as prepare \gset

select tests.as_user(:'alice');
select is(tests.error_of(format('select public.claim_task(%L)', :'prepare')) ->> 'sqlstate', '42501',
  'a user cannot call claim_task');
select tests.as_service();
select public.claim_task(:'prepare') as claim \gset
select tests.as_admin();
select is((:'claim'::jsonb) - 'lease' - 'task' - 'job',
  '{"input": {}, "heartbeat_seconds": 5, "max_media_seconds": 14400}'::jsonb,
  'claim returns prepare''s input ({}), how often to heartbeat and the longest recording (the settings)');
select is((:'claim'::jsonb) -> 'task', jsonb_build_object('id', :'prepare', 'job_id', :'job', 'step', 'prepare',
  'chunk_index', null, 'attempt', 1, 'contract', 1), 'claim returns the task (contract version 1)');
select is((:'claim'::jsonb) #>> '{job,filename}', 'talk.mp4', 'claim returns the job');
select is(public.claim_task(:'prepare'), null, 'a duplicate delivery claims nothing');
select results_eq(format($$select status, stage, stage_message from public.jobs where id = %L$$, :'job'),
  $$values ('processing'::text, 'prepare'::text, 'Preparing the recording'::text)$$, 'claiming starts the job');

select is(public.heartbeat_task(:'prepare', gen_random_uuid(), 0.5, 'x'), '{"continue": false}'::jsonb,
  'a heartbeat with a wrong lease is told to stop');
select pg_sleep(1.05);
select is(public.heartbeat_task(:'prepare', (:'claim'::jsonb ->> 'lease')::uuid, 0.5, 'Reading the manifest'),
  '{"continue": true}'::jsonb, 'a heartbeat with the lease continues');
select results_eq(format($$select progress, stage_message from public.jobs where id = %L$$, :'job'),
  $$values (2::smallint, 'Reading the manifest'::text)$$, 'a heartbeat writes progress and message to the job');
select public.heartbeat_task(:'prepare', (:'claim'::jsonb ->> 'lease')::uuid, 0.9, 'Almost');
select is((select stage_message from public.jobs where id = :'job'), 'Reading the manifest',
  'a second heartbeat within a second does not write the job (throttled)');

select is(public.complete_task(:'prepare', gen_random_uuid(), '{}'), '{"ok": false, "reason": "stale_lease"}'::jsonb,
  'complete with a stale lease does nothing and says so');
select is(public.complete_task(:'prepare', (:'claim'::jsonb ->> 'lease')::uuid, tests.output_for(tests.task(:'job', 'prepare'))),
  '{"ok": true, "job_status": "processing"}'::jsonb, 'complete stores the checkpoint');
select results_eq(format($$select key, status from private.tasks where job_id = %L and step = 'transcribe' order by key$$, :'job'),
  $$values ('0'::text, 'dispatched'::text), ('1', 'dispatched'), ('2', 'pending')$$,
  'transcribe fans out one task per chunk, dispatched within the per-job cap');
select is((select count(*)::int from private.tasks where job_id = :'job' and step in ('merge', 'render')), 0,
  'merge is not planned before every chunk is transcribed');
select is((public.claim_task((tests.task(:'job', 'transcribe', '1')).id)) -> 'input' -> 'chunk',
  '{"index": 1, "path": "c1.m4a", "start": 597, "end": 1200, "overlap_before": 3}'::jsonb,
  'transcribe gets its chunk');
select is(tests.run((tests.task(:'job', 'transcribe', '0')).id) ->> 'ok', 'true', 'a chunk completes');
select is((tests.task(:'job', 'transcribe', '2')).status, 'dispatched', 'a freed slot dispatches the next chunk');

update private.settings set per_job_parallelism = 4, global_parallelism = 2;
select tests.drive(:'job');
select results_eq(format($$select step, key, status from private.tasks where job_id = %L order by step, key$$, :'job'),
  $$values ('prepare'::text, ''::text, 'completed'::text), ('transcribe', '0', 'completed'),
    ('transcribe', '1', 'running'), ('transcribe', '2', 'completed')$$,
  'nothing after transcribe runs while a chunk is still running');
select public.complete_task((tests.task(:'job', 'transcribe', '1')).id, (tests.task(:'job', 'transcribe', '1')).lease,
  '{"transcript": {"text": "chunk 1"}}');
select is(private.task_input(tests.task(:'job', 'merge')) -> 'transcribe' -> 1,
  '{"chunk": {"index": 1, "path": "c1.m4a", "start": 597, "end": 1200, "overlap_before": 3}, "transcript": {"text": "chunk 1"}}'::jsonb,
  'merge gets every chunk with its transcript, in order');
select is((select count(*)::int from private.tasks where job_id = :'job' and status in ('dispatched', 'running')), 1,
  'the global cap limits tasks in flight');
update private.settings set global_parallelism = 8;
select tests.run((tests.task(:'job', 'merge')).id);
select results_eq(format($$select step, key from private.tasks where job_id = %L and status = 'dispatched' order by step, key$$, :'job'),
  $$values ('summarize'::text, ''::text), ('translate', 'de'), ('translate', 'fr')$$,
  'after merge, translate (once per language) and summarize run in parallel');
select tests.drive(:'job');
select is(private.task_input(tests.task(:'job', 'render')),
  '{"merge": {"transcript": {"text": "merged"}},
    "translate": [{"language": "de", "transcript": {"text": "in de"}}, {"language": "fr", "transcript": {"text": "in fr"}}],
    "summarize": {"summary": "short", "chapters": [], "keyPoints": []}}'::jsonb,
  'render gets the transcript, every translation and the summary');
select results_eq(format($$select status, progress, (select count(*)::int from public.job_outputs where job_id = %1$L)
  from public.jobs where id = %1$L$$, :'job'),
  $$values ('completed'::text, 100::smallint, 2)$$, 'the last step completes the job with its outputs');

select finish();
rollback;
