-- When the step functions cannot be reached at all (connection refused, a timeout, HTTP 429,
-- 502, 503 or 504 from the platform), the task is not at fault: its dispatch is retried without
-- using up an attempt, for up to unreachable_patience, so a platform outage of a few minutes
-- delays jobs instead of failing them. A function that was reached and failed still counts.
begin;
\ir _helpers.sql
select plan(14);

select tests.new_user() as alice \gset

-- Answers the latest dispatch of a task the way pg_net records it.
create function tests.answer(task uuid, http_status integer, error text default null,
                             did_time_out boolean default false) returns void
language sql as $$
  insert into net._http_response (id, status_code, timed_out, error_msg)
  select t.request_id, http_status, did_time_out, error from private.tasks t where t.id = task
$$;

-- Makes a waiting retry due and lets the tick dispatch it again.
create function tests.redispatch(task uuid) returns void
language sql as $$
  update private.tasks t set not_before = now() - interval '1 second' where t.id = task;
  select public.tick();
$$;

select tests.submit(:'alice') as job \gset
select (tests.task(:'job', 'prepare')).id as t \gset
select is((tests.task(:'job', 'prepare')).attempts, 1, 'the first dispatch is attempt 1');

-- Connection refused: waiting, not failing, and the attempt is given back.
select tests.answer(:'t', null, 'Couldn''t connect to server');
select is((public.tick() ->> 'lost_dispatches')::int, 1, 'the tick finds the refused dispatch');
select results_eq(format($$select status, attempts, unreachable_since is not null from private.tasks where id = %L$$, :'t'),
  $$values ('pending'::text, 0, true)$$, 'a refused dispatch waits and uses up no attempt');
select ok((select not_before between clock_timestamp() + interval '7 seconds' and clock_timestamp() + interval '13 seconds'
  from private.tasks where id = :'t'), 'the first wait is the backoff base (10 s) with jitter');
select results_eq(format($$select status, stage_message from public.jobs where id = %L$$, :'job'),
  $$values ('pending'::text, 'Waiting for the processing service to come back; nothing is lost.'::text)$$,
  'the job says it is waiting for the service');

-- Many more unreachable dispatches than max_attempts (3), with every kind of "not reached".
select tests.redispatch(:'t');
select tests.answer(:'t', 503);
select public.tick();
select tests.redispatch(:'t');
select tests.answer(:'t', 502);
select public.tick();
select tests.redispatch(:'t');
select tests.answer(:'t', null, 'Timeout was reached', true);
select public.tick();
select tests.redispatch(:'t');
select tests.answer(:'t', 429);
select public.tick();
select results_eq(format($$select status, attempts from private.tasks where id = %L$$, :'t'),
  $$values ('pending'::text, 0)$$, 'five unreachable dispatches later the task still waits, attempts unused');
update private.tasks set unreachable_since = clock_timestamp() - interval '5 minutes' where id = :'t';
select tests.redispatch(:'t');
select tests.answer(:'t', null, 'Couldn''t connect to server');
select public.tick();
select ok((select not_before between clock_timestamp() + interval '44 seconds' and clock_timestamp() + interval '76 seconds'
  from private.tasks where id = :'t'), 'a long outage is retried about every unreachable_retry_seconds (60 s)');

-- The service is back: the claim ends the streak, and the job goes on.
select tests.redispatch(:'t');
select public.claim_task(:'t') ->> 'lease' as lease \gset
select results_eq(format($$select status, attempts, unreachable_since from private.tasks where id = %L$$, :'t'),
  $$values ('running'::text, 1, null::timestamptz)$$, 'the claim ends the outage streak');
select public.complete_task(:'t', :'lease', tests.output_for(tests.task(:'job', 'prepare')));
select is((select status from public.jobs where id = :'job'), 'processing', 'the job continues after the outage');

-- Reached and failed (HTTP 500), or accepted and never claimed: those use up attempts as before.
select (tests.task(:'job', 'transcribe', '0')).id as c0 \gset
select tests.answer(:'c0', 500);
select public.tick();
select results_eq(format($$select status, attempts, unreachable_since from private.tasks where id = %L$$, :'c0'),
  $$values ('pending'::text, 1, null::timestamptz)$$, 'an HTTP 500 from the function uses up its attempt');
select (tests.task(:'job', 'transcribe', '1')).id as c1 \gset
select tests.answer(:'c1', 202);
update private.tasks set dispatched_at = now() - interval '91 seconds' where id = :'c1';
select public.tick();
select results_eq(format($$select status, attempts from private.tasks where id = %L$$, :'c1'),
  $$values ('pending'::text, 1)$$, 'accepted but never claimed uses up its attempt');

-- Unreachable for longer than unreachable_patience (30 minutes): the job fails with a message
-- that says so; a retry by the user starts afresh.
select tests.submit(:'alice') as job2 \gset
select (tests.task(:'job2', 'prepare')).id as t2 \gset
select tests.answer(:'t2', null, 'Couldn''t connect to server');
select public.tick();
update private.tasks set unreachable_since = clock_timestamp() - interval '31 minutes' where id = :'t2';
select tests.redispatch(:'t2');
select tests.answer(:'t2', 503);
select public.tick();
select results_eq(format($$select status, error_code, error_message from public.jobs where id = %L$$, :'job2'),
  $$values ('failed'::text, 'service_unreachable'::text, private.error_message('service_unreachable'))$$,
  'past the patience the job fails as service_unreachable');
select tests.as_user(:'alice');
select public.retry_job(:'job2');
select tests.as_admin();
select results_eq(format($$select status, attempts, unreachable_since from private.tasks where id = %L$$, :'t2'),
  $$values ('dispatched'::text, 1, null::timestamptz)$$, 'a retry starts with fresh attempts and patience');
select is((select count(*)::int from private.events where task_id = :'t' and kind = 'task.pending'
           and detail ->> 'error_code' = 'dispatch_failed'), 6, 'every unreachable dispatch is an event');

select finish();
rollback;
