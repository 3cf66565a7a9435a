-- The failure path: stopping jobs and their tasks, failing a job with its friendly message,
-- and the one way a task fails (retry with backoff, or fail the job).

-- Stops jobs: their unfinished tasks are cancelled (running ones learn it at their heartbeat).
create function private.stop_tasks(job_ids uuid[]) returns void
language sql security definer set search_path = ''
as $$
  update private.tasks t set status = 'cancelled', lease = null
  where t.job_id = any (stop_tasks.job_ids) and t.status in ('pending', 'dispatched', 'running')
$$;

-- The one way jobs end without finishing: cancel_job, delete_job and expire_jobs. Active jobs
-- become cancelled (their running tasks learn it at their heartbeat); with `remove` the jobs
-- are also hidden at once and handed to the cleanup function, which removes their storage
-- objects and purges the rows. The slots they held go to waiting work now, not at the tick.
create function private.stop_jobs(job_ids uuid[], remove boolean) returns void
language plpgsql security definer set search_path = ''
as $$
begin
  perform 1 from public.jobs j where j.id = any (job_ids) order by j.id for no key update;
  perform private.stop_tasks(job_ids);
  update public.jobs j
     set status = 'cancelled', error_code = 'cancelled', error_message = private.error_message('cancelled'),
         stage_message = 'Cancelled', completed_at = now()
   where j.id = any (job_ids) and j.status in ('pending', 'processing');
  if remove then
    update public.jobs j
       set deleted_at = coalesce(j.deleted_at, now()), expires_at = least(j.expires_at, now())
     where j.id = any (job_ids);
    perform private.request_cleanup(job_ids);
  end if;
  perform private.dispatch_due();
end;
$$;

-- Ends a job as failed with the friendly message of its code.
create function private.fail_job(job_id uuid, error_code text) returns void
language plpgsql security definer set search_path = ''
as $$
begin
  perform private.stop_tasks(array[job_id]);
  update public.jobs j
     set status = 'failed', error_code = fail_job.error_code,
         error_message = private.error_message(fail_job.error_code),
         stage_message = private.error_message(fail_job.error_code), completed_at = now()
   where j.id = fail_job.job_id and j.status in ('pending', 'processing');
end;
$$;

-- The one failure path (fail_task, stale heartbeats, lost dispatches): a retryable error is
-- retried with exponential backoff and jitter until the attempt limit; anything else, or the
-- last attempt, fails the job. `unreachable`: the dispatch never reached the step function, so
-- the task is not at fault: it waits for the service without using up an attempt, until
-- unreachable_patience has passed since the first such failure in a row.
create function private.fail_task_now(
  task_id uuid, error_code text, message text, retryable boolean,
  detail jsonb default '{}'::jsonb, retry_after_ms integer default null,
  unreachable boolean default false
) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  cfg private.settings;
  task private.tasks;
  failure text := coalesce(nullif(fail_task_now.error_code, ''), 'internal');
  can_retry boolean;
  waiting boolean;
  delay numeric;
begin
  select * into cfg from private.settings;
  select * into task from private.tasks t where t.id = fail_task_now.task_id for update;
  -- Waiting for an unreachable service is a retry that gives back the attempt the dispatch took.
  waiting := coalesce(unreachable, false) and (task.unreachable_since is null
    or clock_timestamp() - task.unreachable_since < cfg.unreachable_patience);
  if unreachable and not waiting then
    failure := 'service_unreachable';
    retryable := false;
  end if;
  can_retry := waiting or (coalesce(retryable, false)
    and coalesce((select e.retryable from private.error_codes e where e.code = failure), true)
    and task.attempts < cfg.max_attempts);
  if can_retry then
    if waiting then
      -- Tries again after about as long as the outage has lasted so far (at least the backoff
      -- base, at most unreachable_retry_seconds): soon after a blip, steadily in a long outage.
      delay := least(cfg.unreachable_retry_seconds, cfg.backoff_max_seconds, greatest(
                 cfg.backoff_base_seconds,
                 extract(epoch from clock_timestamp() - coalesce(task.unreachable_since, clock_timestamp()))))
               * (0.75 + random() * 0.5);
    else
      delay := least(cfg.backoff_max_seconds,
                     cfg.backoff_base_seconds * power(2, greatest(task.attempts - 1, 0)))
               * (0.75 + random() * 0.5);
      delay := greatest(delay, coalesce(retry_after_ms, 0) / 1000.0);
    end if;
    update private.tasks t
       set status = 'pending', lease = null, not_before = clock_timestamp() + make_interval(secs => delay),
           attempts = case when waiting then greatest(t.attempts - 1, 0) else t.attempts end,
           unreachable_since = case when waiting then coalesce(t.unreachable_since, clock_timestamp())
                                    else t.unreachable_since end,
           error_code = failure, error_message = fail_task_now.message,
           error_detail = fail_task_now.detail
     where t.id = task.id;
    update public.jobs j
       set stage_message = case when waiting
             then 'Waiting for the processing service to come back; nothing is lost.'
             else 'Retrying shortly: ' || private.error_message(failure) end
     where j.id = task.job_id and j.status in ('pending', 'processing');
    return jsonb_build_object('retrying', true, 'not_before',
        (select not_before from private.tasks t where t.id = task.id))
      || case when waiting then jsonb_build_object('unreachable', true) else '{}'::jsonb end;
  end if;
  update private.tasks t
     set status = 'failed', lease = null, error_code = failure, error_message = fail_task_now.message,
         error_detail = fail_task_now.detail || jsonb_build_object('attempts', task.attempts)
   where t.id = task.id;
  perform private.fail_job(task.job_id,
    case when coalesce(retryable, false) and task.attempts >= cfg.max_attempts
      then 'attempts_exhausted' else failure end);
  return jsonb_build_object('retrying', false, 'job_status', 'failed');
end;
$$;
