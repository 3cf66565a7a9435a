-- The SQL entry points of the step functions (service_role only): claim, heartbeat, complete,
-- fail. A lease (uuid handed out by claim) proves that a caller still owns its task.

-- Lock order, everywhere: a job's row before any of its tasks. The user RPCs (cancel, retry,
-- delete) lock the job and then stop its tasks; the worker's entry points and the tick, which
-- start from a task, take the job's lock first too, so the two can never wait on each other.
-- It also puts a job's completions in a row: of the chunks of a fan-out finishing at once, the
-- last sees the others committed when it plans the next step (else none plans it).
-- Returns false when `wait` is false and another transaction holds the job.
create function private.lock_job_of_task(task_id uuid, wait boolean default true) returns boolean
language plpgsql security definer set search_path = ''
as $$
declare
  job uuid := (select t.job_id from private.tasks t where t.id = lock_job_of_task.task_id);
begin
  if job is null then
    return true;
  end if;
  if wait then
    perform 1 from public.jobs j where j.id = job for no key update;
  else
    perform 1 from public.jobs j where j.id = job for no key update skip locked;
  end if;
  return found;
end;
$$;

-- Takes a dispatched task. Returns null, changing nothing, when the task is not claimable:
-- done, cancelled, its job terminal, already claimed (duplicate or late delivery), not yet due.
create function public.claim_task(task_id uuid) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  cfg private.settings;
  task private.tasks;
  job public.jobs;
begin
  perform private.lock_job_of_task(claim_task.task_id);
  update private.tasks t
     set status = 'running', lease = gen_random_uuid(), claimed_at = clock_timestamp(),
         heartbeat_at = clock_timestamp(), progress = 0, message = null, unreachable_since = null
   where t.id = claim_task.task_id and t.status = 'dispatched'
     and (t.not_before is null or t.not_before <= now())
     and exists (select 1 from public.jobs j where j.id = t.job_id
                 and j.status in ('pending', 'processing') and j.deleted_at is null)
  returning * into task;
  if not found then
    return null;
  end if;
  update public.jobs j
     set status = 'processing', started_at = coalesce(j.started_at, now()),
         stage = task.step, stage_message = private.stage_message(task)
   where j.id = task.job_id
  returning * into job;
  select * into cfg from private.settings;
  return jsonb_build_object(
    'lease', task.lease,
    'heartbeat_seconds', cfg.heartbeat_seconds,
    -- The longest recording, which prepare checks the upload against (the same setting
    -- submission checks the client's duration with).
    'max_media_seconds', cfg.max_media_seconds,
    'task', jsonb_build_object('id', task.id, 'job_id', task.job_id, 'step', task.step,
      'chunk_index', task.chunk_index, 'attempt', task.attempts, 'contract', task.contract),
    'job', jsonb_build_object('id', job.id, 'owner_id', job.owner_id, 'filename', job.filename,
      'media', job.media, 'options', job.options),
    'input', private.task_input(task));
end;
$$;

-- The running task with this lease, locked (its job first); null when the lease is no longer
-- valid.
create function private.leased_task(task_id uuid, lease uuid) returns private.tasks
language plpgsql security definer set search_path = ''
as $$
declare
  task private.tasks;
begin
  perform private.lock_job_of_task(leased_task.task_id);
  select t.* into task from private.tasks t
  where t.id = leased_task.task_id and t.lease = leased_task.lease and t.status = 'running'
  for update;
  return task;
end;
$$;

-- Proof of life with progress (0..1 within the task) and a message. Answers {continue: false}
-- when the job was cancelled or the lease is no longer this caller's. The job row (and so its
-- Realtime broadcast) is written at most about once per progress_interval.
create function public.heartbeat_task(task_id uuid, lease uuid, progress real default null, message text default null)
returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  cfg private.settings;
  task private.tasks;
begin
  select * into cfg from private.settings;
  task := private.leased_task(task_id, lease);
  if task.id is null then
    return jsonb_build_object('continue', false);
  end if;
  update private.tasks t
     set heartbeat_at = clock_timestamp(),
         progress = coalesce(least(greatest(heartbeat_task.progress, 0), 1), t.progress),
         message = coalesce(heartbeat_task.message, t.message)
   where t.id = task.id
  returning * into task;
  update public.jobs j
     set progress = greatest(j.progress, private.job_progress(j.id)),
         stage = task.step,
         stage_message = coalesce(heartbeat_task.message, private.stage_message(task))
   where j.id = task.job_id and j.status = 'processing'
     and j.updated_at <= clock_timestamp() - cfg.progress_interval;
  return jsonb_build_object('continue', true);
end;
$$;

-- Why a step's output cannot be used (null when it can): not an object, or missing one of the
-- step's output_keys.
create function private.output_problem(s private.steps, output jsonb) returns text
language plpgsql immutable set search_path = ''
as $$
begin
  return case
    when output is null or jsonb_typeof(output) <> 'object' then 'output must be a JSON object'
    when not output ?& s.output_keys
      then s.step || ' must return ' || array_to_string(s.output_keys, ', ')
  end;
end;
$$;

-- Stores the task's checkpoint, runs its step's on_complete and advances the job in the same
-- transaction: plans and dispatches what became ready; after the last step the job is
-- completed with its outputs.
create function public.complete_task(task_id uuid, lease uuid, output jsonb) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  task private.tasks;
  s private.steps;
  problem text;
  finished boolean;
begin
  task := private.leased_task(task_id, lease);
  if task.id is null then
    return jsonb_build_object('ok', false, 'reason', 'stale_lease');
  end if;
  select * into s from private.steps where step = task.step;
  problem := private.output_problem(s, output);
  if problem is null and s.on_complete is not null then
    execute format('select private.%I($1, $2)', s.on_complete) into problem using task, output;
  end if;
  if problem is not null then
    return jsonb_build_object('ok', false, 'reason', 'malformed_output', 'failure',
      private.fail_task_now(task.id, 'malformed_output', problem, true));
  end if;

  update private.tasks t
     set status = 'completed', output = complete_task.output, progress = 1, lease = null,
         completed_at = clock_timestamp(), error_code = null, error_message = null, error_detail = null
   where t.id = task.id;

  finished := private.plan_steps(task.job_id);
  if finished then
    update public.jobs j
       set status = 'completed', progress = 100, stage_message = 'Done', completed_at = now(),
           error_code = null, error_message = null
     where j.id = task.job_id;
  else
    update public.jobs j set progress = greatest(j.progress, private.job_progress(j.id))
     where j.id = task.job_id;
  end if;
  perform private.dispatch_due();
  return jsonb_build_object('ok', true, 'job_status', (select status from public.jobs where id = task.job_id));
end;
$$;

-- Hands a claimed task back unrun: its step function does not know the task's contract version
-- (the database was upgraded before the functions). The task waits retry_after_ms (30 s by
-- default) and is dispatched again with its attempt given back, as often as it takes: this never
-- fails a job. The reason goes to private.events.
create function public.release_task(
  task_id uuid, lease uuid, reason text, retry_after_ms integer default null
) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  task private.tasks;
begin
  task := private.leased_task(task_id, lease);
  if task.id is null then
    return jsonb_build_object('ok', false, 'reason', 'stale_lease');
  end if;
  update private.tasks t
     set status = 'pending', lease = null, attempts = greatest(t.attempts - 1, 0),
         not_before = clock_timestamp()
           + make_interval(secs => coalesce(release_task.retry_after_ms, 30000) / 1000.0),
         error_code = 'contract_unknown', error_message = release_task.reason
   where t.id = task.id;
  update public.jobs j
     set stage_message = 'Waiting for the processing service to be updated; nothing is lost.'
   where j.id = task.job_id and j.status in ('pending', 'processing');
  -- The slot this task held goes to the next waiting task now, not at the next tick.
  perform private.dispatch_due();
  return jsonb_build_object('ok', true);
end;
$$;

-- Reports a failure: retryable ones are retried with backoff up to the attempt limit;
-- permanent ones fail the job with the friendly message of error_code.
create function public.fail_task(
  task_id uuid, lease uuid, error_code text, message text, retryable boolean,
  detail jsonb default '{}'::jsonb, retry_after_ms integer default null
) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  task private.tasks;
  result jsonb;
begin
  task := private.leased_task(task_id, lease);
  if task.id is null then
    return jsonb_build_object('ok', false, 'reason', 'stale_lease');
  end if;
  result := jsonb_build_object('ok', true) || private.fail_task_now(
    task.id, error_code, message, retryable, coalesce(detail, '{}'::jsonb), retry_after_ms);
  -- The slot this task held goes to the next waiting task now, not at the next tick.
  perform private.dispatch_due();
  return result;
end;
$$;

revoke execute on function public.claim_task(uuid), public.heartbeat_task(uuid, uuid, real, text),
  public.complete_task(uuid, uuid, jsonb),
  public.fail_task(uuid, uuid, text, text, boolean, jsonb, integer),
  public.release_task(uuid, uuid, text, integer)
  from public, anon, authenticated;
grant execute on function public.claim_task(uuid), public.heartbeat_task(uuid, uuid, real, text),
  public.complete_task(uuid, uuid, jsonb),
  public.fail_task(uuid, uuid, text, text, boolean, jsonb, integer),
  public.release_task(uuid, uuid, text, integer)
  to service_role;
