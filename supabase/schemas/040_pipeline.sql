-- The pipeline's shape as data, and the engine that plans, dispatches and fails tasks by it.

-- Which steps run, in what order, how many times, and what they wait for. One place.
--   runs_per: 'job' (once), 'chunk' (one per chunk of prepare's output), 'language' (one per
--   options.translate_to); when_option: a boolean option that must be true for the step to run;
--   after: steps that must be done (completed, or skipped for this job) first;
--   weight: share of the job's progress; label: the stage message (%1 index, %2 total, %3 key).
create table private.steps (
  step text primary key,
  position integer not null unique,
  runs_per text not null check (runs_per in ('job', 'chunk', 'language')),
  when_option text,
  after text[] not null default '{}',
  weight integer not null check (weight >= 0),
  label text not null
);
insert into private.steps (step, position, runs_per, when_option, after, weight, label) values
  ('prepare', 1, 'job', null, '{}', 5, 'Preparing the recording'),
  ('transcribe', 2, 'chunk', null, '{prepare}', 70, 'Transcribing chunk %1 of %2'),
  ('merge', 3, 'job', null, '{transcribe}', 5, 'Merging the transcript'),
  ('translate', 4, 'language', null, '{merge}', 10, 'Translating to %3'),
  ('summarize', 5, 'job', 'summarize', '{merge}', 5, 'Summarizing'),
  ('render', 6, 'job', null, '{merge,translate,summarize}', 5, 'Rendering subtitles')
on conflict (step) do update set position = excluded.position, runs_per = excluded.runs_per,
  when_option = excluded.when_option, after = excluded.after, weight = excluded.weight,
  label = excluded.label;

-- The tasks a step has for a job (key, chunk_index, params); none means the step is skipped.
create function private.step_instances(job public.jobs, s private.steps)
returns table (key text, chunk_index integer, params jsonb)
language sql stable set search_path = ''
as $$
  select i.key, i.chunk_index, i.params
  from (
    select '' as key, null::integer as chunk_index, '{}'::jsonb as params
    where s.runs_per = 'job'
    union all
    select (c ->> 'index'), (c ->> 'index')::integer, c
    from private.tasks p, jsonb_array_elements(p.output -> 'chunks') c
    where s.runs_per = 'chunk' and p.job_id = job.id and p.step = 'prepare'
      and p.status = 'completed'
    union all
    select l, null, jsonb_build_object('language', l)
    from jsonb_array_elements_text(job.options -> 'translate_to') l
    where s.runs_per = 'language'
  ) i
  where s.when_option is null or coalesce((job.options ->> s.when_option)::boolean, false)
$$;

-- Whether a step applies to a job at all (known from its options, before any task exists).
create function private.step_applies(job public.jobs, s private.steps) returns boolean
language sql stable set search_path = ''
as $$
  select (s.when_option is null or coalesce((job.options ->> s.when_option)::boolean, false))
    and (s.runs_per <> 'language' or jsonb_array_length(job.options -> 'translate_to') > 0)
$$;

-- Plans every step whose predecessors are done, walking the steps in order. Returns true when
-- every step is done, i.e. the job is complete.
create function private.plan_steps(job_id uuid) returns boolean
language plpgsql security definer set search_path = ''
as $$
declare
  job public.jobs;
  s private.steps;
  done text[] := '{}'::text[];
  n_tasks integer;
  n_open integer;
  n_new integer;
begin
  select * into job from public.jobs j where j.id = plan_steps.job_id;
  for s in select * from private.steps order by position loop
    select count(*), count(*) filter (where t.status <> 'completed')
      into n_tasks, n_open
      from private.tasks t where t.job_id = job.id and t.step = s.step;
    if n_tasks > 0 then
      if n_open = 0 then done := done || s.step; end if;
    elsif s.after <@ done then
      insert into private.tasks (job_id, step, key, chunk_index, params)
      select job.id, s.step, i.key, i.chunk_index, i.params
      from private.step_instances(job, s) i;
      get diagnostics n_new = row_count;
      if n_new = 0 then done := done || s.step; end if;  -- skipped for this job
    end if;
  end loop;
  return (select count(*) from private.steps) = coalesce(array_length(done, 1), 0);
end;
$$;

-- Job progress 0-100 from step weights: a step counts by its completed tasks plus the
-- progress reported by its running ones; steps that do not apply to the job weigh nothing.
create function private.job_progress(job_id uuid) returns smallint
language sql stable security definer set search_path = ''
as $$
  with job as (select * from public.jobs j where j.id = job_progress.job_id),
  per_step as (
    select s.weight,
      (select avg(case when t.status = 'completed' then 1 else t.progress end)
       from private.tasks t where t.job_id = job.id and t.step = s.step) as fraction
    from job, private.steps s
    where private.step_applies(job, s)
  )
  select least(100, greatest(0, floor(
    100 * sum(weight * coalesce(fraction, 0)) / nullif(sum(weight), 0))))::smallint
  from per_step
$$;

-- The human-readable stage message of a task ("Transcribing chunk 3 of 18").
create function private.stage_message(task private.tasks) returns text
language sql stable security definer set search_path = ''
as $$
  select replace(replace(replace(s.label,
    '%1', coalesce((task.chunk_index + 1)::text, '')),
    '%2', (select count(*)::text from private.tasks t where t.job_id = task.job_id and t.step = task.step)),
    '%3', task.key)
  from private.steps s where s.step = task.step
$$;

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
        'Authorization', 'Bearer ' || coalesce(service_key, '')),
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

-- Stops a job: its unfinished tasks are cancelled (running ones learn it at their heartbeat).
create function private.stop_tasks(job_id uuid) returns void
language sql security definer set search_path = ''
as $$
  update private.tasks t set status = 'cancelled', lease = null
  where t.job_id = stop_tasks.job_id and t.status in ('pending', 'dispatched', 'running')
$$;

-- Ends a job as failed with the friendly message of its code.
create function private.fail_job(job_id uuid, error_code text) returns void
language plpgsql security definer set search_path = ''
as $$
begin
  perform private.stop_tasks(job_id);
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

-- What a claimed task needs besides the job, assembled from earlier checkpoints.
create function private.task_input(task private.tasks) returns jsonb
language sql stable security definer set search_path = ''
as $$
  with done as (
    select t.step, t.key, t.chunk_index, t.params, t.output
    from private.tasks t where t.job_id = task.job_id and t.status = 'completed'
  ),
  transcript as (select output -> 'transcript' as value from done where step = 'merge')
  select case task.step
    when 'prepare' then '{}'::jsonb
    when 'transcribe' then jsonb_build_object('chunk', task.params)
    when 'merge' then jsonb_build_object('chunks', coalesce((
      select jsonb_agg(jsonb_build_object(
        'index', d.chunk_index, 'start', d.params -> 'start', 'end', d.params -> 'end',
        'overlap_before', d.params -> 'overlap_before', 'transcript', d.output -> 'transcript')
        order by d.chunk_index)
      from done d where d.step = 'transcribe'), '[]'::jsonb))
    when 'translate' then jsonb_build_object('language', task.key,
      'transcript', (select value from transcript))
    when 'summarize' then jsonb_build_object('transcript', (select value from transcript))
    when 'render' then jsonb_build_object(
      'transcript', (select value from transcript),
      'translations', coalesce((select jsonb_object_agg(d.key, d.output -> 'transcript')
                                from done d where d.step = 'translate'), '{}'::jsonb),
      'summary', (select d.output from done d where d.step = 'summarize'))
  end
$$;
