-- private.events explains what happened to a job, so it is append-only; but it must not grow
-- forever. The hourly retention run prunes events older than events_retention, in a bounded
-- batch, and nothing else may delete or change them.
begin;
\ir _helpers.sql
select plan(5);

select tests.new_user() as alice \gset
select tests.submit(:'alice') as job \gset

select throws_ok(format($$delete from private.events where job_id = %L$$, :'job'),
  'P0001', 'private.events is append-only', 'recent events cannot be deleted');
select throws_ok(format($$update private.events set kind = 'x' where job_id = %L$$, :'job'),
  'P0001', 'private.events is append-only', 'events cannot be changed');

-- Age one job's events past retention (the trigger does not guard inserts or replica writes).
set local session_replication_role = replica;
update private.events set created_at = now() - interval '31 days' where job_id = :'job';
set local session_replication_role = origin;
select tests.submit(:'alice') as fresh \gset

select ok(public.prune_events() >= 1, 'the retention run prunes old events');
select is((select count(*)::int from private.events where job_id = :'job'), 0, 'events past retention are gone');
select ok((select count(*) from private.events where job_id = :'fresh') > 0, 'recent events stay');

select * from finish();
rollback;
