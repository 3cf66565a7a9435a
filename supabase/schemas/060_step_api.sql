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
  return jsonb_build_object(
    'lease', task.lease,
    'task', jsonb_build_object('id', task.id, 'job_id', task.job_id, 'step', task.step,
      'chunk_index', task.chunk_index, 'attempt', task.attempts),
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

-- Why a step's output cannot be used (null when it can).
create function private.output_problem(step text, output jsonb) returns text
language sql immutable set search_path = ''
as $$
  select case
    when output is null or jsonb_typeof(output) <> 'object' then 'output must be a JSON object'
    when step = 'prepare' and (jsonb_typeof(output -> 'chunks') is distinct from 'array'
                               or jsonb_array_length(output -> 'chunks') = 0)
      then 'prepare must return a non-empty chunks array'
    when step = 'prepare' and exists (
        select 1 from jsonb_array_elements(output -> 'chunks') with ordinality c(chunk, n)
        where not (chunk ? 'path' and chunk ? 'start' and chunk ? 'end')
           or (chunk ->> 'index') is distinct from (n - 1)::text)
      then 'each chunk needs index (0, 1, ...), path, start and end'
    when step in ('transcribe', 'merge', 'translate') and not output ? 'transcript'
      then step || ' must return a transcript'
    when step = 'render' and jsonb_typeof(output -> 'outputs') is distinct from 'array'
      then 'render must return an outputs array'
    when step = 'render' and exists (
        select 1 from jsonb_array_elements(output -> 'outputs') o
        where jsonb_typeof(o -> 'language') is distinct from 'string'
           or coalesce(o ->> 'format', '') not in ('srt', 'vtt', 'ttml', 'txt', 'json', 'summary')
           or jsonb_typeof(o -> 'content') is distinct from 'string')
      then 'each output needs language, format (srt, vtt, ttml, txt, json, summary) and content'
  end
$$;

-- Stores the task's checkpoint and advances the job in the same transaction: plans and
-- dispatches what became ready; after the last step the job is completed with its outputs.
create function public.complete_task(task_id uuid, lease uuid, output jsonb) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  task private.tasks;
  problem text;
  finished boolean;
begin
  task := private.leased_task(task_id, lease);
  if task.id is null then
    return jsonb_build_object('ok', false, 'reason', 'stale_lease');
  end if;
  problem := private.output_problem(task.step, output);
  if problem is not null then
    return jsonb_build_object('ok', false, 'reason', 'malformed_output', 'failure',
      private.fail_task_now(task.id, 'malformed_output', problem, true));
  end if;

  update private.tasks t
     set status = 'completed', output = complete_task.output, progress = 1, lease = null,
         completed_at = clock_timestamp(), error_code = null, error_message = null, error_detail = null
   where t.id = task.id;
  if task.step = 'prepare' and output ? 'duration' then
    update public.jobs j set media = j.media || jsonb_build_object('duration', output -> 'duration')
     where j.id = task.job_id;
  end if;
  if task.step = 'render' then
    insert into public.job_outputs (job_id, language, format, content)
    select task.job_id, o ->> 'language', o ->> 'format', o ->> 'content'
    from jsonb_array_elements(output -> 'outputs') o
    on conflict (job_id, language, format) do update set content = excluded.content;
  end if;

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
  public.fail_task(uuid, uuid, text, text, boolean, jsonb, integer)
  from public, anon, authenticated;
grant execute on function public.claim_task(uuid), public.heartbeat_task(uuid, uuid, real, text),
  public.complete_task(uuid, uuid, jsonb),
  public.fail_task(uuid, uuid, text, text, boolean, jsonb, integer)
  to service_role;
