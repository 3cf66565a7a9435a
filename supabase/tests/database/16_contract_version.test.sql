-- The step contract version: a claim names the contract its task was planned under (version 1
-- for every task so far); a step function that does not know it hands the task back with
-- release_task, which retries it later without using an attempt and never fails the job.
begin;
\ir _helpers.sql
select plan(10);

select tests.new_user() as alice \gset
select tests.submit(:'alice') as job \gset
select (tests.task(:'job', 'prepare')).id as t \gset
select public.claim_task(:'t') as claim \gset
select is((:'claim'::jsonb -> 'task' ->> 'contract')::int, 1, 'a claim carries its task''s contract version, 1');
select :'claim'::jsonb ->> 'lease' as lease \gset
select is((select attempts from private.tasks where id = :'t'), 1, 'the dispatch took an attempt');

select is(public.release_task(:'t', :'lease', 'contract 1 unknown to this function') ->> 'ok', 'true',
  'release_task takes the task back');
select results_eq(format($$select status, attempts, lease is null, error_code from private.tasks where id = %L$$, :'t'),
  $$values ('pending'::text, 0, true, 'contract_unknown'::text)$$,
  'the task waits again, its attempt given back');
select ok((select not_before between clock_timestamp() + interval '20 seconds' and clock_timestamp() + interval '40 seconds'
  from private.tasks where id = :'t'), 'it is retried after about 30 s');
select is((select status from public.jobs where id = :'job'), 'processing', 'the job is not failed');
select is(public.release_task(:'t', :'lease', 'again') ->> 'reason', 'stale_lease', 'a stale lease releases nothing');

-- Released any number of times, the job never fails: attempts are never used up.
update private.tasks set not_before = null where id = :'t';
select public.tick();
select public.claim_task(:'t') ->> 'lease' as lease \gset
select public.release_task(:'t', :'lease', 'unknown', 1000);
update private.tasks set not_before = null where id = :'t';
select public.tick();
select public.claim_task(:'t') ->> 'lease' as lease \gset
select public.release_task(:'t', :'lease', 'unknown', 1000);
update private.tasks set not_before = null where id = :'t';
select public.tick();
select public.claim_task(:'t') ->> 'lease' as lease \gset
select public.release_task(:'t', :'lease', 'unknown', 1000);
select results_eq(format($$select t.status, t.attempts, j.status from private.tasks t join public.jobs j on j.id = t.job_id where t.id = %L$$, :'t'),
  $$values ('pending'::text, 0, 'processing'::text)$$, 'released past max_attempts, still waiting, job alive');
select ok((select count(*) from private.events where task_id = :'t' and kind = 'task.pending'
  and detail ->> 'error_code' = 'contract_unknown') >= 4, 'each release is an event with its reason');

select ok(not has_function_privilege('authenticated', 'public.release_task(uuid, uuid, text, integer)', 'execute')
  and not has_function_privilege('anon', 'public.release_task(uuid, uuid, text, integer)', 'execute'),
  'only the step functions (service_role) may release a task');

select finish();
rollback;
