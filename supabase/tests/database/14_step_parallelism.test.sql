-- step_parallelism caps one step's tasks in flight across all jobs (dev and test cap transcribe
-- at 1 for the offline engine, which decodes on this machine's cores); other steps
-- and the other caps are unaffected, and bad values are refused.
begin;
\ir _helpers.sql
select plan(7);

update private.settings set step_parallelism = '{"transcribe": 1}';
select tests.new_user() as alice \gset
select tests.new_user() as bob \gset

select tests.submit(:'alice') as job \gset
select tests.run((tests.task(:'job', 'prepare')).id);
select is((select array_agg(status order by key) from private.tasks where job_id = :'job' and step = 'transcribe'),
  array['dispatched', 'pending', 'pending'], 'one chunk in flight, although per_job_parallelism is 4');

select tests.submit(:'bob') as other \gset
select is((tests.task(:'other', 'prepare')).status, 'dispatched', 'another step of another job is not held back');
select tests.run((tests.task(:'other', 'prepare')).id);
select is((select count(*)::int from private.tasks where step = 'transcribe' and status in ('dispatched', 'running')),
  1, 'the cap holds across jobs');

select tests.run((tests.task(:'job', 'transcribe', '0')).id);
select is((select count(*)::int from private.tasks where step = 'transcribe' and status = 'dispatched'),
  1, 'a finished chunk hands its place to a waiting one at once');

update private.settings set step_parallelism = '{}';
select private.dispatch_due();
select is((select count(*)::int from private.tasks where step = 'transcribe' and status = 'dispatched'),
  5, 'without the cap every waiting chunk goes (within the other caps)');

select throws_ok($$update private.settings set step_parallelism = '{"transcribe": 0}'$$, '23514', null,
  'a cap below 1 is refused');
select throws_ok($$update private.settings set step_parallelism = '{"transcribe": "one"}'$$, '23514', null,
  'a cap that is not a number is refused');

select finish();
rollback;
