-- The pipeline's shape as data, and the engine that plans, dispatches and fails tasks by it.

-- Which steps run, in what order, how many times, what they wait for, what they must return
-- and what completing them does. The one place that knows the pipeline: adding a step is one
-- row here, one StepIO entry (supabase/functions/_shared/contract.ts) and one function folder.
--   map_over: null (one task per job) or '<source>.<key>', one task per element of that array,
--     the source being 'options' (the job's options) or an earlier step (its output); the task's
--     params are {<map_as>: element}, its key the element's "index" (or the element itself);
--   when_option: an option that must be true (or a non-empty list) for the step to run;
--   after: steps that must be done (completed, or skipped for this job) first; their outputs
--     are the step's input (see task_input);
--   weight: share of the job's progress; label: the stage message (%1 index, %2 total, %3 key);
--   checklist_label / checklist_unit: the line of the stage checklist (job_steps);
--   output_keys: what the output must contain (output_problem);
--   on_complete: a private function (task private.tasks, output jsonb) returns text run when a
--     task completes: null after doing its work, or why the output cannot be used, unchanged.
create table private.steps (
  step text primary key,
  position integer not null unique,
  map_over text check (map_over ~ '^[a-z_]+\.[a-z_]+$'),
  map_as text,
  when_option text,
  after text[] not null default '{}',
  weight integer not null check (weight >= 0),
  label text not null,
  checklist_label text not null,
  checklist_unit text,
  output_keys text[] not null default '{}',
  on_complete text,
  check ((map_over is null) = (map_as is null))
);

-- prepare: checks the chunks transcribe maps over and records the media's duration on the job.
create function private.plan_chunks(task private.tasks, output jsonb) returns text
language plpgsql security definer set search_path = ''
as $$
begin
  if jsonb_typeof(output -> 'chunks') is distinct from 'array'
     or jsonb_array_length(output -> 'chunks') = 0 then
    return 'prepare must return a non-empty chunks array';
  end if;
  if exists (
      select 1 from jsonb_array_elements(output -> 'chunks') with ordinality c(chunk, n)
      where not (chunk ? 'path' and chunk ? 'start' and chunk ? 'end')
         or (chunk ->> 'index') is distinct from (n - 1)::text) then
    return 'each chunk needs index (0, 1, ...), path, start and end';
  end if;
  if output ? 'duration' then
    update public.jobs j set media = j.media || jsonb_build_object('duration', output -> 'duration')
     where j.id = task.job_id;
  end if;
  return null;
end;
$$;

-- render: stores the job's downloadable outputs.
create function private.store_outputs(task private.tasks, output jsonb) returns text
language plpgsql security definer set search_path = ''
as $$
begin
  if jsonb_typeof(output -> 'outputs') is distinct from 'array' then
    return 'render must return an outputs array';
  end if;
  if exists (
      select 1 from jsonb_array_elements(output -> 'outputs') o
      where jsonb_typeof(o -> 'language') is distinct from 'string'
         or coalesce(o ->> 'format', '') not in ('srt', 'vtt', 'ttml', 'txt', 'json', 'summary')
         or jsonb_typeof(o -> 'content') is distinct from 'string') then
    return 'each output needs language, format (srt, vtt, ttml, txt, json, summary) and content';
  end if;
  insert into public.job_outputs (job_id, language, format, content)
  select task.job_id, o ->> 'language', o ->> 'format', o ->> 'content'
  from jsonb_array_elements(output -> 'outputs') o
  on conflict (job_id, language, format) do update set content = excluded.content;
  return null;
end;
$$;

-- Translation and summary of a long transcript fan out over parts of it that merge plans (so
-- each task finishes well inside a function's wall clock), then fan in: translate stitches one
-- language from its parts, summarize reduces the parts' summaries to one.
insert into private.steps (step, position, map_over, map_as, when_option, after, weight, label,
  checklist_label, checklist_unit, output_keys, on_complete) values
  ('prepare', 1, null, null, null, '{}', 5, 'Preparing the recording',
   'Prepare', null, '{chunks}', 'plan_chunks'),
  ('transcribe', 2, 'prepare.chunks', 'chunk', null, '{prepare}', 70, 'Transcribing chunk %1 of %2',
   'Transcribe', 'chunks', '{transcript}', null),
  ('merge', 3, null, null, null, '{transcribe}', 5, 'Merging the transcript',
   'Merge', null, '{transcript}', null),
  ('translate_part', 4, 'merge.translate_parts', 'part', 'translate_to', '{merge}', 8,
   'Translating part %1 of %2', 'Translation', 'parts', '{texts}', null),
  ('translate', 5, 'options.translate_to', 'language', null, '{merge,translate_part}', 2,
   'Translating to %3', 'Translate', null, '{transcript}', null),
  ('summarize_part', 6, 'merge.summary_parts', 'part', 'summarize', '{merge}', 4,
   'Summarizing part %1 of %2', 'Summary', 'parts', '{summary}', null),
  ('summarize', 7, null, null, 'summarize', '{merge,summarize_part}', 1, 'Summarizing',
   'Summarize', null, '{}', null),
  ('render', 8, null, null, null, '{merge,translate,summarize}', 5, 'Rendering subtitles',
   'Render subtitles', null, '{outputs}', 'store_outputs')
on conflict (step) do update set position = excluded.position, map_over = excluded.map_over,
  map_as = excluded.map_as, when_option = excluded.when_option, after = excluded.after,
  weight = excluded.weight, label = excluded.label, checklist_label = excluded.checklist_label,
  checklist_unit = excluded.checklist_unit, output_keys = excluded.output_keys,
  on_complete = excluded.on_complete;

-- The helpers below run for every task a job has (planning, claim, progress), so they are
-- plpgsql: a SQL-language function with a SET clause is never inlined and is planned again at
-- every call, where plpgsql keeps its plans for the connection (plan_steps went from 1.9 to
-- 0.3 ms a call, task_input from 0.6 to 0.2 ms).

-- Whether a step's when_option holds for a job: true, or a non-empty list (translate_to); a
-- step without one always runs.
create function private.option_on(job public.jobs, option text) returns boolean
language plpgsql immutable set search_path = ''
as $$
begin
  return option is null or coalesce(case jsonb_typeof(job.options -> option)
    when 'boolean' then (job.options -> option)::boolean
    when 'array' then jsonb_array_length(job.options -> option) > 0
  end, false);
end;
$$;

-- The array a mapped step runs over for a job (null for a step that runs once, or while the
-- step it maps over has not completed).
create function private.step_elements(job public.jobs, s private.steps) returns jsonb
language plpgsql stable set search_path = ''
as $$
begin
  if s.map_over is null then return null; end if;
  if split_part(s.map_over, '.', 1) = 'options' then
    return job.options -> split_part(s.map_over, '.', 2);
  end if;
  return (select p.output -> split_part(s.map_over, '.', 2) from private.tasks p
          where p.job_id = job.id and p.step = split_part(s.map_over, '.', 1) and p.key = ''
            and p.status = 'completed');
end;
$$;

-- The tasks a step has for a job (key, chunk_index, params); none means the step is skipped.
create function private.step_instances(job public.jobs, s private.steps)
returns table (key text, chunk_index integer, params jsonb)
language plpgsql stable set search_path = ''
as $$
declare
  elements jsonb;
begin
  if not private.option_on(job, s.when_option) then return; end if;
  if s.map_over is null then
    return query select ''::text, null::integer, '{}'::jsonb;
    return;
  end if;
  elements := private.step_elements(job, s);
  if jsonb_typeof(elements) is distinct from 'array' then return; end if;
  return query
    select coalesce(e ->> 'index', e #>> '{}'), (e ->> 'index')::integer, jsonb_build_object(s.map_as, e)
    from jsonb_array_elements(elements) e;
end;
$$;

-- Whether a step applies to a job at all (known from its options, before any task exists).
create function private.step_applies(job public.jobs, s private.steps) returns boolean
language plpgsql stable set search_path = ''
as $$
begin
  return private.option_on(job, s.when_option)
    and (split_part(coalesce(s.map_over, ''), '.', 1) <> 'options'
         or coalesce(jsonb_array_length(private.step_elements(job, s)), 0) > 0);
end;
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
language plpgsql stable security definer set search_path = ''
as $$
begin
  return (
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
    from per_step);
end;
$$;

-- The human-readable stage message of a task ("Transcribing chunk 3 of 18").
create function private.stage_message(task private.tasks) returns text
language plpgsql stable security definer set search_path = ''
as $$
begin
  return (select replace(replace(replace(s.label,
    '%1', coalesce((task.chunk_index + 1)::text, '')),
    '%2', (select count(*)::text from private.tasks t where t.job_id = task.job_id and t.step = task.step)),
    '%3', task.key)
  from private.steps s where s.step = task.step);
end;
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

-- What a claimed task needs besides the job, the way pgflow feeds a step: its own params and,
-- under each predecessor's name, that step's output (a step that ran once) or, for a mapped
-- one, the array of its tasks' params merged with their outputs, in order.
create function private.task_input(task private.tasks) returns jsonb
language plpgsql stable security definer set search_path = ''
as $$
begin
  return task.params || coalesce((
    select jsonb_object_agg(d.step, d.value)
    from (
      select p.step,
             case when p.map_over is null then (array_agg(t.output))[1]
                  else jsonb_agg(t.params || t.output order by t.chunk_index, t.key) end as value
      from private.steps s
      join private.steps p on p.step = any (s.after)
      join private.tasks t on t.job_id = task.job_id and t.step = p.step and t.status = 'completed'
      where s.step = task.step
      group by p.step, p.map_over
    ) d), '{}'::jsonb);
end;
$$;
