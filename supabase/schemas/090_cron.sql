-- Recovery and retention, run by pg_cron: a tick every minute (stale heartbeats, dispatches
-- that were never claimed, due retries) and hourly expiry of jobs past retention.

-- One pass of recovery. Rows another transaction holds are skipped, not waited for.
create function public.tick() returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  cfg private.settings;
  stale integer := 0;
  lost integer := 0;
  item record;
begin
  select * into cfg from private.settings;

  -- Claimed, then silent for longer than stale_after_seconds: the function died. Each task is
  -- locked after its job (see lock_job_of_task) and checked again once locked.
  for item in
    select t.id from private.tasks t
    where t.status = 'running'
      and t.heartbeat_at < clock_timestamp() - make_interval(secs => cfg.stale_after_seconds)
  loop
    continue when not private.lock_job_of_task(item.id, false);
    select t.id, t.heartbeat_at into item from private.tasks t
    where t.id = item.id and t.status = 'running'
      and t.heartbeat_at < clock_timestamp() - make_interval(secs => cfg.stale_after_seconds)
    for update skip locked;
    continue when item.id is null;
    perform private.fail_task_now(item.id, 'stale_heartbeat',
      format('no heartbeat since %s', item.heartbeat_at), true,
      jsonb_build_object('heartbeat_at', item.heartbeat_at));
    stale := stale + 1;
  end loop;

  -- Sent but never claimed: pg_net reported an error, a timeout or a non-2xx answer, or the
  -- function accepted it and never called claim_task. No answer at all, a connection error, a
  -- timeout or the platform's 429/502/503/504 mean the function was never reached (an outage,
  -- not the task's fault: see fail_task_now's `unreachable`).
  for item in
    select t.id from private.tasks t
    left join net._http_response r on r.id = t.request_id
    where t.status = 'dispatched'
      and (r.timed_out or r.error_msg is not null or r.status_code not between 200 and 299
           or t.dispatched_at < clock_timestamp() - make_interval(secs => cfg.stale_after_seconds))
  loop
    continue when not private.lock_job_of_task(item.id, false);
    select t.id, t.dispatched_at, r.id as response_id, r.status_code, r.timed_out, r.error_msg into item
    from private.tasks t
    left join net._http_response r on r.id = t.request_id
    where t.id = item.id and t.status = 'dispatched'
      and (r.timed_out or r.error_msg is not null or r.status_code not between 200 and 299
           or t.dispatched_at < clock_timestamp() - make_interval(secs => cfg.stale_after_seconds))
    for update of t skip locked;
    continue when item.id is null;
    perform private.fail_task_now(item.id, 'dispatch_failed',
      coalesce(item.error_msg, 'HTTP ' || item.status_code, 'not claimed since ' || item.dispatched_at),
      true, jsonb_strip_nulls(jsonb_build_object('status_code', item.status_code,
        'timed_out', item.timed_out, 'error', item.error_msg)),
      unreachable => item.response_id is null or item.timed_out or item.error_msg is not null
                     or item.status_code in (429, 502, 503, 504));
    lost := lost + 1;
  end loop;

  return jsonb_build_object('stale', stale, 'lost_dispatches', lost, 'dispatched', private.dispatch_due());
end;
$$;

-- Hands jobs past retention (and deleted jobs whose cleanup got lost) to the cleanup
-- function, in bounded batches. Returns how many jobs were handed over.
create function public.expire_jobs() returns integer
language plpgsql security definer set search_path = ''
as $$
declare
  cfg private.settings;
  batch uuid[];
  handed integer := 0;
begin
  select * into cfg from private.settings;
  for batch in
    select array_agg(id) from (
      select e.id, (row_number() over (order by e.expires_at, e.id) - 1) / cfg.cleanup_batch_size as n
      from (select j.id, j.expires_at from public.jobs j where j.expires_at <= now()
            order by j.expires_at, j.id
            limit cfg.cleanup_batch_size * cfg.cleanup_batches_per_run) e
    ) numbered group by n order by n
  loop
    perform private.stop_jobs(batch, remove => true);
    handed := handed + array_length(batch, 1);
  end loop;
  return handed;
end;
$$;

-- Deletes events past events_retention, oldest first, at most events_prune_batch per run
-- (the pkey follows insertion order, so the oldest are found without scanning the table).
-- Returns how many were deleted.
create function public.prune_events() returns integer
language plpgsql security definer set search_path = ''
as $$
declare
  cfg private.settings;
  pruned integer;
begin
  select * into cfg from private.settings;
  delete from private.events e
   where e.id in (select o.id from private.events o order by o.id limit cfg.events_prune_batch)
     and e.created_at < now() - cfg.events_retention;
  get diagnostics pruned = row_count;
  return pruned;
end;
$$;

revoke execute on function public.tick(), public.expire_jobs(), public.prune_events()
  from public, anon, authenticated;
grant execute on function public.tick(), public.expire_jobs(), public.prune_events() to service_role;

-- pg_cron lives in one database per cluster (cron.database_name). Minute syntax, so the same
-- schedules run on pg_cron 1.4 (Debian) and 1.6 (hosted). Scheduling by name replaces a job.
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_cron')
     and current_database() = coalesce(current_setting('cron.database_name', true), 'postgres') then
    create extension if not exists pg_cron;
    perform cron.schedule('ai-subs-tick', '* * * * *', 'select public.tick()');
    perform cron.schedule('ai-subs-expire-jobs', '0 * * * *', 'select public.expire_jobs()');
    perform cron.schedule('ai-subs-prune-events', '30 * * * *', 'select public.prune_events()');
    perform cron.schedule('ai-subs-orphan-uploads', '45 * * * *', 'select private.request_orphan_cleanup()');
  else
    raise notice 'pg_cron is not available in database %; schedules not created', current_database();
  end if;
end;
$$;
