-- Dispatch: sending due tasks to their step functions through pg_net, within the parallelism
-- caps and fairly across users.

-- Sends one task to its step function with pg_net (ids only; the request leaves at commit).
create function private.dispatch_task(task_id uuid) returns bigint
language plpgsql security definer set search_path = ''
as $$
declare
  cfg private.settings;
  task private.tasks;
  url text;
  service_key text;
  request bigint;
begin
  select * into cfg from private.settings;
  select * into task from private.tasks t where t.id = dispatch_task.task_id;
  url := private.secret(cfg.functions_url_secret);
  service_key := private.secret(cfg.service_key_secret);
  if url is not null then
    request := net.http_post(
      url := rtrim(url, '/') || '/' || task.step,
      body := jsonb_build_object('task_id', task.id, 'job_id', task.job_id),
      headers := jsonb_build_object(
        'Content-Type', 'application/json',
        'apikey', coalesce(service_key, '')),
      timeout_milliseconds := cfg.dispatch_timeout_ms);
  else
    -- Not configured: the task looks dispatched and the tick reports it as a lost dispatch.
    raise warning 'job engine: Vault secret % is missing; task % not sent', cfg.functions_url_secret, task.id;
  end if;
  update private.tasks t
     set status = 'dispatched', request_id = request, dispatched_at = clock_timestamp(),
         attempts = t.attempts + 1, not_before = null, lease = null
   where t.id = task.id;
  return request;
end;
$$;

-- Dispatches pending tasks that are due, within the per-job, per-step and global parallelism
-- caps, fairly across users: the user with the fewest tasks in flight goes first (round robin),
-- then oldest job first and in step order. Serialised so concurrent callers never exceed the caps.
create function private.dispatch_due() returns integer
language plpgsql security definer set search_path = ''
as $$
declare
  cfg private.settings;
  in_flight integer;
  sent integer := 0;
  candidate record;
begin
  perform pg_advisory_xact_lock(hashtext('ai_subs.dispatch'));
  select * into cfg from private.settings;
  select count(*) into in_flight from private.tasks where status in ('dispatched', 'running');
  for candidate in
    with owners_in_flight as (
      select j.owner_id, count(*) as n
      from private.tasks t join public.jobs j on j.id = t.job_id
      where t.status in ('dispatched', 'running') group by j.owner_id
    ), due as (
      select t.id, t.job_id, t.step, j.owner_id, j.created_at, s.position, t.chunk_index, t.key,
        row_number() over (partition by j.owner_id
          order by j.created_at, s.position, t.chunk_index nulls first, t.key) as nth
      from private.tasks t
      join public.jobs j on j.id = t.job_id
      join private.steps s on s.step = t.step
      where t.status = 'pending' and (t.not_before is null or t.not_before <= now())
        and j.status in ('pending', 'processing') and j.deleted_at is null
    )
    select d.id, d.job_id, d.step
    from due d left join owners_in_flight f on f.owner_id = d.owner_id
    order by d.nth + coalesce(f.n, 0), d.created_at, d.position, d.chunk_index nulls first, d.key
  loop
    exit when in_flight >= cfg.global_parallelism;
    continue when (select count(*) from private.tasks t
                   where t.job_id = candidate.job_id and t.status in ('dispatched', 'running'))
                  >= cfg.per_job_parallelism;
    continue when cfg.step_parallelism ? candidate.step
      and (select count(*) from private.tasks t
           where t.step = candidate.step and t.status in ('dispatched', 'running'))
          >= (cfg.step_parallelism ->> candidate.step)::integer;
    -- Never wait for a task another transaction is changing (a cancel stopping it, say): that
    -- one may be waiting for this lock to dispatch, which would be a deadlock. It dispatches
    -- what is left when it gets here, or the tick does.
    perform 1 from private.tasks t where t.id = candidate.id and t.status = 'pending'
      for update skip locked;
    continue when not found;
    perform private.dispatch_task(candidate.id);
    in_flight := in_flight + 1;
    sent := sent + 1;
  end loop;
  return sent;
end;
$$;
