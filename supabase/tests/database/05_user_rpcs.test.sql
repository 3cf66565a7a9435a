-- User RPCs (rule 6): cancel, retry from the last checkpoint, delete, share and open_shared,
-- queue_status, estimate, stats; RLS for viewers and strangers.
begin;
\ir _helpers.sql
select plan(42);

update private.settings set active_job_limit = 10, per_user_active_limit = 10;
select tests.new_user() as alice \gset
select tests.new_user() as bob \gset
select tests.new_user() as carol \gset

-- Cancel: a processing job; its running task learns it at the next heartbeat.
select tests.submit(:'alice') as job \gset
select (tests.task(:'job', 'prepare')).id as t \gset
select public.claim_task(:'t') ->> 'lease' as lease \gset
select tests.as_user(:'bob');
select is(tests.error_of(format('select public.cancel_job(%L)', :'job')) ->> 'hint', 'not_found', 'another user cannot cancel');
select tests.as_user(:'alice');
select is((public.cancel_job(:'job')).status, 'cancelled', 'the owner cancels a processing job');
select is(tests.error_of(format('select public.cancel_job(%L)', :'job')) ->> 'hint', 'invalid_state', 'a cancelled job cannot be cancelled again');
select tests.as_admin();
select is(public.heartbeat_task(:'t', :'lease', 0.5, null), '{"continue": false}'::jsonb, 'the running task is told to stop at its heartbeat');
select is(public.claim_task(:'t'), null, 'a task of a cancelled job cannot be claimed');

-- Retry: resumes from the checkpoint, completed chunks are not redone.
select tests.submit(:'alice') as job2 \gset
select tests.run((tests.task(:'job2', 'prepare')).id);
select tests.run((tests.task(:'job2', 'transcribe', '0')).id);
select public.claim_task((tests.task(:'job2', 'transcribe', '1')).id) ->> 'lease' as lease \gset
select public.fail_task((tests.task(:'job2', 'transcribe', '1')).id, :'lease', 'provider_refused', 'bad request', false);
select tests.as_user(:'alice');
select is(tests.error_of(format('select public.retry_job(%L)', :'job')) ->> 'hint', 'invalid_state', 'only a failed job can be retried');
select results_eq(format($$select status, error_code, attempts from public.retry_job(%L)$$, :'job2'),
  $$values ('pending'::text, null::text, 1)$$, 'retry sends a failed job back to pending');
select tests.as_admin();
select results_eq(format($$select step, key, status, attempts from private.tasks where job_id = %L order by step, key$$, :'job2'),
  $$values ('prepare'::text, ''::text, 'completed'::text, 1), ('transcribe', '0', 'completed', 1),
    ('transcribe', '1', 'dispatched', 1), ('transcribe', '2', 'dispatched', 1)$$,
  'completed steps and chunks are kept; the failed and stopped ones run again');
select is(tests.drive(:'job2'), 'completed', 'the retried job completes');
select is((select count(*)::int from private.events where task_id = (tests.task(:'job2', 'transcribe', '0')).id and kind = 'task.running'), 1,
  'the completed chunk ran once');

-- Share: the owner gets a token; a viewer who opens it reads the job and its outputs only.
select tests.as_user(:'bob');
select is(tests.error_of(format('select public.share_job(%L)', :'job2')) ->> 'hint', 'not_found', 'only the owner can share');
select tests.as_user(:'alice');
select public.share_job(:'job2') as token \gset
select is(public.share_job(:'job2'), :'token', 'sharing again returns the same token');
select ok(length(:'token') >= 32, 'the token is long and random');
select tests.as_admin();
select is((select count(*)::int from private.job_shares), 1, 'the token is kept in a private table');
select tests.as_user(:'bob');
select is((select count(*)::int from public.jobs where id = :'job2'), 0, 'before opening the link, bob sees nothing');
select is(public.open_shared_job(:'token'), :'job2'::uuid, 'open_shared_job returns the job');
select results_eq(format($$select (select count(*)::int from public.jobs where id = %1$L), (select count(*)::int from public.job_outputs where job_id = %1$L)$$, :'job2'),
  $$values (0, 2)$$, 'the viewer reads the outputs, not the row (its media and owner)');
select is((select array_agg(k order by k) from jsonb_object_keys(public.shared_job(:'job2')) k),
  array['completed_at', 'created_at', 'deleted_at', 'error_code', 'error_message', 'expires_at', 'filename',
    'id', 'progress', 'stage', 'stage_message', 'started_at', 'status', 'topic', 'translate_to'],
  'shared_job gives the viewer what the shared page shows: no media, options (but which output languages are translations) or owner');
select is((select count(*)::int from public.jobs where id = :'job'), 0, 'the viewer sees no other job of the owner');
select is(tests.error_of(format('select public.cancel_job(%L)', :'job2')) ->> 'hint', 'not_found', 'a viewer cannot change the job');
select is(tests.error_of($$select public.open_shared_job('nope')$$) ->> 'hint', 'share_not_found', 'a wrong token is refused');
select tests.as_user(:'carol');
select is((select count(*)::int from public.job_outputs where job_id = :'job2'), 0, 'a user without the link reads no outputs');
select is(tests.error_of(format('select public.shared_job(%L)', :'job2')) ->> 'hint', 'not_found', 'nor the shared job');

-- Revoke: the token and every viewer's access end at once; a new link works again.
select tests.as_user(:'bob');
select is(tests.error_of(format('select public.revoke_share(%L)', :'job2')) ->> 'hint', 'not_found', 'only the owner can revoke');
select tests.as_user(:'alice');
select public.revoke_share(:'job2');
select tests.as_user(:'bob');
select is(tests.error_of(format('select public.shared_job(%L)', :'job2')) ->> 'hint', 'not_found', 'a revoked viewer reads nothing');
select is((select count(*)::int from public.job_outputs where job_id = :'job2'), 0, 'nor its outputs');
select is(tests.error_of(format('select public.open_shared_job(%L)', :'token')) ->> 'hint', 'share_not_found', 'the revoked token opens nothing');
select tests.as_user(:'alice');
select public.share_job(:'job2') as token2 \gset
select isnt(:'token2'::text, :'token'::text, 'sharing after a revoke makes a new token');
select tests.as_user(:'bob');
select is(public.open_shared_job(:'token2'), :'job2'::uuid, 'the new token opens the job');

-- Expiry: a job past its retention is invisible at once, before cleanup removes it.
select tests.as_admin();
update public.jobs set expires_at = now() - interval '1 second' where id = :'job2';
select tests.as_user(:'bob');
select is(tests.error_of(format('select public.shared_job(%L)', :'job2')) ->> 'hint', 'not_found', 'an expired job is gone for its viewer');
select is(tests.error_of(format('select public.open_shared_job(%L)', :'token2')) ->> 'hint', 'share_not_found', 'its link opens nothing');
select tests.as_user(:'alice');
select is((select count(*)::int from public.jobs where id = :'job2'), 0, 'and for its owner');
select tests.as_admin();
update public.jobs set expires_at = now() + interval '7 days' where id = :'job2';

-- Delete: hidden at once, handed to cleanup immediately.
select tests.as_user(:'alice');
select public.delete_job(:'job2');
select is((select count(*)::int from public.jobs where id = :'job2'), 0, 'a deleted job disappears at once');
select tests.as_admin();
select is((select convert_from(body, 'UTF8')::jsonb from net.http_request_queue where url like '%/cleanup' order by id desc limit 1),
  jsonb_build_object('job_ids', jsonb_build_array(:'job2')), 'delete hands the job to the cleanup function');

-- Stats and estimates.
select tests.as_user(:'alice');
select is(public.my_stats() - 'average_processing_seconds',
  '{"total": 1, "by_status": {"pending": 0, "processing": 0, "completed": 0, "failed": 0, "cancelled": 1}, "media_minutes": 0}'::jsonb,
  'my_stats counts the caller''s visible jobs by status');
select tests.as_admin();
update public.jobs set started_at = completed_at - interval '150 seconds' where id = :'job2';
-- Estimates read the most recent completed jobs of the whole database: this file's history is
-- made the most recent (finished in the future), so whatever a used database holds is older.
select tests.new_user() as past \gset
set local session_replication_role = replica;
insert into public.jobs (owner_id, filename, media, status, started_at, completed_at)
select :'past', 'history.mp4', tests.media(:'past', null, 1500), 'completed',
       now() + interval '1 hour' - interval '150 seconds', now() + interval '1 hour'
from generate_series(1, 200);
set local session_replication_role = origin;
select tests.submit(:'carol') as job3 \gset
select tests.as_user(:'carol');
insert into public.jobs (filename, media) values ('b.mp4', tests.media(:'carol', null, null)) returning id as job4 \gset
select is(public.estimate_job(:'job3'), '{"seconds_remaining": 150, "basis": "size_bucket", "bucket": "0-100MB"}'::jsonb,
  'estimate: the average processing time of past jobs in the same size bucket (the seed''s buckets)');
select is(public.estimate_job(:'job4'), '{"seconds_remaining": 150, "basis": "size_bucket", "bucket": "0-100MB"}'::jsonb,
  'estimate without a duration: the same bucket');
select tests.as_admin();
update public.jobs set media = media || '{"bytes": 600000000}' where id = :'job3';
select tests.as_user(:'carol');
select is(public.estimate_job(:'job3'), '{"seconds_remaining": 120, "basis": "history", "bucket": "500MB+"}'::jsonb,
  'no past job in the 500MB+ bucket: processing seconds per media second times the duration');
select tests.as_admin();
select is(private.size_bucket(99999999) || ' ' || private.size_bucket(100e6) || ' ' || private.size_bucket(500e6),
  '0-100MB 100-500MB 500MB+', 'bucket edges');
select tests.as_user(:'carol');
select tests.as_user(:'alice');
select is(tests.error_of(format('select public.estimate_job(%L)', :'job3')) ->> 'hint', 'not_found', 'no estimate for another user''s job');
-- The stage checklist: steps that apply, one translate entry per language, chunk counts.
select tests.submit(:'alice', '{"translate_to": ["fr", "de"]}') as job5 \gset
select tests.run((tests.task(:'job5', 'prepare')).id);
select tests.run((tests.task(:'job5', 'transcribe', '0')).id);
select tests.as_user(:'alice');
select is(public.job_steps(:'job5'), '[
  {"step": "prepare", "label": "Prepare", "unit": null, "language": null, "total": 1, "completed": 1, "running": 0},
  {"step": "transcribe", "label": "Transcribe", "unit": "chunks", "language": null, "total": 3, "completed": 1, "running": 2},
  {"step": "merge", "label": "Merge", "unit": null, "language": null, "total": 0, "completed": 0, "running": 0},
  {"step": "translate_part", "label": "Translation", "unit": "parts", "language": null, "total": 0, "completed": 0, "running": 0},
  {"step": "translate", "label": "Translate", "unit": null, "language": "de", "total": 0, "completed": 0, "running": 0},
  {"step": "translate", "label": "Translate", "unit": null, "language": "fr", "total": 0, "completed": 0, "running": 0},
  {"step": "render", "label": "Render subtitles", "unit": null, "language": null, "total": 0, "completed": 0, "running": 0}]'::jsonb,
  'job_steps: the checklist of the steps that apply, with planned, completed and running tasks');
select tests.as_user(:'carol');
select is(tests.error_of(format('select public.job_steps(%L)', :'job5')) ->> 'hint', 'not_found', 'no checklist of another user''s job');
select finish();
rollback;
