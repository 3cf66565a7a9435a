-- Retention and cleanup (rule 7), Realtime (rule 8), indexes for every query path (rule 9).
begin;
\ir _helpers.sql
select plan(19);

update private.settings set active_job_limit = 10, per_user_active_limit = 10, cleanup_batch_size = 2, cleanup_batches_per_run = 2;
select tests.new_user() as alice \gset
select tests.new_user() as bob \gset
select tests.submit(:'alice') as j1 \gset
select tests.submit(:'alice') as j2 \gset
select tests.submit(:'alice') as j3 \gset
select tests.submit(:'alice') as j4 \gset
select tests.submit(:'alice') as j5 \gset
select tests.submit(:'alice') as keep \gset
update public.jobs set expires_at = now() - interval '1 minute' where id <> :'keep' and owner_id = :'alice';

-- Expiry: bounded batches to the cleanup function.
delete from net.http_request_queue;
select is(public.expire_jobs(), 4, 'expire_jobs hands at most batch size x batches per run');
select results_eq($$select convert_from(body, 'UTF8')::jsonb -> 'job_ids' is not null, jsonb_array_length(convert_from(body, 'UTF8')::jsonb -> 'job_ids')
  from net.http_request_queue where url like '%/cleanup' order by id$$,
  $$values (true, 2), (true, 2)$$, 'each batch is one call to <functions_url>/cleanup');
select is((select count(*)::int from public.jobs where deleted_at is not null), 4, 'handed jobs are hidden at once');
select is((select count(*)::int from private.tasks t join public.jobs j on j.id = t.job_id
  where j.deleted_at is not null and t.status in ('pending', 'dispatched', 'running')), 0, 'their work is stopped');
select is(jsonb_array_length(public.cleanup_targets(array[:'j1', :'keep']::uuid[])), 1,
  'cleanup_targets lists only jobs that are deleted or expired');
select is(public.purge_jobs(array[:'j1', :'j2', :'keep']::uuid[]), 2, 'purge_jobs deletes only deleted or expired jobs');
select is((select count(*)::int from private.events where job_id = :'j1' and kind = 'job.purged'), 1,
  'the purge is recorded and the events outlive the job');

-- Realtime: each change is broadcast to the owner's topic and the job's topic.
select results_eq(format($$select topic, event from realtime.messages where payload #>> '{record,id}' = %L
  and event = 'INSERT' order by topic$$, :'keep'),
  format($$values ('job:%s'::text, 'INSERT'::text), ('user:%s:jobs', 'INSERT')$$, :'keep', :'alice'),
  'a new job is broadcast to job:<id> and user:<owner>:jobs');
select ok((select count(*) > 0 from realtime.messages where topic = 'job:' || :'j1' and event = 'UPDATE'),
  'job updates are broadcast');
select set_config('realtime.topic', 'user:' || :'alice' || ':jobs', true);
select tests.as_user(:'alice');
select ok((select count(*) > 0 from realtime.messages), 'the owner may join user:<own id>:jobs');
select tests.as_user(:'bob');
select is((select count(*)::int from realtime.messages), 0, 'another user may not join it');
select set_config('realtime.topic', 'job:' || :'keep', true);
select is((select count(*)::int from realtime.messages), 0, 'another user may not join the job topic');
select tests.as_user(:'alice');
select public.share_job(:'keep') as token \gset
select tests.as_user(:'bob');
select public.open_shared_job(:'token');
select is((select count(*)::int from realtime.messages), 0, 'a viewer may not join the owner''s job:<id>');
select public.shared_job(:'keep') ->> 'topic' as share_topic \gset
select set_config('realtime.topic', :'share_topic', true);
select ok((select count(*) > 0 from realtime.messages), 'a viewer may join the share''s topic');
select tests.as_admin();
update public.jobs set stage_message = 'shared change' where id = :'keep';
select ok((select count(*) > 0 from realtime.messages where topic = :'share_topic' and event = 'UPDATE'),
  'changes of a shared job are broadcast to the share''s topic');
select tests.as_user(:'alice');
select public.revoke_share(:'keep');
select tests.as_user(:'bob');
select is((select count(*)::int from realtime.messages), 0, 'after a revoke, not even the share''s topic');
select tests.as_anon();
select is(tests.error_of('select 1 from realtime.messages') is null
  and (select count(*) from realtime.messages) = 0, true, 'anon may join nothing');
select tests.as_admin();

-- Indexes for every query path (seq scans off: the tables are tiny here). A used database may
-- hold statistics of an empty jobs table, under which any index on owner_id looks as good as
-- another: give the planner 2,000 finished jobs of many owners, 200 of them alice's (rolled back with the test).
set local session_replication_role = replica;
insert into public.jobs (owner_id, filename, media, status, created_at, completed_at)
select case when g % 10 = 0 then :'alice'::uuid else gen_random_uuid() end, format('old talk %s.wav', g), jsonb_build_object('path', 'x', 'sha256', md5(g::text) || md5(g::text)),
       case when g % 5 = 0 then 'completed' else 'failed' end,
       now() - g * interval '1 minute' - interval '5 minutes', now() - g * interval '1 minute'
  from generate_series(1, 2000) g;
set local session_replication_role = origin;
analyze public.jobs;
set local enable_seqscan = off;
select results_eq($$select q, tests.plan_of(sql) ~ idx from (values
  ('own jobs newest first', format('select * from public.jobs where owner_id = %L and deleted_at is null order by created_at desc limit 10', gen_random_uuid()), 'jobs_owner_created_idx'),
  ('active jobs', $q$select count(*) from public.jobs where status in ('pending', 'processing')$q$, 'jobs_active_idx'),
  ('dedup', format($q$select * from public.jobs where owner_id = %L and media ->> 'sha256' = 'x' and status = 'completed' and deleted_at is null order by completed_at desc limit 1$q$,
    (select owner_id from public.jobs where filename = 'old talk 10.wav')), 'jobs_dedup_idx'),
  ('expiry', 'select id from public.jobs where expires_at <= now() order by expires_at limit 50', 'jobs_expires_idx'),
  ('stale', $q$select id from private.tasks where status = 'running' and heartbeat_at < now() - interval '90 seconds'$q$, 'tasks_running_heartbeat_idx'),
  ('lost dispatches', $q$select id from private.tasks where status = 'dispatched' and dispatched_at < now()$q$, 'tasks_dispatched_idx'),
  ('due retries', $q$select id from private.tasks where status = 'pending' and not_before <= now()$q$, 'tasks_pending_due_idx'),
  -- dispatch_due counts them at every dispatch: without the index, a scan of every task kept.
  ('tasks in flight', $q$select count(*) from private.tasks where status in ('dispatched', 'running')$q$, 'tasks_in_flight_idx'),
  ('tasks in flight of a job', format($q$select count(*) from private.tasks where job_id = %L and status in ('dispatched', 'running')$q$, gen_random_uuid()), 'tasks_in_flight_idx')
  ) v(q, sql, idx) order by q$$,
  $$values ('active jobs', true), ('dedup', true), ('due retries', true), ('expiry', true), ('lost dispatches', true),
    ('own jobs newest first', true), ('stale', true), ('tasks in flight', true), ('tasks in flight of a job', true)$$,
  'EXPLAIN: each query path uses its index');
select tests.as_user(:'alice');
select ok(tests.plan_of($$select * from public.jobs where filename ilike '%talk%' order by created_at desc limit 10 offset 0$$)
  ~ 'jobs_owner_created_idx', 'EXPLAIN: the REST listing under RLS uses the owner index');
select finish();
rollback;
