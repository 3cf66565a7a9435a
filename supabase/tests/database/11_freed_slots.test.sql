-- A slot freed by a failure or a cancellation goes to the next waiting task at once, in the
-- same transaction, not at the next cron tick a minute later.
begin;
\ir _helpers.sql
select plan(4);

update private.settings set global_parallelism = 1, per_user_active_limit = 3;
select tests.new_user() as alice \gset

select tests.submit(:'alice') as first \gset
select tests.submit(:'alice') as second \gset
select tests.submit(:'alice') as third \gset
-- In submission order (the three share one transaction's created_at).
select is((select array_agg(t.status order by array_position(array[:'first', :'second', :'third']::uuid[], j.id)) from private.tasks t join public.jobs j on j.id = t.job_id
           where t.job_id in (:'first', :'second', :'third')),
  array['dispatched', 'pending', 'pending'], 'one slot: the first job runs, the others wait');

-- A permanent failure ends the first job; the second takes its slot.
select public.claim_task((tests.task(:'first', 'prepare')).id) ->> 'lease' as lease \gset
select public.fail_task((tests.task(:'first', 'prepare')).id, :'lease', 'unreadable_media', 'bad file', false);
select is((tests.task(:'second', 'prepare')).status, 'dispatched', 'a failed task''s slot is handed on at once');

-- A retryable failure waits for its backoff; meanwhile its slot serves the third job.
select public.claim_task((tests.task(:'second', 'prepare')).id) ->> 'lease' as lease \gset
select public.fail_task((tests.task(:'second', 'prepare')).id, :'lease', 'rate_limited', 'HTTP 429', true);
select is((tests.task(:'third', 'prepare')).status, 'dispatched', 'a task waiting for its retry frees its slot');

-- Cancelling the job that holds the slot hands it to the retry once it is due.
update private.tasks set not_before = now() - interval '1 second' where id = (tests.task(:'second', 'prepare')).id;
select tests.as_user(:'alice');
select public.cancel_job(:'third');
select tests.as_admin();
select is((tests.task(:'second', 'prepare')).status, 'dispatched', 'a cancelled job''s slot is handed on at once');

select * from finish();
rollback;
