-- Failures and recovery (rules 5 and 7): retryable backoff with jitter, the attempt limit,
-- permanent failures, stale heartbeats, lost dispatches, due retries, events.
begin;
\ir _helpers.sql
select plan(17);

select tests.new_user() as alice \gset

-- Retryable failure: back to pending with exponential backoff and jitter.
select tests.submit(:'alice') as job \gset
select (tests.task(:'job', 'prepare')).id as t \gset
select public.claim_task(:'t') ->> 'lease' as lease \gset
select is(public.fail_task(:'t', :'lease', 'rate_limited', 'HTTP 429 from provider', true) ->> 'retrying', 'true',
  'a retryable failure is retried');
select ok((select not_before between clock_timestamp() + interval '7 seconds' and clock_timestamp() + interval '13 seconds'
  from private.tasks where id = :'t'), 'the first retry waits the backoff base (10 s) with jitter');
select is((select status from private.tasks where id = :'t'), 'pending', 'the task waits for its retry');
select is(public.claim_task(:'t'), null, 'a task is not claimable before it is due');
select is((public.tick() ->> 'dispatched')::int, 0, 'the tick leaves a retry that is not due');
update private.tasks set not_before = now() - interval '1 second' where id = :'t';
select is((public.tick() ->> 'dispatched')::int, 1, 'the tick dispatches a due retry');

-- Second failure waits longer; the third exhausts the attempts.
select public.claim_task(:'t') ->> 'lease' as lease \gset
select public.fail_task(:'t', :'lease', 'provider_timeout', 'timeout', true, '{}', 60000);
select ok((select not_before >= clock_timestamp() + interval '59 seconds' from private.tasks where id = :'t'),
  'retry_after_ms lengthens the backoff');
update private.tasks set not_before = null where id = :'t';
select public.tick();
select public.claim_task(:'t') ->> 'lease' as lease \gset
select is(public.fail_task(:'t', :'lease', 'network_error', 'reset', true), '{"ok": true, "retrying": false, "job_status": "failed"}'::jsonb,
  'the third failure is not retried');
select results_eq(format($$select status, error_code, error_message from public.jobs where id = %L$$, :'job'),
  $$values ('failed'::text, 'attempts_exhausted'::text, private.error_message('attempts_exhausted'))$$,
  'after 3 attempts the job fails with a friendly message');
select results_eq(format($$select kind, detail ->> 'error_code' from private.events where task_id = %L and kind in ('task.pending', 'task.failed') order by id$$, :'t'),
  $$values ('task.pending'::text, 'rate_limited'::text), ('task.pending', 'provider_timeout'), ('task.failed', 'network_error')$$,
  'every failure is an event with its technical cause');

-- Permanent failure: the job fails at once and its other tasks stop.
select tests.submit(:'alice') as job2 \gset
select tests.run((tests.task(:'job2', 'prepare')).id);
select public.claim_task((tests.task(:'job2', 'transcribe', '0')).id) ->> 'lease' as lease \gset
select public.fail_task((tests.task(:'job2', 'transcribe', '0')).id, :'lease', 'no_speech', 'silence', false);
select results_eq(format($$select status, error_code, error_message from public.jobs where id = %L$$, :'job2'),
  $$values ('failed'::text, 'no_speech'::text, 'We could not hear any speech in this recording.'::text)$$,
  'a permanent failure fails the job with the message from error_codes');
select results_eq(format($$select key, status from private.tasks where job_id = %L and step = 'transcribe' order by key$$, :'job2'),
  $$values ('0'::text, 'failed'::text), ('1', 'cancelled'), ('2', 'cancelled')$$, 'the job''s other tasks are stopped');

-- A stale heartbeat is recovered by the tick and retried with backoff.
select tests.submit(:'alice') as job3 \gset
select (tests.task(:'job3', 'prepare')).id as t3 \gset
select public.claim_task(:'t3') ->> 'lease' as lease3 \gset
update private.tasks set heartbeat_at = now() - interval '91 seconds' where id = :'t3';
select is((public.tick() ->> 'stale')::int, 1, 'the tick finds a task silent for more than 90 s');
select results_eq(format($$select status, error_code, not_before > clock_timestamp() from private.tasks where id = %L$$, :'t3'),
  $$values ('pending'::text, 'stale_heartbeat'::text, true)$$, 'the stale task is retried after a backoff');
select is(public.complete_task(:'t3', :'lease3', tests.output_for(tests.task(:'job3', 'prepare'))) ->> 'reason', 'stale_lease',
  'the dead worker''s late complete does nothing');

-- A dispatch pg_net could not deliver is retried; it never reached the function, so it gives
-- back its attempt (13_unreachable_functions has the rest).
update private.tasks set not_before = null where id = :'t3';
select public.tick();
insert into net._http_response (id, status_code, timed_out, error_msg)
select request_id, null, false, 'Couldn''t connect to server' from private.tasks where id = :'t3';
select is((public.tick() ->> 'lost_dispatches')::int, 1, 'the tick reads net._http_response and finds the failed dispatch');
select results_eq(format($$select status, error_code, attempts from private.tasks where id = %L$$, :'t3'),
  $$values ('pending'::text, 'dispatch_failed'::text, 1)$$, 'the lost dispatch is retried without using an attempt');

select finish();
rollback;
